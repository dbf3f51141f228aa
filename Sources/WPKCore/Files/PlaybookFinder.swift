#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One input named on a command line, resolved to something readable.
public enum PlaybookInput: Sendable, Equatable {
    /// A file to read (named explicitly, or found in a directory).
    case file(String)
    /// A file whose name is not UTF-8: opened by its exact bytes, shown escaped.
    case fileNamedByBytes([UInt8])
    /// Standard input (`-`).
    case standardInput
    /// A path that could not be used, with the reason.
    case unusable(String, reason: String)
    /// A symbolic link a directory walk did not follow (it leads out of the directory given, or
    /// to a directory enclosing it), reported as information.
    case notFollowed(String, reason: String)

    /// The path as reports show it (`-` for standard input; bytes that are not UTF-8 as `\xFF`).
    public var displayPath: String {
        switch self {
        case .file(let path), .unusable(let path, _), .notFollowed(let path, _): return path
        case .fileNamedByBytes(let bytes): return PlaybookInput.escapedName(bytes)
        case .standardInput: return "-"
        }
    }

    /// A file input for path bytes: `.file` when they are UTF-8, else `.fileNamedByBytes`.
    public static func file(bytes: [UInt8]) -> PlaybookInput {
        if let text = String(validating: bytes, as: UTF8.self) { return .file(text) }
        return .fileNamedByBytes(bytes)
    }

    /// A name's UTF-8 runs as text and every other byte as `\xHH`, so it shows as what it is.
    public static func escapedName(_ bytes: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < bytes.count {
            var end = index
            while end < bytes.count, bytes[end] < 0x80 { end += 1 }
            // Longest valid UTF-8 prefix from `index`, at least the ASCII run.
            var best = end
            var probe = min(bytes.count, end + 4)
            while probe > end {
                if String(validating: bytes[index..<probe], as: UTF8.self) != nil {
                    best = probe
                    break
                }
                probe -= 1
            }
            if best > index {
                out += String(decoding: bytes[index..<best], as: UTF8.self)
                index = best
            } else {
                out += "\\x" + String(bytes[index], radix: 16, uppercase: true).leftPadded(to: 2)
                index += 1
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// Expands command-line PATH arguments into playbook inputs, lazily, per the contract: files are
/// always read whatever their name; directories are searched recursively for `*.wpk.yaml` and
/// `*.wpk.yml`, skipping symbolic-link loops, FIFOs, sockets and devices without opening them.
///
/// A walk never leaves the directory it was given: a symbolic link that resolves outside it, or to
/// a directory enclosing the link, is not followed and is reported (`.notFollowed`), so what is
/// checked does not depend on where the walk starts. Names are bytes: one that is not UTF-8 is
/// opened as it is (`.fileNamedByBytes`).
///
/// The walk is iterative with an explicit stack and yields one input at a time, so a directory
/// of any size is streamed with flat memory.
public struct PlaybookFinder: Sequence, IteratorProtocol {
    private var arguments: [[UInt8]]
    private var argumentIndex = 0
    /// Directories still to list, deepest last.
    private var directories: [[UInt8]] = []
    /// Entries of the directory being listed, in reverse sorted order (popped from the end).
    private var pendingEntries: [Entry] = []
    /// (device, inode) of every directory entered, so a symlink loop is entered once.
    private var visited = Set<DirectoryIdentity>()
    /// The real path of the directory argument being walked, which the walk stays inside.
    private var walkRoot: [UInt8] = []

    private enum Entry {
        case file([UInt8])
        case directory([UInt8])
        case notFollowed([UInt8], reason: String)
    }

    private struct DirectoryIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    public init(_ arguments: [String]) {
        self.init(argumentBytes: arguments.map { Array($0.utf8) })
    }

    /// Arguments as the exact bytes of argv (a name need not be UTF-8).
    public init(argumentBytes: [[UInt8]]) {
        self.arguments = argumentBytes
    }

    /// Whether a file name is a playbook's.
    public static func isPlaybookName(_ name: String) -> Bool {
        name.hasSuffix(".wpk.yaml") || name.hasSuffix(".wpk.yml")
    }

    private static func isPlaybookName(bytes name: some Collection<UInt8>) -> Bool {
        name.reversed().starts(with: ".wpk.yaml".utf8.reversed()) || name.reversed().starts(with: ".wpk.yml".utf8.reversed())
    }

    public mutating func next() -> PlaybookInput? {
        while true {
            if let entry = pendingEntries.popLast() {
                switch entry {
                case .directory(let path): directories.append(path)
                case .file(let path): return .file(bytes: path)
                case .notFollowed(let path, let reason): return .notFollowed(PlaybookInput.escapedName(path), reason: reason)
                }
                continue
            }
            if let directory = directories.popLast() {
                list(directory)
                continue
            }
            guard argumentIndex < arguments.count else { return nil }
            let argument = arguments[argumentIndex]
            argumentIndex += 1
            if argument == Array("-".utf8) { return .standardInput }
            var info = stat()
            guard PlaybookFinder.withCPath(argument, { stat($0, &info) }) == 0 else {
                return .unusable(PlaybookInput.escapedName(argument), reason: PlaybookFinder.errorText(errno))
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                if visited.insert(DirectoryIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))).inserted {
                    walkRoot = PlaybookFinder.realPath(argument) ?? argument
                    directories.append(argument)
                }
                continue
            }
            // Special files are refused when opened (`SourceReader`), on the descriptor, so a
            // file swapped after this stat cannot make the read block.
            return .file(bytes: argument)
        }
    }

    /// Lists one directory into `pendingEntries`, classifying entries with lstat/stat only.
    private mutating func list(_ directory: [UInt8]) {
        guard let handle = PlaybookFinder.withCPath(directory, { opendir($0) }) else { return }
        defer { closedir(handle) }
        var found: [Entry] = []
        let prefix = directory.last == UInt8(ascii: "/") ? directory : directory + [UInt8(ascii: "/")]
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let path = prefix + name
            // The entry's type, where the file system says, spares a stat of every playbook.
            if entry.pointee.d_type == UInt8(DT_REG) {
                if PlaybookFinder.isPlaybookName(bytes: name) { found.append(.file(path)) }
                continue
            }
            var info = stat()
            // stat follows symbolic links: a link to a directory is walked (once), a dangling one skipped.
            guard PlaybookFinder.withCPath(path, { stat($0, &info) }) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            // FIFOs, sockets, devices: never opened.
            guard type == S_IFDIR || (type == S_IFREG && PlaybookFinder.isPlaybookName(bytes: name)) else { continue }
            if entry.pointee.d_type == UInt8(DT_LNK) || entry.pointee.d_type == UInt8(DT_UNKNOWN),
                let reason = escapeReason(link: path, directory: directory, isDirectory: type == S_IFDIR)
            {
                found.append(.notFollowed(path, reason: reason))
                continue
            }
            if type == S_IFDIR {
                let identity = DirectoryIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
                if visited.insert(identity).inserted { found.append(.directory(path)) }
            } else {
                found.append(.file(path))
            }
        }
        // Sorted for stable output; reversed because entries are popped from the end.
        found.sort { PlaybookFinder.path(of: $1).lexicographicallyPrecedes(PlaybookFinder.path(of: $0)) }
        pendingEntries = found
    }

    private static func path(of entry: Entry) -> [UInt8] {
        switch entry {
        case .file(let path), .directory(let path), .notFollowed(let path, _): return path
        }
    }

    /// Why a symbolic link (or an entry of unknown type) must not be followed, or nil: it resolves
    /// outside the walk's root, or to a directory enclosing the link.
    private func escapeReason(link: [UInt8], directory: [UInt8], isDirectory: Bool) -> String? {
        var info = stat()
        guard PlaybookFinder.withCPath(link, { lstat($0, &info) }) == 0, (info.st_mode & S_IFMT) == S_IFLNK,
            let target = PlaybookFinder.realPath(link)
        else { return nil }
        func within(_ path: [UInt8], _ ancestor: [UInt8]) -> Bool {
            path == ancestor || ancestor == [UInt8(ascii: "/")] || path.starts(with: ancestor + [UInt8(ascii: "/")])
        }
        let shown = PlaybookInput.escapedName(target)
        if !within(target, walkRoot) {
            return "symbolic link to \(shown), outside the directory given; not followed"
        }
        if isDirectory, let here = PlaybookFinder.realPath(directory), within(here, target) {
            return "symbolic link to \(shown), a directory enclosing it; not followed"
        }
        return nil
    }

    /// The canonical absolute path of `path` (links resolved), or nil.
    static func realPath(_ path: [UInt8]) -> [UInt8]? {
        guard let resolved = withCPath(path, { realpath($0, nil) }) else { return nil }
        defer { free(resolved) }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(resolved).assumingMemoryBound(to: UInt8.self), count: strlen(resolved)))
    }

    /// Calls `body` with `path` as a NUL-terminated C string (the bytes as they are).
    static func withCPath<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (path + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Reads inputs with a size bound, so no file can exhaust memory.
public enum SourceReader {
    public enum Failure: Error, Sendable, Equatable {
        case unreadable(String)
        case tooLarge(limit: Int)
    }

    /// Why an opened descriptor must not be read, or nil (clearing its non-blocking flag). Regular
    /// files are read; so is anything named as an already open descriptor (`/dev/fd/N`,
    /// `/proc/self/fd/N`, `/dev/stdin`: process substitution, `<(cat f)`). Any other FIFO, socket
    /// or device is refused: reading it could block forever or never end.
    static func refusal(_ descriptor: Int32, path input: PlaybookInput) -> String? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return PlaybookFinder.errorText(errno) }
        let type = info.st_mode & S_IFMT
        let name = input.displayPath
        let namesOpenDescriptor = name.hasPrefix("/dev/fd/") || name.hasPrefix("/proc/self/fd/") || name == "/dev/stdin"
        if type != S_IFREG && !namesOpenDescriptor {
            let kind: String
            switch type {
            case S_IFIFO: kind = "a FIFO (named pipe)"
            case S_IFSOCK: kind = "a socket"
            case S_IFCHR: kind = "a character device"
            case S_IFBLK: kind = "a block device"
            case S_IFDIR: kind = "a directory"
            default: kind = "not a regular file"
            }
            return "it is \(kind); wpk reads regular files, directories, - (standard input) and /dev/fd/N"
        }
        let flags = fcntl(descriptor, F_GETFL)
        if flags >= 0 { _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) }
        return nil
    }

    /// Reads at most `limit` bytes; one byte more means the input is too large.
    public static func contents(of input: PlaybookInput, limit: Int = LoaderLimits.default.maxFileBytes) -> Result<[UInt8], Failure> {
        let descriptor: Int32
        switch input {
        case .standardInput:
            descriptor = 0
        case .file(let path):
            descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if descriptor < 0 { return .failure(.unreadable(PlaybookFinder.errorText(errno))) }
        case .fileNamedByBytes(let path):
            descriptor = PlaybookFinder.withCPath(path) { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
            if descriptor < 0 { return .failure(.unreadable(PlaybookFinder.errorText(errno))) }
        case .unusable(_, let reason), .notFollowed(_, let reason):
            return .failure(.unreadable(reason))
        }
        defer { if descriptor != 0 { close(descriptor) } }
        // Opened without blocking, so a FIFO with no writer cannot hang the open; what the
        // descriptor turns out to be decides whether it is read.
        if descriptor != 0, let refusal = SourceReader.refusal(descriptor, path: input) { return .failure(.unreadable(refusal)) }
        return contents(ofDescriptor: descriptor, limit: limit)
    }

    /// Reads an open descriptor to its end, at most `limit` bytes; one byte more means the input
    /// is too large. The caller has decided it may be read (a regular file, or a pipe it trusts).
    public static func contents(ofDescriptor descriptor: Int32, limit: Int) -> Result<[UInt8], Failure> {
        // A regular file is read straight into an array of its size (plus one byte, to notice
        // growth): no scratch buffer to clear and copy, and one read call once the size it
        // reported has arrived. Pipes and files that grow are read on until the end or the limit.
        var info = stat()
        let isRegular = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        let reportedSize = isRegular ? Int(info.st_size) : -1
        var capacity = min(max(reportedSize + 1, 4096), limit + 1)
        var bytes: [UInt8] = []
        while true {
            let already = bytes.count
            let room = capacity - already
            var reachedEnd = false
            var failure: Int32?
            let more = [UInt8](unsafeUninitializedCapacity: room) { buffer, initialized in
                initialized = 0
                while initialized < room {
                    let count = read(descriptor, buffer.baseAddress! + initialized, room - initialized)
                    if count < 0 {
                        if errno == EINTR { continue }
                        failure = errno
                        return
                    }
                    initialized += count
                    if count == 0 || already + initialized == reportedSize {
                        reachedEnd = true
                        return
                    }
                }
            }
            if let failure { return .failure(.unreadable(PlaybookFinder.errorText(failure))) }
            if bytes.isEmpty { bytes = more } else { bytes += more }
            if reachedEnd { break }
            // The room filled up: the input is larger than it said (or has no size).
            if bytes.count > limit { return .failure(.tooLarge(limit: limit)) }
            capacity = min(capacity * 2, limit + 1)
        }
        if bytes.count > limit { return .failure(.tooLarge(limit: limit)) }
        return .success(bytes)
    }
}
