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
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.unreadable(PlaybookFinder.errorText(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { return .failure(.tooLarge(limit: limit)) }
        }
        return .success(bytes)
    }
}
