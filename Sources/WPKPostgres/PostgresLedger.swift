import Foundation
import PostgresNIO
import Synchronization
import WPKCore

#if canImport(Glibc)
    import Glibc
#endif

/// The team ledger in a PostgreSQL database, shared by every bastion host.
///
/// The database stores each record's exact canonical bytes and keeps the chain linear (a unique
/// `prev`, a unique `seq`, an insert trigger that accepts only the next record, triggers refusing
/// UPDATE, DELETE and TRUNCATE, a client role that may only INSERT and SELECT). It is still not
/// trusted for content: every record read is verified here exactly as a file's lines are.
///
/// An append is one transaction: take the advisory lock, read and verify the head (or the whole
/// chain, for decisions), insert the next record, commit. A lost connection or a conflict is
/// retried with backoff; before retrying, the record's hash is looked up, so an append whose
/// COMMIT reached the server but whose answer did not is never written twice.
public final class PostgresLedger: @unchecked Sendable {
    public let url: PostgresURL
    let password: String?
    private let session = Mutex<PostgresSession?>(nil)
    /// How long calls keep reconnecting before they give up (a server restart takes seconds).
    public let retrySeconds: Double
    /// Called inside the append transaction after the INSERT, before COMMIT: lets a test kill a
    /// client at the worst moment. Never set outside tests.
    public let beforeCommit: (@Sendable (LedgerRecord) -> Void)?
    /// The heads this account verified, kept as for a file (under the URL as the ledger's path):
    /// a database cut back, rewritten or replaced is refused as rolled back.
    public let headMemory: LedgerHeadMemory
    /// The hash of the first record once seen: the ledger's id in the head memory.
    private let ledgerID = Mutex<String?>(nil)

    /// A ledger at `url`, signing in with the password the policy's password file holds, if any.
    /// `headMemory` defaults to this account's state directory (and `/var/lib/wpk/heads` when writable).
    public init(
        url: PostgresURL, password: String?, retrySeconds: Double = 30, headMemory: LedgerHeadMemory? = nil,
        beforeCommit: (@Sendable (LedgerRecord) -> Void)? = nil
    ) {
        self.url = url
        self.password = password
        self.retrySeconds = retrySeconds
        self.headMemory = headMemory ?? LedgerHeadMemory.standard(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory())
        self.beforeCommit = beforeCommit
    }

    /// Opens the ledger a policy names: its URL and its `ledger_password_file`.
    public convenience init(url text: String, passwordFile: String?) throws(LedgerError) {
        let url = try PostgresURL(parsing: text)
        let password = try passwordFile.map { (file) throws(LedgerError) in try PostgresPasswordFile.read(file) }
        self.init(url: url, password: password)
    }

    /// The URL, for messages and as the ledger's identity.
    public var location: String { url.description }

    // MARK: Reading

    /// Reads and verifies the whole chain; an intact chain must extend the remembered head.
    public func read() throws(LedgerError) -> LedgerReading {
        try withSession("read the ledger") { (session) throws(PostgresFailure) in try self.readChain(session) }
    }

    private func readChain(_ session: PostgresSession) throws(PostgresFailure) -> LedgerReading {
        let verifier = VerifierBox()
        try session.forEachRow("SELECT line FROM wpk.entries ORDER BY seq", "read the ledger") { row in
            let line = try row.decode(ByteBuffer.self)
            verifier.accept(Array(line.readableBytesView))
        }
        let reading = verifier.finish()
        // A damaged chain is reported as such; a shorter or different intact one is a rollback.
        if reading.isIntact {
            if let problem = headMemory.problem(path: location, reading: reading) { throw PostgresFailure(problem) }
            headMemory.remember(path: location, reading: reading)
            if let first = reading.records.first { ledgerID.withLock { $0 = first.hash } }
        }
        return reading
    }

    // MARK: Appending

    /// Appends one record after the head (verified on its own, as the file backend does).
    @discardableResult
    public func append(_ draft: RecordDraft, operator op: Operator, now: Date) throws(LedgerError) -> LedgerRecord {
        try transaction("append to the ledger") { (session) throws(PostgresFailure) -> (LedgerRecord?, Void) in
            let rows = try session.query("SELECT line FROM wpk.entries ORDER BY seq DESC LIMIT 1", "read the ledger's head")
            var head = (seq: 0, hash: LedgerRecord.genesis)
            if let row = rows.first {
                let line = Array(((try? row.decode(ByteBuffer.self)) ?? ByteBuffer()).readableBytesView)
                switch LedgerChainVerifier.verify(line: line) {
                case .success(let record): head = (record.seq, record.hash)
                case .failure(let problem):
                    throw PostgresFailure(
                        .refused, "the ledger \(self.url) is damaged at its last record: \(problem.message); run `wpk approvals verify`")
                }
            }
            // Checked against the remembered heads as a file's head is: the ledger's id (its first
            // record) and the record now at each remembered seq.
            var id: String?
            if head.seq > 0 {
                if head.seq == 1 {
                    id = head.hash
                } else if let known = self.ledgerID.withLock({ $0 }) {
                    id = known
                } else {
                    id = try self.record(at: 1, on: session)?.hash
                }
                if let id { self.ledgerID.withLock { $0 = id } }
            }
            let last = head.seq > 0 ? head : nil
            if let problem = self.headMemory.problem(
                path: self.location, id: id, last: last,
                hashAt: { seq in
                    seq == head.seq ? head.hash : (try? self.record(at: seq, on: session))?.hash
                })
            {
                throw PostgresFailure(problem)
            }
            return (LedgerRecord(seq: head.seq + 1, time: now, draft: draft, operator: op, prev: head.hash), ())
        }.record!
    }

    /// Reads and verifies the whole chain under the lock, lets `decide` look at it, and appends
    /// the record it returns, if any, in the same transaction.
    public func appendChecked<T>(
        operator op: Operator, now: Date,
        _ decide: (LedgerReading) -> (RecordDraft?, T)
    ) throws(LedgerError) -> (record: LedgerRecord?, outcome: T) {
        try transaction("record in the ledger") { (session) throws(PostgresFailure) -> (LedgerRecord?, T) in
            let reading = try self.readChain(session)
            if let fault = reading.fault {
                throw PostgresFailure(.refused, "the ledger \(self.url) is damaged, no decision can be recorded: \(fault)")
            }
            let (draft, outcome) = decide(reading)
            guard let draft else { return (nil, outcome) }
            return (LedgerRecord(seq: reading.records.count + 1, time: now, draft: draft, operator: op, prev: reading.head), outcome)
        }
    }

    /// Writes a record built (and signed) outside the lock if the verified chain still ends where
    /// the record says; false when another writer got there first.
    public func appendPrepared(_ record: LedgerRecord) throws(LedgerError) -> Bool {
        try transaction("record in the ledger") { (session) throws(PostgresFailure) -> (LedgerRecord?, Bool) in
            let reading = try self.readChain(session)
            if let fault = reading.fault {
                throw PostgresFailure(.refused, "the ledger \(self.url) is damaged, no decision can be recorded: \(fault)")
            }
            guard reading.head == record.prev, reading.records.count + 1 == record.seq else { return (nil, false) }
            return (record, true)
        }.outcome
    }

    /// One append transaction, retried on a lost connection or a conflict: `build` runs under the
    /// lock and returns the record to insert (or none).
    private func transaction<T>(_ what: String, _ build: (PostgresSession) throws(PostgresFailure) -> (LedgerRecord?, T))
        throws(LedgerError) -> (record: LedgerRecord?, outcome: T)
    {
        var attempted: (record: LedgerRecord, outcome: T)?
        return try withSession(what) { (session) throws(PostgresFailure) -> (record: LedgerRecord?, outcome: T) in
            // The last attempt may have committed before its answer was lost.
            if let attempted, try self.contains(attempted.record, on: session) { return attempted }
            try session.query("BEGIN", what)
            do throws(PostgresFailure) {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresLedgerSchema.appendLockKey))", "lock the ledger's head")
                let (record, outcome) = try build(session)
                guard let record else {
                    try session.query("COMMIT", what)
                    return (nil, outcome)
                }
                let line = record.line.dropLast()
                guard line.count < Ledger.maxLineBytes else {
                    throw PostgresFailure(
                        .refused, "a record of \(line.count) bytes is longer than the ledger allows (\(Ledger.maxLineBytes))")
                }
                attempted = (record, outcome)
                var bytes = ByteBuffer()
                bytes.writeBytes(line)
                let signature = Self.signature(in: record)
                try session.query(
                    """
                    INSERT INTO wpk.entries (seq, prev, hash, line, signature)
                    VALUES (\(record.seq), \(record.prev), \(record.hash), \(bytes), \(signature))
                    """, what)
                beforeCommit?(record)
                try session.query("COMMIT", what)
                if let id = record.seq == 1 ? record.hash : ledgerID.withLock({ $0 }) {
                    headMemory.remember(path: location, id: id, seq: record.seq, hash: record.hash)
                }
                return (record, outcome)
            } catch {
                if !session.isClosed { _ = try? session.query("ROLLBACK", "roll back") }
                throw error
            }
        }
    }

    /// The record stored at `seq`, verified on its own; nil when there is none or it does not verify.
    private func record(at seq: Int, on session: PostgresSession) throws(PostgresFailure) -> LedgerRecord? {
        let rows = try session.query("SELECT line FROM wpk.entries WHERE seq = \(seq)", "read record \(seq)")
        guard let row = rows.first, let line = try? row.decode(ByteBuffer.self) else { return nil }
        return try? LedgerChainVerifier.verify(line: Array(line.readableBytesView)).get()
    }

    private func contains(_ record: LedgerRecord, on session: PostgresSession) throws(PostgresFailure) -> Bool {
        !(try session.query("SELECT 1 FROM wpk.entries WHERE hash = \(record.hash)", "look for the last attempted record")).isEmpty
    }

    /// The record's `signature` member, kept in its own column for administrators' queries.
    static func signature(in record: LedgerRecord) -> String? {
        record.json["signature"]?.stringValue
    }

    // MARK: Connection

    /// Runs `body` on the connection, reconnecting with backoff when it is lost and running it
    /// again on a conflict, until `retrySeconds` have passed.
    func withSession<T>(_ what: String, _ body: (PostgresSession) throws(PostgresFailure) -> T) throws(LedgerError) -> T {
        let deadline = Date().addingTimeInterval(retrySeconds)
        var delay = 0.05
        while true {
            let failure: PostgresFailure
            do {
                let session = try currentSession()
                return try body(session)
            } catch {
                failure = error
            }
            switch failure.kind {
            case .refused, .ledger:
                throw failure.ledgerError
            case .connection:
                self.session.withLock { $0 = nil }
            case .conflict:
                break
            }
            guard Date().addingTimeInterval(delay) < deadline else {
                throw LedgerError(.io, "\(failure.message) (gave up after \(Int(retrySeconds)) s of retrying)")
            }
            Thread.sleep(forTimeInterval: delay)
            delay = min(delay * 2, 2)
        }
    }

    private func currentSession() throws(PostgresFailure) -> PostgresSession {
        if let open = session.withLock({ $0 }), !open.isClosed { return open }
        let fresh = try PostgresSession.connect(url, password: password)
        try PostgresLedgerSchema.checkVersion(on: fresh)
        session.withLock { $0 = fresh }
        return fresh
    }

    /// Closes the connection now (it is also closed when the ledger is released).
    public func close() {
        session.withLock { $0 = nil }
    }
}

/// Collects rows on the event loop while the calling thread waits for the query to finish.
private final class VerifierBox: @unchecked Sendable {
    private var verifier = LedgerChainVerifier()

    func accept(_ line: [UInt8]) { verifier.accept(line: line) }
    func finish() -> LedgerReading { verifier.finish() }
}
