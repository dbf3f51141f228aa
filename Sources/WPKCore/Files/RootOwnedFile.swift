internal import CProcess
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a configuration file that only root can have written (the machine policy, and files it
/// names): race-free, so no symbolic link, rename or special file can put other bytes in its place.
///
/// The path is walked from `/` one component at a time with `openat(O_NOFOLLOW)`, each directory
/// checked on its open descriptor (owned by root, writable by nobody else), then the file is opened
/// once (`O_NOFOLLOW | O_NONBLOCK`), checked with `fstat` (a regular file owned by root, writable by
/// nobody else, on a real file system) and read from that same descriptor, bounded.
public enum RootOwnedFile {
    /// What reading found.
    public enum Outcome: Sendable, Equatable {
        /// The file's exact bytes.
        case contents([UInt8])
        /// The file does not exist, in directories that passed every check (so nobody else could have removed it).
        case missing
        /// Why the file cannot be trusted, with what to fix.
        case refused(String)
    }

    /// Reads `path` (absolute, without `.` or `..` components) if root alone could have written it;
    /// a `secret` (a token, a key) must also be unreadable by group and others.
    public static func read(_ path: String, maxBytes: Int, secret: Bool = false) -> Outcome {
        guard path.hasPrefix("/") else { return .refused("\(path) is not an absolute path") }
        let components = path.split(separator: "/").map(String.init)
        guard let name = components.last, !components.contains(where: { $0 == "." || $0 == ".." }) else {
            return .refused("\(path) must name a file without . or .. components")
        }
        var directoryFD = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { return .refused("cannot open /: \(errorText())") }
        defer { close(directoryFD) }
        if let problem = checkDirectory(directoryFD, "/") { return .refused(problem) }
        var walked = ""
        for component in components.dropLast() {
            walked += "/" + component
            let next = openat(directoryFD, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                var code = errno
                // O_DIRECTORY is checked before O_NOFOLLOW: a symbolic link reads as "not a directory".
                var linkInfo = stat()
                if code == ENOTDIR, fstatat(directoryFD, component, &linkInfo, AT_SYMLINK_NOFOLLOW) == 0,
                    linkInfo.st_mode & S_IFMT == S_IFLNK
                {
                    code = ELOOP
                }
                switch code {
                case ENOENT: return .missing
                case ELOOP:
                    return .refused(
                        "\(walked) is a symbolic link; wpk follows none on the way to \(path): make it a real directory owned by root")
                case ENOTDIR: return .refused("\(walked) is not a directory")
                default: return .refused("cannot open \(walked): \(String(cString: strerror(code)))")
                }
            }
            close(directoryFD)
            directoryFD = next
            if let problem = checkDirectory(directoryFD, walked) { return .refused(problem) }
        }
        let fd = openat(directoryFD, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            switch errno {
            case ENOENT: return .missing
            case ELOOP: return .refused("it is a symbolic link; replace it with a regular file owned by root (mode 644)")
            default: return .refused("cannot open it: \(errorText())")
            }
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .refused("cannot stat it: \(errorText())") }
        guard info.st_mode & S_IFMT == S_IFREG else { return .refused("it is not a regular file") }
        guard info.st_uid == 0 else {
            return .refused("it is owned by uid \(info.st_uid), not by root; fix with: chown root \(path)")
        }
        guard info.st_mode & 0o022 == 0 else {
            return .refused("it is writable by group or others (mode \(octal(info.st_mode))); fix with: chmod go-w \(path)")
        }
        if secret && info.st_mode & 0o044 != 0 {
            return .refused(
                "it holds a secret but is readable by group or others (mode \(octal(info.st_mode))); fix with: chmod go-rw \(path)")
        }
        if let pseudo = pseudoFileSystem(fd) {
            return .refused("it is on the \(pseudo) pseudo file system, not a file root wrote; put the file on a real file system")
        }
        guard info.st_size <= maxBytes else { return .refused("it is larger than \(maxBytes) bytes") }
        var bytes = [UInt8](repeating: 0, count: maxBytes + 1)
        var count = 0
        while count <= maxBytes {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, maxBytes + 1 - count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .refused("cannot read it: \(errorText())")
            }
            if n == 0 { break }
            count += n
        }
        // A real file yields exactly its size; anything else is a generated file or one changing under us.
        guard count == Int(info.st_size) else {
            return .refused("it read as \(count) bytes but its size is \(info.st_size): it is not a stable regular file")
        }
        return .contents(Array(bytes.prefix(count)))
    }

    /// A directory on the way must be root's alone: anyone else able to write it could remove or
    /// rename the file (and, for the policy, fall back to the built-in defaults).
    private static func checkDirectory(_ fd: Int32, _ path: String) -> String? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "cannot stat \(path): \(errorText())" }
        guard info.st_uid == 0 else {
            return "the directory \(path) is owned by uid \(info.st_uid), not by root; fix with: chown root \(path)"
        }
        guard info.st_mode & 0o022 == 0 else {
            return "the directory \(path) is writable by group or others (mode \(octal(info.st_mode))); fix with: chmod go-w \(path)"
        }
        return nil
    }

    /// The name of the kernel's generated file system `fd` lives on (proc, sysfs, ...), or nil.
    private static func pseudoFileSystem(_ fd: Int32) -> String? {
        let type = wpk_filesystem_type(fd)
        guard type != -1 else { return "unknown" }
        let known: [Int: String] = [
            0x9fa0: "proc", 0x6265_6572: "sysfs", 0x6462_6720: "debugfs", 0x7472_6163: "tracefs",
            0x7363_6673: "securityfs", 0x27e0eb: "cgroup", 0x6367_7270: "cgroup2", 0x1cd1: "devpts",
            0xcafe_4a11: "bpf", 0x6e73_6673: "nsfs", 0x5041_4950: "pipefs",
        ]
        return known[type]
    }

    private static func octal(_ mode: mode_t) -> String { String(mode & 0o7777, radix: 8) }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
