import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The approval ledger as every command, the run and the review screens use it, whatever holds
/// it: the JSON Lines file (`Ledger`) or a PostgreSQL database (`PostgresLedger`, in WPKPostgres).
///
/// Every backend keeps the same chain rule: a record is appended only right after the head it
/// was built on, under the backend's lock; every read verifies the whole chain and checks it
/// against the heads this account verified before (a ledger cut back or rewritten is refused as
/// rolled back); a damaged chain refuses every decision.
public protocol LedgerBackend: Sendable {
    /// Where the ledger lives, for messages and as its identity: a file path or a database URL
    /// (never a password).
    var location: String { get }
    /// Whether the machine policy names this ledger (a team ledger), rather than single-user mode.
    var isTeamLedger: Bool { get }
    /// Whether there is a ledger to read (a file ledger exists once written to).
    var exists: Bool { get }

    /// Reads and verifies the whole chain: the intact prefix and the first fault.
    func read() throws(LedgerError) -> LedgerReading

    /// Reads on from a checkpoint this backend returned before, when it still holds: only the
    /// records after it are verified and returned; otherwise the whole chain (`fromStart`).
    func read(after checkpoint: LedgerCheckpoint?) throws(LedgerError) -> LedgerContinuation

    /// The verified records after `seq` (the whole chain is still verified and checked against
    /// the remembered heads; only the records returned are fewer). Followers (the review screens,
    /// `wpk cancel` awaiting a run) read on from the last record they saw.
    func records(after seq: Int) throws(LedgerError) -> LedgerReading

    /// Appends one record after the current head (run events: only the head is checked).
    @discardableResult
    func append(_ draft: RecordDraft, operator op: Operator, now: Date) throws(LedgerError) -> LedgerRecord

    /// Reads and verifies the whole chain under the lock, lets `decide` look at it, and appends
    /// the record it returns, if any, before anyone else can write: how a check and its record
    /// stay atomic (two approvals at once, two runs consuming one approval).
    func appendChecked<T>(
        operator op: Operator, now: Date,
        _ decide: (LedgerReading) -> (RecordDraft?, T)
    ) throws(LedgerError) -> (record: LedgerRecord?, outcome: T)

    /// Writes a record built (and signed) outside the lock, but only if the chain still ends
    /// where the record says (`seq` and `prev`); false when another writer got there first.
    func appendPrepared(_ record: LedgerRecord) throws(LedgerError) -> Bool

    /// A watch that wakes waiters (a run at its gate, an open review screen) when the ledger may
    /// have changed.
    func makeChangeWatch() -> any LedgerChangeWatch

    /// Where runs recorded in this ledger keep their plans and output tails.
    var artifacts: RunArtifacts { get }
}

/// Wakes whoever waits for a ledger to change, without a busy loop.
public protocol LedgerChangeWatch: AnyObject {
    /// Readable when the ledger may have changed; nil when there is nothing to wait on.
    var descriptor: Int32? { get }
    /// Whether changes are noticed as they happen now (inotify in place, the LISTEN connection
    /// up); when not, waiters fall back to a slow poll.
    var isLive: Bool { get }
    /// Discards pending wake-ups; whether the ledger may have changed since the last call
    /// (always true on the first call, and whenever the watch is not live).
    func changed() -> Bool
}

extension LedgerBackend {
    /// Backends without checkpoints read the whole chain each time.
    public func read(after checkpoint: LedgerCheckpoint?) throws(LedgerError) -> LedgerContinuation {
        LedgerContinuation(reading: try read(), fromStart: true, checkpoint: nil)
    }

    public func records(after seq: Int) throws(LedgerError) -> LedgerReading {
        var reading = try read()
        reading.records = Array(reading.records.dropFirst(max(0, seq)))
        return reading
    }

    /// One line for people on where decisions go: the team ledger, or a personal one nobody manages.
    public var managementNote: String {
        isTeamLedger
            ? "team ledger \(location) (named by \(MachinePolicy.path))"
            : "UNMANAGED: personal ledger \(location); no machine policy names a team ledger (\(MachinePolicy.path)), so this is single-user mode"
    }
}

extension Ledger: LedgerBackend {
    public var location: String { path }

    public func makeChangeWatch() -> any LedgerChangeWatch { FileLedgerWatch(path: path) }
}

/// A file ledger's watch: inotify on its directory (any write there wakes it), and the file's
/// size, time and inode to tell whether the ledger itself changed.
final class FileLedgerWatch: LedgerChangeWatch {
    private let path: String
    private let directory: DirectoryWatch
    private var stamp: [Int]?

    init(path: String) {
        self.path = path
        let parent = (path as NSString).deletingLastPathComponent
        directory = DirectoryWatch(directory: parent.isEmpty ? "." : parent)
    }

    var descriptor: Int32? { directory.descriptor }
    var isLive: Bool { directory.descriptor != nil }

    func changed() -> Bool {
        directory.drain()
        var info = stat()
        let now = stat(path, &info) == 0 ? [Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_ino)] : []
        defer { stamp = now }
        return stamp != now
    }
}

/// Opens the database ledger a policy names (its URL and `ledger_password_file`), with head
/// memory under `environment`'s state directory. The executable supplies it, so the core links
/// no database driver.
public typealias DatabaseLedgerOpener =
    @Sendable (
        _ url: String, _ passwordFile: String?, _ environment: [String: String],
        _ home: String
    ) -> Result<any LedgerBackend, LedgerError>

/// Which ledger a command uses, whichever backend holds it.
public enum LedgerChoice {
    /// Where the policy names a team ledger, `--ledger` and `WPK_LEDGER` may only name that same one.
    static func otherLedgerRefusal(team: String, source: String, requested: String?, environment: [String: String]) -> LedgerError? {
        for (given, name) in [(requested, "--ledger"), (environment["WPK_LEDGER"], "WPK_LEDGER")] {
            if let given, !given.isEmpty, given != team {
                return LedgerError(
                    .policy,
                    "\(source) names the team ledger \(team); \(name) cannot choose another (\(given)). Remove \(name): decisions and runs on this machine all go to the team ledger"
                )
            }
        }
        return nil
    }

    /// Whether a policy's `ledger:` names a database rather than a file.
    public static func isDatabase(_ location: String) -> Bool {
        location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
    }

    /// `Ledger.chosen(by:)` for every backend: a database the policy names is opened with
    /// `database`; `--ledger` and `WPK_LEDGER` may then only name that same URL.
    public static func chosen(
        by status: MachinePolicyStatus, requested: String?, environment: [String: String], home: String,
        database: DatabaseLedgerOpener?
    ) -> Result<any LedgerBackend, LedgerError> {
        if case .loaded(let policy) = status, let team = policy.ledger, isDatabase(team), let database {
            let source = policy.source ?? MachinePolicy.path
            if let refusal = LedgerChoice.otherLedgerRefusal(team: team, source: source, requested: requested, environment: environment) {
                return .failure(refusal)
            }
            return database(team, policy.ledgerPasswordFile, environment, home)
        }
        // A database is never a file path: only the machine policy names one (with its password file).
        for (given, name) in [(requested, "--ledger"), (environment["WPK_LEDGER"], "WPK_LEDGER")] {
            if let given, isDatabase(given), case .loaded(let policy) = status, policy.ledger != given {
                return .failure(
                    LedgerError(
                        .policy,
                        "\(name) names a PostgreSQL ledger (\(given)); only the machine policy can (ledger: postgresql://... in \(MachinePolicy.path)); \(name) takes a file"
                    ))
            }
        }
        return Ledger.chosen(by: status, requested: requested, environment: environment, home: home).map { $0 as any LedgerBackend }
    }

    /// `Ledger.forReading` for every backend: `--ledger FILE` reads any file; otherwise as `chosen`.
    public static func forReading(
        _ requested: String?, policy: MachinePolicyStatus, environment: [String: String], home: String,
        database: DatabaseLedgerOpener?
    ) -> Result<any LedgerBackend, LedgerError> {
        if let requested, !isDatabase(requested) {
            return Ledger.forReading(requested, policy: policy, environment: environment, home: home).map { $0 as any LedgerBackend }
        }
        return chosen(by: policy, requested: requested, environment: environment, home: home, database: database)
    }
}
