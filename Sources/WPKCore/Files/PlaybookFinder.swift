#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One input named on a command line, resolved to something readable.
public enum PlaybookInput: Sendable, Equatable {
    /// A file to read (named explicitly, or found in a directory).
    case file(String)
    /// Standard input (`-`).
    case standardInput
    /// A path that could not be used, with the reason.
    case unusable(String, reason: String)

    /// The path as reports show it (`-` for standard input).
    public var displayPath: String {
        switch self {
        case .file(let path), .unusable(let path, _): return path
        case .standardInput: return "-"
        }
    }
}

/// Expands command-line PATH arguments into playbook inputs, lazily, per the contract: files are
/// always read whatever their name; directories are searched recursively for `*.wpk.yaml` and
/// `*.wpk.yml`, skipping symbolic-link loops, FIFOs, sockets and devices without opening them.
///
/// The walk is iterative with an explicit stack and yields one input at a time, so a directory
/// of any size is streamed with flat memory.
public struct PlaybookFinder: Sequence, IteratorProtocol {
    private var arguments: [String]
    private var argumentIndex = 0
    /// Directories still to list, deepest last.
    private var directories: [String] = []
    /// Entries of the directory being listed, in reverse sorted order (popped from the end).
    private var pendingEntries: [(path: String, directory: Bool)] = []
    /// (device, inode) of every directory entered, so a symlink loop is entered once.
    private var visited = Set<DirectoryIdentity>()

    private struct DirectoryIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    public init(_ arguments: [String]) {
        self.arguments = arguments
    }

    /// Whether a file name is a playbook's.
    public static func isPlaybookName(_ name: String) -> Bool {
        name.hasSuffix(".wpk.yaml") || name.hasSuffix(".wpk.yml")
    }

    public mutating func next() -> PlaybookInput? {
        while true {
            if let entry = pendingEntries.popLast() {
                if entry.directory {
                    directories.append(entry.path)
                    continue
                }
                return .file(entry.path)
            }
            if let directory = directories.popLast() {
                list(directory)
                continue
            }
            guard argumentIndex < arguments.count else { return nil }
            let argument = arguments[argumentIndex]
            argumentIndex += 1
            if argument == "-" { return .standardInput }
            var info = stat()
            guard stat(argument, &info) == 0 else {
                return .unusable(argument, reason: PlaybookFinder.errorText(errno))
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                if visited.insert(DirectoryIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))).inserted {
                    directories.append(argument)
                }
                continue
            }
            return .file(argument)
        }
    }

    /// Lists one directory into `pendingEntries`, classifying entries with lstat/stat only.
    private mutating func list(_ directory: String) {
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        var found: [(path: String, directory: Bool)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            // The entry's type, where the file system says, spares a stat of every playbook.
            if entry.pointee.d_type == UInt8(DT_REG) {
                if PlaybookFinder.isPlaybookName(name) { found.append((path, false)) }
                continue
            }
            var info = stat()
            // stat follows symbolic links: a link to a directory is walked (once), a dangling one skipped.
            guard stat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                let identity = DirectoryIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
                if visited.insert(identity).inserted { found.append((path, true)) }
            case S_IFREG:
                if PlaybookFinder.isPlaybookName(name) { found.append((path, false)) }
            default:
                continue  // FIFOs, sockets, devices: never opened
            }
        }
        // Sorted for stable output; reversed because entries are popped from the end.
        found.sort { $0.path > $1.path }
        pendingEntries = found
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

    /// Reads at most `limit` bytes; one byte more means the input is too large.
    public static func contents(of input: PlaybookInput, limit: Int = LoaderLimits.default.maxFileBytes) -> Result<[UInt8], Failure> {
        let descriptor: Int32
        switch input {
        case .standardInput:
            descriptor = 0
        case .file(let path):
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { return .failure(.unreadable(PlaybookFinder.errorText(errno))) }
        case .unusable(_, let reason):
            return .failure(.unreadable(reason))
        }
        defer { if descriptor != 0 { close(descriptor) } }
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
