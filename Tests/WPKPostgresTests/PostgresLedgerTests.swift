import Foundation
import PostgresNIO
import Testing

@testable import WPKCore
@testable import WPKPostgres

@Suite("PostgreSQL test server")
struct PostgresServerPresenceTests {
    @Test("a PostgreSQL server is present (required in CI)")
    func serverIsPresent() {
        guard let reason = TestServer.unavailableReason else { return }
        print("PostgreSQL ledger tests skipped: \(reason)")
        #expect(ProcessInfo.processInfo.environment["CI"] == nil, "the PostgreSQL ledger tests must run in CI: \(reason)")
    }
}

/// The SQLSTATE of a refused statement.
private func sqlState(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let failure as PostgresFailure {
        return failure.sqlState ?? "none"
    } catch {
        return "other: \(error)"
    }
}

@Suite("PostgreSQL ledger", .serialized, .enabled(if: TestServer.unavailableReason == nil))
struct PostgresLedgerTests {
    typealias F = LedgerFixtures

    @Test func initIsVersionedIdempotentAndGrantsOnlyInsertAndSelect() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let again = try PostgresLedgerSetup.initialize(
            ledger: database.url, passwordFile: database.passwordFile, administrator: TestServer.administrator(), group: "root")
        #expect(again.contains("schema at version \(PostgresLedgerSchema.currentVersion), nothing to migrate"))
        let admin = try TestDatabase.superuser(database.url)
        let versions = try admin.query("SELECT version FROM wpk.migrations ORDER BY version", "versions").map { try $0.decode(Int.self) }
        #expect(versions == PostgresLedgerSchema.migrations.map(\.version))
        let role = database.url.user
        for (privilege, expected) in [
            ("SELECT", true), ("INSERT", true), ("UPDATE", false), ("DELETE", false), ("TRUNCATE", false), ("REFERENCES", false),
            ("TRIGGER", false),
        ] {
            let rows = try admin.query("SELECT has_table_privilege(\(role), 'wpk.entries', \(privilege))", "privilege")
            #expect(try rows.first?.decode(Bool.self) == expected, "\(privilege) on wpk.entries")
        }
        let attributes = try admin.query(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = \(role)", "role")
        let (superuser, createDB, createRole, bypass) = try #require(attributes.first).decode((Bool, Bool, Bool, Bool).self)
        #expect(!superuser && !createDB && !createRole && !bypass)
        // The password file is root's and the group's, never others'.
        var info = stat()
        #expect(stat(database.passwordFile, &info) == 0 && info.st_uid == 0 && info.st_mode & 0o777 == 0o640)
    }

    @Test func serverRefusesUpdateDeleteAndTruncateFromClientsAndFromTheOwner() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger()
        _ = try F.filledLedgerSequence(ledger, count: 3)
        let client = try PostgresSession.connect(database.url, password: database.password)
        let admin = try TestDatabase.superuser(database.url)
        for statement in [
            "UPDATE wpk.entries SET signature = 'x' WHERE seq = 2", "DELETE FROM wpk.entries WHERE seq = 3", "TRUNCATE wpk.entries",
        ] {
            // The client role lacks the privilege; the owner (a superuser) meets the trigger.
            #expect(sqlState { try client.query(PostgresQuery(unsafeSQL: statement), statement) } == "42501", "client: \(statement)")
            var message = ""
            do { try admin.query(PostgresQuery(unsafeSQL: statement), statement) } catch { message = error.message }
            #expect(message.contains("the wpk ledger is append-only"), "owner: \(statement): \(message)")
        }
        // Nor can a client fork the chain or skip ahead by inserting rows itself.
        let head = try ledger.read().records.last!
        var bytes = ByteBuffer()
        bytes.writeString("{}")
        #expect(
            sqlState {
                try client.query(
                    "INSERT INTO wpk.entries (seq, prev, hash, line) VALUES (\(head.seq), \(head.prev), 'fork', \(bytes))", "fork")
            } == "23505")
        #expect(
            sqlState {
                try client.query(
                    "INSERT INTO wpk.entries (seq, prev, hash, line) VALUES (\(head.seq + 2), 'nowhere', 'skip', \(bytes))", "skip")
            } == "23000")
        #expect(try ledger.read().records.count == 3)
    }

    @Test func aRowTheDatabaseAcceptedButThatDoesNotVerifyIsAFault() throws {
        // The server keeps the chain's columns linear, yet the content is checked by the client:
        // a row whose columns chain but whose bytes were forged is reported, not trusted.
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger()
        _ = try F.filledLedgerSequence(ledger, count: 2)
        let head = try ledger.read().records.last!
        let forged = LedgerRecord(
            seq: 3, time: F.t0, draft: RecordDraft(type: .approved, step: "migrate"), operator: F.alice, prev: head.hash)
        var bytes = ByteBuffer()
        bytes.writeBytes(forged.line.dropLast())
        bytes.writeString(" ")
        let client = try PostgresSession.connect(database.url, password: database.password)
        try client.query("INSERT INTO wpk.entries (seq, prev, hash, line) VALUES (3, \(head.hash), \(forged.hash), \(bytes))", "insert")
        let reading = try ledger.read()
        #expect(reading.fault?.line == 3 && reading.records.count == 2)
        #expect(throws: LedgerError.self) { try ledger.append(RecordDraft(type: .runFinished), operator: F.alice, now: F.t0) }
    }

    @Test func storedArtifactsAreAppendOnlyAndAnOversizedOneIsRefusedUnread() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger()
        let digest = try ledger.artifacts.storeOutput(Array("ok\n".utf8))
        let name = "outputs/\(digest.dropFirst(7)).txt"
        let client = try PostgresSession.connect(database.url, password: database.password)
        #expect(sqlState { try client.query("UPDATE wpk.artifacts SET bytes = 'x' WHERE name = \(name)", "update") } == "42501")
        #expect(sqlState { try client.query("DELETE FROM wpk.artifacts", "delete") } == "42501")
        // A row larger than an output tail may be (written by hand) is refused without being read.
        let big = "sha256:" + String(repeating: "e", count: 64)
        var bytes = ByteBuffer()
        bytes.writeBytes([UInt8](repeating: 0x41, count: 300_000))
        try client.query(
            "INSERT INTO wpk.artifacts (name, bytes) VALUES (\("outputs/" + String(repeating: "e", count: 64) + ".txt"), \(bytes))",
            "insert")
        guard case .failure(let problem) = ledger.artifacts.output(digest: big) else {
            Issue.record("an oversized output was read")
            return
        }
        #expect(problem.description.contains("larger than a run artifact may be"))
        #expect(try ledger.artifacts.output(digest: digest).get() == "ok\n")
    }

    @Test func aNotificationWakesAWatcherAtOnce() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger()
        let watch = PostgresChangeWatch(ledger: ledger)
        try waitFor("the watch to listen") { watch.isLive }
        _ = watch.drain()
        let other = database.ledger()
        try other.append(RecordDraft(type: .runStarted, run: "r"), operator: F.bob, now: F.t0)
        var fds = [pollfd(fd: try #require(watch.descriptor), events: Int16(POLLIN), revents: 0)]
        #expect(poll(&fds, 1, 10_000) == 1, "no wake-up within 10 s")
        #expect(watch.drain())
    }

    @Test func eightProcessesOnTwoHostsAppendTwoHundredEach() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger()
        var environment = TestBackend.helperEnvironment(for: ledger)
        environment["LEDGER_STRESS_PASSWORD_FILE"] = database.passwordFile
        // Two simulated hosts: each writer in a UTS namespace of its own, named bastion-a or bastion-b,
        // each host's writers keeping their verified heads in that host's own state directory.
        let writers = try (1...8).map { index -> (Process, Pipe) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            let host = index % 2 == 0 ? "bastion-a" : "bastion-b"
            environment["XDG_STATE_HOME"] = dir.file("state-\(host)")
            process.arguments = [
                "--uts", "sh", "-c", "hostname \(host) && exec \"$0\" \"$@\"",
                F.helperPath, "append", ledger.location, "200", "\(host)-w\(index)",
            ]
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            return (process, output)
        }
        var acknowledged = 0
        for (process, output) in writers {
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            acknowledged += text.split(separator: "\n").filter { $0.hasPrefix("ack ") }.count
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
        #expect(acknowledged == 1600)
        let reading = try ledger.read()
        #expect(reading.isIntact)
        #expect(reading.records.count == 1600)
        #expect(Set(reading.records.map(\.hash)).count == 1600)
        for index in 1...8 {
            let host = index % 2 == 0 ? "bastion-a" : "bastion-b"
            let mine = reading.records.filter { $0.draft.run == "\(host)-w\(index)" }
            #expect(mine.map(\.draft.step) == (1...200).map { "step-\($0)" }, "writer \(index): nothing lost, doubled or reordered")
            #expect(mine.allSatisfy { $0.draft.host == host })
        }
    }

    @Test func aClientKilledInsideItsTransactionLeavesNoPartialRecord() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger()
        _ = try F.filledLedgerSequence(ledger, count: 2)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: F.helperPath)
        process.arguments = ["hang", ledger.location, "doomed"]
        process.environment = TestBackend.helperEnvironment(for: ledger)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Wait until the helper's INSERT is done and it holds the lock, COMMIT not sent.
        var text = ""
        while !text.contains("inserted ") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        #expect(text.hasPrefix("inserted 3 "))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        // The server rolls the transaction back and releases the lock: the next append is seq 3.
        let record = try ledger.append(RecordDraft(type: .runFinished, run: "after"), operator: F.alice, now: F.t0)
        #expect(record.seq == 3)
        let reading = try ledger.read()
        #expect(reading.isIntact && reading.records.count == 3)
        #expect(!reading.records.contains { $0.draft.run == "doomed" })
    }

    /// The server ends every connection to the ledger's database, as a restart does (the real
    /// restart, on a server of its own, is the end-to-end test `aWaitingRunRidesOutAServerRestart`).
    @Test func droppedConnectionsAreRiddenOutByReconnecting() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger(retrySeconds: 60)
        let watch = PostgresChangeWatch(ledger: ledger)
        try ledger.append(RecordDraft(type: .runStarted, run: "r"), operator: F.alice, now: F.t0)
        try waitFor("the watch to listen") { watch.isLive }
        let admin = try TestDatabase.superuser(database.url, database: "postgres")
        let ended = try admin.query(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = \(database.url.database)", "end connections")
        #expect(try ended.first?.decode(Int.self) == 2, "the ledger's and the watch's connections")
        try waitFor("the watch to notice", timeout: 30) { !watch.isLive || watch.drain() }
        // The ledger reconnects on its next call, and the watch listens again.
        let record = try database.ledger().append(RecordDraft(type: .approved, run: "r", step: "s"), operator: F.bob, now: F.t0)
        #expect(record.seq == 2)
        #expect(try ledger.read().records.count == 2)
        try waitFor("the watch to listen again", timeout: 30) { watch.isLive }
    }

    @Test func migrateCopiesAVerifiedFileByteForByte() throws {
        let dir = DatabaseDirectory()
        let file = try F.filledFile(Ledger(path: dir.file("ledger.jsonl")), count: 25)
        try file.append(RecordDraft(type: .cancelled, run: "r", reason: "é \u{1F600} \"q\""), operator: F.alice, now: F.t0)
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let ledger = database.ledger()
        let (copied, total) = try PostgresLedgerSetup.migrate(from: file, to: ledger)
        #expect(copied == 26 && total == 26)
        #expect(try ledger.read().records == file.read().records)
        #expect(try TestBackend.lines(of: ledger) == F.lines(file.path))
        // Again: nothing more to copy; a damaged file is refused before anything is copied.
        #expect(try PostgresLedgerSetup.migrate(from: file, to: ledger).copied == 0)
        var lines = F.lines(file.path)
        lines[3] = lines[3].replacingOccurrences(of: "ok 4", with: "ok X")
        try F.write(lines: lines, to: file.path)
        #expect(throws: LedgerError.self) { try PostgresLedgerSetup.migrate(from: file, to: ledger) }
    }

    @Test func aPasswordFileOthersCouldReadIsRefused() throws {
        let dir = DatabaseDirectory()
        let path = dir.file("password")
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(chmod(path, 0o644) == 0)
        let error = try #require(throws: LedgerError.self) { try PostgresPasswordFile.read(path) }
        #expect(error.kind == .unsafePermissions)
        #expect(chmod(path, 0o640) == 0)
        #expect(try PostgresPasswordFile.read(path) == "secret")
    }

    @Test(arguments: [
        ("postgresql://wpk@/wpk?host=/run/postgresql", "postgresql://wpk@/wpk?host=/run/postgresql"),
        ("postgresql://wpk@%2Frun%2Fpostgresql:5433/team", "postgresql://wpk@/team?host=/run/postgresql&port=5433"),
        ("postgres://wpk@db.internal/wpk?sslmode=require", "postgresql://wpk@db.internal/wpk?sslmode=require"),
    ])
    func urlsAreReadAsLibpqWritesThem(_ text: String, _ expected: String) throws {
        #expect(try PostgresURL(parsing: text).description == expected)
    }

    @Test(arguments: [
        "postgresql://wpk:secret@/wpk?host=/run/postgresql", "postgresql://@/wpk?host=/x", "postgresql://wpk@/?host=/x",
        "postgresql://wpk@/wpk", "postgresql://wpk@/wpk?host=/x&options=-c", "postgresql://Robert'); DROP@/wpk?host=/x",
    ])
    func urlsWpkWouldNotUseExactlyAreRefused(_ text: String) {
        #expect(throws: LedgerError.self) { try PostgresURL(parsing: text) }
    }
}

extension LedgerFixtures {
    /// Appends `count` run events to `ledger`.
    static func filledFile(_ ledger: Ledger, count: Int) throws -> Ledger {
        for i in 1...count {
            try ledger.append(
                RecordDraft(type: .stepFinished, run: "run-1", step: "step-\(i)", reason: "ok \(i)"),
                operator: i % 2 == 0 ? alice : bob, now: t0.addingTimeInterval(Double(i)))
        }
        return ledger
    }

    static func filledLedgerSequence(_ ledger: PostgresLedger, count: Int) throws -> PostgresLedger {
        for i in 1...count {
            try ledger.append(
                RecordDraft(type: .stepFinished, run: "run-1", step: "step-\(i)", reason: "ok \(i)"),
                operator: i % 2 == 0 ? alice : bob, now: t0.addingTimeInterval(Double(i)))
        }
        return ledger
    }
}

/// Waits for a condition with a generous deadline (never a fixed sleep).
func waitFor(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    if try condition() { return }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}

@Suite("PostgreSQL ledger rollback", .serialized, .enabled(if: TestServer.unavailableReason == nil))
struct PostgresRollbackTests {
    typealias F = LedgerFixtures

    @Test func rowsDeletedByASuperuserAreARollbackForEveryClient() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        // Two clients on two hosts, each remembering what it verified.
        let hostA = database.ledger(client: "host-a")
        let hostB = database.ledger(client: "host-b")
        _ = try F.filledLedgerSequence(hostA, count: 5)
        #expect(try hostB.read().records.count == 5)
        // A superuser switches the triggers off and deletes the last two rows: what remains is a
        // chain that verifies on its own, so only the remembered heads can tell.
        let admin = try TestDatabase.superuser(database.url)
        try admin.query("SET session_replication_role = replica", "triggers off")
        try admin.query("DELETE FROM wpk.entries WHERE seq > 3", "delete")
        for client in [hostA, hostB] {
            let error = try #require(throws: LedgerError.self) { try client.read() }
            #expect(error.kind == .rolledBack)
            #expect(error.message.contains("seq 5") && error.message.contains("seq 3"), "\(error.message)")
            let appendError = try #require(throws: LedgerError.self) {
                try client.append(RecordDraft(type: .runFinished, run: "r"), operator: F.alice, now: F.t0)
            }
            #expect(appendError.kind == .rolledBack)
        }
        // A client that never saw the longer chain cannot tell; that is what the memory is for.
        #expect(try database.ledger(client: "new-host").read().records.count == 3)
    }

    @Test func rowsRewrittenByASuperuserAreARollbackEvenWhenTheyVerify() throws {
        let dir = DatabaseDirectory()
        let database = try TestDatabase(in: dir)
        dir.companions.append(database)
        let client = database.ledger()
        _ = try F.filledLedgerSequence(client, count: 4)
        _ = try client.read()
        // A forger with superuser rights rebuilds a whole valid chain of the same length.
        let forgedLines = (1...4).reduce(into: [LedgerRecord]()) { chain, seq in
            chain.append(
                LedgerRecord(
                    seq: seq, time: F.t0, draft: RecordDraft(type: .stepFinished, run: "forged", step: "s\(seq)"),
                    operator: F.carol, prev: chain.last?.hash ?? LedgerRecord.genesis))
        }.map { String(decoding: $0.line.dropLast(), as: UTF8.self) }
        try TestDatabase.superuserReplace(in: database.url, lines: forgedLines)
        let error = try #require(throws: LedgerError.self) { try client.read() }
        // A new first record: a different ledger where this client verified another (as for a replaced file).
        #expect(error.kind == .rolledBack && error.message.contains("was replaced"), "\(error.message)")
    }
}
