import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import WPKCore
@testable import WPKPostgres

/// Helper processes sign in with the test role's password file and remember heads in the test's directory.
enum TestBackend {
    static func helperEnvironment(for ledger: PostgresLedger) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let file = TestDatabase.passwordFiles.withLock({ $0[ledger.url.database] }) {
            environment["LEDGER_STRESS_PASSWORD_FILE"] = file
            environment["XDG_STATE_HOME"] = (file as NSString).deletingLastPathComponent
        }
        return environment
    }

    /// The stored lines, as a superuser reads them.
    static func lines(of ledger: PostgresLedger) throws -> [String] {
        try TestDatabase.superuserLines(of: ledger.url)
    }
}

/// A fresh private directory (mkdtemp) holding what a test's databases live with; removed when dropped.
final class DatabaseDirectory {
    let path: String
    /// What lives as long as the directory (the test database).
    var companions: [AnyObject] = []

    init() {
        var template = Array((NSTemporaryDirectory() + "/wpk-pg-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    deinit {
        companions.removeAll()
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

/// The throwaway server `.ci/run` starts (`scripts/test-postgres.sh start`).
enum TestServer {
    static let socketDirectory = ProcessInfo.processInfo.environment["WPK_TEST_PG_SOCKET_DIR"]
    static let binDirectory = ProcessInfo.processInfo.environment["WPK_TEST_PG_BIN"]

    /// Why the PostgreSQL tests cannot run here; nil when they can.
    static let unavailableReason: String? = {
        guard let directory = socketDirectory, !directory.isEmpty else {
            return "WPK_TEST_PG_SOCKET_DIR is not set; start a server with: eval \"$(scripts/test-postgres.sh start)\""
        }
        guard geteuid() == 0 else {
            return "not running as root: the tests sign in as the local postgres administrator (peer authentication)"
        }
        guard FileManager.default.fileExists(atPath: directory + "/.s.PGSQL.5432") else {
            return "no PostgreSQL socket in \(directory)"
        }
        guard ProcessInfo.processInfo.environment["WPK_TEST_PG_ADMIN_PASSWORD_FILE"] != nil else {
            return "WPK_TEST_PG_ADMIN_PASSWORD_FILE is not set (scripts/test-postgres.sh start sets it)"
        }
        return nil
    }()

    /// A superuser that signs in with a password: peer authentication as the local postgres
    /// account would make the whole test process act as postgres while other tests run.
    static func administrator() throws -> PostgresLedgerSetup.Administrator {
        let directory = try #require(socketDirectory)
        let file = try #require(ProcessInfo.processInfo.environment["WPK_TEST_PG_ADMIN_PASSWORD_FILE"])
        return PostgresLedgerSetup.Administrator(
            url: PostgresURL(user: "wpk_test_admin", database: "postgres", endpoint: .unixSocket(directory: directory, port: 5432)),
            password: try PostgresPasswordFile.read(file))
    }
}

/// A database and client role of its own for one test, made with `wpk approvals init`'s code.
final class TestDatabase: @unchecked Sendable {
    let url: PostgresURL
    let passwordFile: String
    let password: String
    /// The test's directory: clients remember their heads under it, never in root's home.
    let directory: String

    /// Password files by database, for helper processes.
    static let passwordFiles = Mutex<[String: String]>([:])

    init(in dir: DatabaseDirectory) throws {
        let name = "wpk_t_" + ContentDigest.hex((0..<6).map { _ in UInt8.random(in: 0...255) })
        let socketDirectory = try #require(TestServer.socketDirectory)
        url = PostgresURL(user: name, database: name, endpoint: .unixSocket(directory: socketDirectory, port: 5432))
        passwordFile = dir.file("password-\(name)")
        directory = dir.path
        _ = try PostgresLedgerSetup.initialize(
            ledger: url, passwordFile: passwordFile, administrator: TestServer.administrator(), group: "root")
        password = try PostgresPasswordFile.read(passwordFile)
        TestDatabase.passwordFiles.withLock { $0[name] = passwordFile }
    }

    deinit {
        TestDatabase.passwordFiles.withLock { $0[url.database] = nil }
        guard let admin = try? TestDatabase.superuser(url, database: "postgres") else { return }
        _ = try? PostgresLedgerSchema.execute(
            format: "DROP DATABASE IF EXISTS %I WITH (FORCE)", url.database, on: admin, "drop the test database")
        _ = try? PostgresLedgerSchema.execute(format: "DROP ROLE IF EXISTS %I", url.user, on: admin, "drop the test role")
    }

    /// A client; clients named differently remember their heads apart, as on different hosts.
    func ledger(retrySeconds: Double = 10, client: String = "state") -> PostgresLedger {
        PostgresLedger(
            url: url, password: password, retrySeconds: retrySeconds,
            headMemory: LedgerHeadMemory(directories: [directory + "/" + client + "/wpk/heads"]))
    }

    /// The local postgres administrator, by peer authentication, in `database` (default: the ledger's).
    static func superuser(_ url: PostgresURL, database: String? = nil) throws -> PostgresSession {
        try PostgresLedgerSetup.connectAsAdministrator(try TestServer.administrator(), ledger: url, database: database ?? url.database)
    }

    static func superuserLines(of url: PostgresURL) throws -> [String] {
        let session = try superuser(url)
        return try session.query("SELECT line FROM wpk.entries ORDER BY seq", "read the lines").map {
            String(decoding: try $0.decode(ByteBuffer.self).readableBytesView, as: UTF8.self)
        }
    }

    static func superuserReplace(in url: PostgresURL, lines: [String]) throws {
        let session = try superuser(url)
        // A superuser can switch the triggers off; the columns are only indexes, so any unique
        // values do: readers verify the lines themselves.
        try session.query("SET session_replication_role = replica", "switch triggers off")
        try session.query("DELETE FROM wpk.entries", "delete every row")
        for (index, line) in lines.enumerated() {
            var bytes = ByteBuffer()
            bytes.writeString(line)
            let tag = "rewritten-\(index)"
            try session.query(
                "INSERT INTO wpk.entries (seq, prev, hash, line) VALUES (\(index + 1), \(tag), \(tag), \(bytes))", "write a row")
        }
    }
}

/// The ledger backends the shared ledger suites run on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case file, postgresql

    /// What this machine can test: PostgreSQL only beside the test server (`PostgresServerPresenceTests`
    /// fails in CI without it, so there the PostgreSQL cases cannot quietly disappear).
    static var available: [Backend] { TestServer.unavailableReason == nil ? allCases : [.file] }

    var testDescription: String { rawValue }
}

/// A fresh, empty ledger of one backend that keeps its heads in its own directory; it (and its
/// database) lives as long as the value.
final class BackendLedger: @unchecked Sendable {
    let backend: Backend
    let dir = DatabaseDirectory()
    let ledger: any LedgerBackend
    /// The database, for the PostgreSQL backend.
    let database: TestDatabase?

    init(_ backend: Backend) throws {
        self.backend = backend
        switch backend {
        case .file:
            var file = Ledger(path: dir.file("ledger.jsonl"))
            file.memory = LedgerHeadMemory(directories: [dir.file("heads")])
            ledger = file
            database = nil
        case .postgresql:
            let made = try TestDatabase(in: dir)
            dir.companions.append(made)
            ledger = made.ledger()
            database = made
        }
    }

    /// Another client of the same ledger with a head memory of its own, as on another host.
    func otherClient(_ name: String) -> any LedgerBackend {
        switch backend {
        case .file:
            var file = Ledger(path: dir.file("ledger.jsonl"))
            file.memory = LedgerHeadMemory(directories: [dir.file("heads-\(name)")])
            return file
        case .postgresql:
            return database!.ledger(client: name)
        }
    }
}
