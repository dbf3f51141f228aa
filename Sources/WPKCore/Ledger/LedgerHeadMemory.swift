import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What this machine has verified of each ledger before (a file, or a database by its URL), so a ledger cut short (its last records
/// or final newline removed) or rewritten from some record on is refused as rolled back: a hash
/// chain alone verifies any prefix of itself.
///
/// A ledger's id is the hash of its first record. Per id, the highest verified seq and its hash are
/// kept (`<id>.head`); per path, the id of the ledger found there (`path-<sha256 of path>.id`), so a
/// ledger replaced by another one, or emptied, is noticed too. Every directory is checked and
/// updated: the user's state directory, which only that account can change, and `/var/lib/wpk/heads`
/// when writable, which every member of the team sees. A directory that cannot be written only
/// remembers less; it never refuses a ledger by itself.
public struct LedgerHeadMemory: Sendable, Equatable {
    /// The directories heads are kept in.
    public var directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    /// The machine-wide directory, used when this account can write `/var/lib/wpk`.
    public static let sharedDirectory = "/var/lib/wpk/heads"

    /// `$XDG_STATE_HOME/wpk/heads` (else `~/.local/state/wpk/heads`), and the shared directory when writable.
    public static func standard(environment: [String: String], home: String) -> LedgerHeadMemory {
        var directories = [StateDirectory.path(environment: environment, home: home) + "/heads"]
        let shared = (sharedDirectory as NSString).deletingLastPathComponent
        if access(shared, W_OK) == 0 { directories.append(sharedDirectory) }
        return LedgerHeadMemory(directories: directories)
    }

    /// A head remembered for a ledger.
    struct Head: Equatable {
        var seq: Int
        var hash: String
        var directory: String
    }

    /// Why `reading` of the ledger at `path` does not extend what was verified before; nil when it does.
    /// Only an intact chain is compared (damage is reported as damage).
    public func problem(path: String, reading: LedgerReading) -> LedgerError? {
        guard reading.isIntact else { return nil }
        let records = reading.records
        return problem(path: path, id: records.first?.hash, last: records.last.map { ($0.seq, $0.hash) }) { seq in
            seq >= 1 && seq <= records.count ? records[seq - 1].hash : nil
        }
    }

    /// The same from a ledger's first record hash (`id`) and last record, where `hashAt` gives the
    /// hash of the record at a seq when it is known (a head-only read knows only the last one).
    public func problem(path: String, id: String?, last: (seq: Int, hash: String)?, hashAt: (Int) -> String?) -> LedgerError? {
        for directory in directories {
            if let known = Self.readJSON(directory + "/" + Self.pathFileName(path))?["ledger"]?.stringValue, known != id {
                let now = id.map { "its first record is now \(Self.short($0))" } ?? "it is now empty or missing"
                return LedgerError(
                    .rolledBack,
                    "the ledger \(path) was replaced or emptied: this machine verified a ledger there whose first record is \(Self.short(known)) (remembered in \(directory)), but \(now). Restore the ledger from a copy, or ask root"
                )
            }
            guard let id, let head = remembered(id: id, in: directory) else { continue }
            let current = last.map { "seq \($0.seq) (\(Self.short($0.hash)))" } ?? "no record"
            if (last?.seq ?? 0) < head.seq {
                return LedgerError(
                    .rolledBack,
                    "the ledger \(path) was rolled back: it ends at \(current), but this machine verified it up to seq \(head.seq) (\(Self.short(head.hash))) before (remembered in \(directory)); records were removed from its end. Restore the ledger from a copy that holds seq \(head.seq)"
                )
            }
            if let there = hashAt(head.seq), there != head.hash {
                return LedgerError(
                    .rolledBack,
                    "the ledger \(path) was rewritten: its record at seq \(head.seq) is \(Self.short(there)), but this machine verified seq \(head.seq) as \(Self.short(head.hash)) before (remembered in \(directory)); its history forked. Restore the ledger from a copy that holds the remembered record"
                )
            }
        }
        return nil
    }

    /// Remembers `reading`'s head (where it is higher than what is kept) and the ledger's id at `path`.
    public func remember(path: String, reading: LedgerReading) {
        guard reading.isIntact, let first = reading.records.first, let last = reading.records.last else { return }
        remember(path: path, id: first.hash, seq: last.seq, hash: last.hash)
    }

    /// Remembers that the ledger `id` at `path` holds a record `seq` with `hash` (one just verified or written).
    public func remember(path: String, id: String, seq: Int, hash: String) {
        for directory in directories {
            guard Self.ensureDirectory(directory) else { continue }
            Self.update(directory + "/" + Self.pathFileName(path)) { current in
                current == nil ? .object([("path", .string(path)), ("ledger", .string(id))]) : nil
            }
            Self.update(directory + "/" + Self.headFileName(id)) { current in
                if let known = current?["seq"]?.intValue, known >= seq { return nil }
                return .object([
                    ("ledger", .string(id)), ("path", .string(path)), ("seq", .int(seq)),
                    ("hash", .string(hash)), ("time", .string(RFC3339.format(Date()))),
                ])
            }
        }
    }

    func remembered(id: String, in directory: String) -> Head? {
        guard let value = Self.readJSON(directory + "/" + Self.headFileName(id)), value["ledger"]?.stringValue == id,
            let seq = value["seq"]?.intValue, seq >= 1, let hash = value["hash"]?.stringValue
        else { return nil }
        return Head(seq: seq, hash: hash, directory: directory)
    }

    // MARK: Files

    private static func headFileName(_ id: String) -> String {
        // An id is a record hash, `sha256:<64 hex>`; anything else is hashed so it can never name another path.
        let hex = id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : ""
        let safe = hex.count == 64 && hex.allSatisfy(\.isHexDigit) ? hex : String(ContentDigest.sha256(Array(id.utf8)).dropFirst(7))
        return safe + ".head"
    }

    private static func pathFileName(_ path: String) -> String {
        "path-" + ContentDigest.sha256(Array(path.utf8)).replacingOccurrences(of: "sha256:", with: "") + ".id"
    }

    private static func short(_ hash: String) -> String {
        String(hash.prefix(7 + 16))
    }

    /// Creates the directory (0700, or as its setgid parent gives) when missing; false when it cannot be used.
    private static func ensureDirectory(_ directory: String) -> Bool {
        var info = stat()
        if stat(directory, &info) == 0 { return info.st_mode & S_IFMT == S_IFDIR }
        let parent = (directory as NSString).deletingLastPathComponent
        var parentInfo = stat()
        let shared = stat(parent, &parentInfo) == 0 && parentInfo.st_mode & S_ISGID != 0
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: shared ? 0o2770 : 0o700])
        } catch {
            return false
        }
        if shared { chmod(directory, 0o2770) }
        return true
    }

    /// Reads a small JSON file (never a link or a special file); nil when absent or unreadable.
    private static func readJSON(_ path: String) -> JSONValue? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readJSON(fd)
    }

    private static func readJSON(_ fd: Int32) -> JSONValue? {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= 4096 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 4096, 0) }
        guard n > 0 else { return nil }
        return try? JSONValue.parse(Array(bytes.prefix(n)))
    }

    /// Rewrites a file under an exclusive lock with what `change` returns for its current content (nil: leave it).
    private static func update(_ path: String, _ change: (JSONValue?) -> JSONValue?) {
        let directory = (path as NSString).deletingLastPathComponent
        var info = stat()
        let mode: mode_t = stat(directory, &info) == 0 && info.st_mode & S_ISGID != 0 ? 0o660 : 0o600
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
        while flock(fd, LOCK_EX) != 0 { if errno != EINTR { return } }
        guard let next = change(readJSON(fd)) else { return }
        let bytes = Array((next.serialized() + "\n").utf8)
        guard ftruncate(fd, 0) == 0 else { return }
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, bytes.count, 0) }
        if info.st_size == 0 { fchmod(fd, mode) }
    }
}
