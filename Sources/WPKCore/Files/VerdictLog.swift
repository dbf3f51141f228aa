import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Verdicts kept as lines of one append-only file (`<64 hex digits of the key>\n`), read once per
/// process. For verdicts asked about once per file (playbook signatures): a marker file each, as
/// `VerdictDirectory` keeps, costs a file creation per verified playbook, which on this project's
/// ext4 build machine took more kernel time than the Ed25519 verification itself. Lines appended
/// by processes at once stay whole (`O_APPEND`, one short write each); a damaged line matches no
/// key. Past `maxEntries` the file starts over. Any failure to read or write only means checking again.
public final class VerdictLog: MetaschemaVerdicts {
    /// The file.
    public let path: String
    /// Lines read at most; a longer file is removed and started over.
    public let maxEntries: Int
    private let known = Mutex<Set<String>?>(nil)
    private let appender = Mutex<Int32>(-1)

    public init(path: String, maxEntries: Int = 100_000) {
        self.path = path
        self.maxEntries = maxEntries
    }

    /// `<the user's verdict cache directory for kind>.log` (see `VerdictDirectory.standard`).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment, kind: String) -> VerdictLog? {
        VerdictDirectory.standard(environment: environment, kind: kind).map { VerdictLog(path: $0.directory + ".log") }
    }

    deinit {
        appender.withLock { fd in if fd >= 0 { close(fd) } }
    }

    public func passed(_ key: String) -> Bool {
        let line = Self.line(key)
        return known.withLock { set in
            if set == nil { set = load() }
            return set!.contains(line)
        }
    }

    public func recordPass(_ key: String) {
        let line = Self.line(key)
        appender.withLock { fd in
            if fd < 0 { fd = openForAppending() }
            guard fd >= 0 else { return }
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        known.withLock { $0?.insert(line) }
    }

    /// A key's line: its hex digits (a key is `sha256:<hex>`).
    private static func line(_ key: String) -> String {
        key.hasPrefix("sha256:") ? String(key.dropFirst(7)) : key
    }

    private func load() -> Set<String> {
        let limit = maxEntries * 65
        switch BoundedFile.read(path, limit: limit) {
        case .success(let bytes):
            var lines = Set<String>()
            for line in bytes.split(separator: 0x0A) where line.count == 64 {
                lines.insert(String(decoding: line, as: UTF8.self))
            }
            return lines
        case .failure(let problem):
            // Too long (or not a regular file): start over; missing: nothing known yet.
            if !problem.missing { unlink(path) }
            return []
        }
    }

    private func openForAppending() -> Int32 {
        let flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC
        var fd = open(path, flags, 0o600)
        if fd < 0 && errno == ENOENT {
            try? FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            fd = open(path, flags, 0o600)
        }
        return fd
    }
}
