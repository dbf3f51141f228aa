import Foundation
import WPKCore
#if canImport(Glibc)
import Glibc
#endif

/// The highest head this account has verified for one ledger, kept between processes, so a
/// ledger cut back or rewritten since (by whoever can write its storage: a file's group, a
/// database's administrator) is refused as rolled back instead of verifying as a shorter chain.
///
/// Kept per ledger (by the SHA-256 of its location) under `$XDG_STATE_HOME/wpk/heads/`, else
/// `~/.local/state/wpk/heads/`: one line `SEQ HASH`, replaced only by a longer verified chain.
public struct PostgresHeadMemory: Sendable {
    /// A verified head: the last record's seq and hash.
    public struct Head: Sendable, Equatable, CustomStringConvertible {
        public var seq: Int
        public var hash: String
        public init(seq: Int, hash: String) {
            self.seq = seq
            self.hash = hash
        }
        public var description: String { "seq \(seq) (\(hash))" }
    }

    /// The file holding this ledger's remembered head.
    public let path: String

    public init(location: String, environment: [String: String] = ProcessInfo.processInfo.environment, home: String = NSHomeDirectory()) {
        path = Self.stateDirectory(environment: environment, home: home) + "/wpk/heads/" + Self.key(location)
    }

    /// `$XDG_STATE_HOME` when absolute, else `~/.local/state`.
    public static func stateDirectory(environment: [String: String], home: String) -> String {
        environment["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.local/state"
    }

    /// A ledger's name in file names: the hex SHA-256 of its location.
    public static func key(_ location: String) -> String {
        ContentDigest.sha256(Array(location.utf8)).replacingOccurrences(of: "sha256:", with: "")
    }

    /// The remembered head; nil when this account never verified this ledger (or cannot read it).
    public func remembered() -> Head? {
        guard let data = FileManager.default.contents(atPath: path), data.count < 256 else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let seq = Int(parts[0]), seq > 0 else { return nil }
        return Head(seq: seq, hash: String(parts[1]))
    }

    /// Checks that `records` (a verified chain) extend the remembered head, then remembers their
    /// head if it is higher. `location` names the ledger in the message.
    public func check(_ records: [LedgerRecord], location: String) throws(LedgerError) {
        if let remembered = remembered() {
            guard records.count >= remembered.seq else {
                let now = records.last.map { Head(seq: $0.seq, hash: $0.hash) }
                throw rolledBack(location, remembered: remembered, found: now.map(\.description) ?? "no records at all")
            }
            let kept = records[remembered.seq - 1]
            guard kept.hash == remembered.hash else {
                throw rolledBack(location, remembered: remembered, found: "seq \(kept.seq) is now \(kept.hash): the history was rewritten")
            }
        }
        if let last = records.last { remember(Head(seq: last.seq, hash: last.hash)) }
    }

    /// Checks a head read on its own (an append reads only the head) and `recordAt` (the record
    /// now at the remembered seq, read when the head is past it).
    public func check(head: Head, recordAt: (Int) throws(LedgerError) -> LedgerRecord?, location: String) throws(LedgerError) {
        if let remembered = remembered() {
            guard head.seq >= remembered.seq else {
                throw rolledBack(location, remembered: remembered, found: head.description)
            }
            let hash = head.seq == remembered.seq ? head.hash : try recordAt(remembered.seq)?.hash
            guard hash == remembered.hash else {
                throw rolledBack(location, remembered: remembered, found: "seq \(remembered.seq) is now \(hash ?? "missing"): the history was rewritten")
            }
        }
        remember(head)
    }

    private func rolledBack(_ location: String, remembered: Head, found: String) -> LedgerError {
        LedgerError(.rolledBack, "the ledger \(location) was rolled back: this account verified its head at \(remembered), but it now has \(found). Nothing is decided on it; ask whoever administers the ledger, and keep \(path) as evidence.")
    }

    /// Stores `head` when it is higher than what is stored (under a lock, written whole and renamed).
    public func remember(_ head: Head) {
        if let known = remembered(), known.seq >= head.seq { return }
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lockFD = open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lockFD >= 0 else { return }
        defer { close(lockFD) }
        guard flock(lockFD, LOCK_EX) == 0 else { return }
        if let known = remembered(), known.seq >= head.seq { return }
        let temporary = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data("\(head.seq) \(head.hash)\n".utf8),
                                             attributes: [.posixPermissions: 0o600]) else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }
}
