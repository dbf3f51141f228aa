import Foundation
import PostgresNIO
import WPKCore

#if canImport(Glibc)
    import Glibc
#endif

/// What root does once per team database: `wpk approvals init` and `wpk approvals migrate`.
public enum PostgresLedgerSetup {
    /// How the administrator signs in: a URL (with a password from a file, if the server asks for
    /// one), else the local `postgres` account over the ledger's Unix socket (peer authentication).
    public struct Administrator: Sendable {
        public var url: PostgresURL?
        public var password: String?

        public init(url: PostgresURL? = nil, password: String? = nil) {
            self.url = url
            self.password = password
        }
    }

    /// Creates the database, the client role the ledger URL names (with the password file's
    /// password, made and written 0640 root:`group` when the file does not exist yet), the schema
    /// and its privileges; upgrades an older schema. Returns what it did, one line each.
    public static func initialize(
        ledger: PostgresURL, passwordFile: String?, administrator: Administrator,
        group: String = "wpk"
    ) throws(LedgerError) -> [String] {
        do throws(PostgresFailure) {
            var done: [String] = []
            let admin = try connectAsAdministrator(administrator, ledger: ledger, database: "postgres")
            let password: String?
            if let passwordFile {
                let existed = FileManager.default.fileExists(atPath: passwordFile)
                password = try passwordFor(file: passwordFile, group: group)
                if !existed { done.append("wrote a new password for role \(ledger.user) to \(passwordFile) (mode 0640, group \(group))") }
            } else {
                password = nil
            }
            let roleExists = !(try admin.query("SELECT 1 FROM pg_roles WHERE rolname = \(ledger.user)", "look up role \(ledger.user)"))
                .isEmpty
            if !roleExists {
                try PostgresLedgerSchema.execute(
                    format: "CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT",
                    ledger.user, on: admin, "create role \(ledger.user)")
                done.append("created role \(ledger.user) (login only: no superuser, no database or role creation)")
            }
            if let password {
                try PostgresLedgerSchema.execute(
                    format: "ALTER ROLE %I PASSWORD %L", ledger.user, password, on: admin, "set the password of \(ledger.user)")
            }
            let databaseExists =
                !(try admin.query("SELECT 1 FROM pg_database WHERE datname = \(ledger.database)", "look up database \(ledger.database)"))
                .isEmpty
            if !databaseExists {
                try PostgresLedgerSchema.execute(
                    format: "CREATE DATABASE %I", ledger.database, on: admin, "create database \(ledger.database)")
                done.append("created database \(ledger.database)")
            }
            let inDatabase = try connectAsAdministrator(administrator, ledger: ledger, database: ledger.database)
            done += try PostgresLedgerSchema.install(on: inDatabase, clientRole: ledger.user, database: ledger.database)
            return done
        } catch {
            throw error.ledgerError
        }
    }

    /// Copies a verified file ledger into an empty PostgreSQL ledger, byte for byte, in one
    /// transaction; re-running it after an interruption continues where the copy stands. Returns
    /// how many records were copied. The copy is read back and must verify to the same head.
    public static func migrate(from file: Ledger, to ledger: PostgresLedger) throws(LedgerError) -> (copied: Int, total: Int) {
        let reading = try file.read()
        if let fault = reading.fault {
            throw LedgerError(.chainBroken(fault), "the ledger \(file.path) does not verify, nothing was copied: \(fault)")
        }
        let lines = try recordLines(of: file, count: reading.records.count)
        let copied = try ledger.withSession("copy the ledger") { (session) throws(PostgresFailure) -> Int in
            try session.query("BEGIN", "copy the ledger")
            do throws(PostgresFailure) {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresLedgerSchema.appendLockKey))", "lock the ledger's head")
                // What is there already must be the file's own beginning, byte for byte.
                let present = LinesBox()
                try session.forEachRow("SELECT line FROM wpk.entries ORDER BY seq", "read the ledger") { row in
                    present.append(Array(try row.decode(ByteBuffer.self).readableBytesView))
                }
                let existing = present.lines
                guard existing.count <= lines.count, zip(existing, lines).allSatisfy({ $0 == $1 }) else {
                    throw PostgresFailure(
                        .refused,
                        "the database ledger \(ledger.url) already holds \(existing.count) records that are not the beginning of \(file.path); nothing was copied"
                    )
                }
                var index = existing.count
                let batch = 1000
                while index < lines.count {
                    let end = min(index + batch, lines.count)
                    var sql = "INSERT INTO wpk.entries (seq, prev, hash, line, signature) VALUES "
                    var binds = PostgresBindings(capacity: (end - index) * 5)
                    for (offset, position) in (index..<end).enumerated() {
                        let record = reading.records[position]
                        let base = offset * 5
                        sql += (offset == 0 ? "" : ", ") + "($\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4), $\(base + 5))"
                        var bytes = ByteBuffer()
                        bytes.writeBytes(lines[position])
                        binds.append(record.seq)
                        binds.append(record.prev)
                        binds.append(record.hash)
                        binds.append(bytes)
                        binds.append(PostgresLedger.signature(in: record))
                    }
                    try session.query(PostgresQuery(unsafeSQL: sql, binds: binds), "copy records \(index + 1) to \(end)")
                    index = end
                }
                try session.query("COMMIT", "copy the ledger")
                return lines.count - existing.count
            } catch {
                if !session.isClosed { _ = try? session.query("ROLLBACK", "roll back") }
                throw error
            }
        }
        let copy = try ledger.read()
        guard copy.isIntact, copy.records.count == reading.records.count, copy.head == reading.head else {
            throw LedgerError(
                .io, "the copy in \(ledger.url) does not verify to the file's head \(reading.head); investigate before using it")
        }
        return (copied, reading.records.count)
    }

    /// The file's first `count` lines, exactly as stored (their bytes are what the hashes cover).
    private static func recordLines(of file: Ledger, count: Int) throws(LedgerError) -> [[UInt8]] {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw LedgerError(.io, "cannot read \(file.path)")
        }
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(count).map { Array($0) }
        guard lines.count == count else { throw LedgerError(.io, "\(file.path) changed while it was copied") }
        return lines
    }

    static func connectAsAdministrator(_ administrator: Administrator, ledger: PostgresURL, database: String) throws(PostgresFailure)
        -> PostgresSession
    {
        if let url = administrator.url {
            return try PostgresSession.connect(url.database(database), password: administrator.password)
        }
        guard case .unixSocket = ledger.endpoint else {
            throw PostgresFailure(.refused, "the ledger is on \(ledger) over TCP: give the administrator's URL with --admin-url")
        }
        guard geteuid() == 0 else {
            throw PostgresFailure(.refused, "signing in as the local postgres account needs root; run as root or give --admin-url")
        }
        guard let account = getpwnam("postgres") else {
            throw PostgresFailure(.refused, "there is no local postgres account; give the administrator's URL with --admin-url")
        }
        let url = ledger.signingIn(as: "postgres").database(database)
        return try PostgresSession.connect(url, password: nil, account: (account.pointee.pw_uid, account.pointee.pw_gid))
    }

    /// The password in `file`, or a new random one written there (0640, owner root, `group`).
    private static func passwordFor(file: String, group: String) throws(PostgresFailure) -> String {
        if FileManager.default.fileExists(atPath: file) {
            do {
                return try PostgresPasswordFile.read(file, trustedOwner: geteuid())
            } catch {
                throw PostgresFailure(.refused, error.message)
            }
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        let password = String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PostgresFailure(.refused, "cannot create \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((password + "\n").utf8)
        let gid = getgrnam(group)?.pointee.gr_gid ?? getegid()
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) == bytes.count, fsync(fd) == 0,
            fchown(fd, geteuid(), gid) == 0, fchmod(fd, 0o640) == 0
        else {
            throw PostgresFailure(.refused, "cannot write \(file): \(String(cString: strerror(errno)))")
        }
        return password
    }
}

/// Rows gathered on the event loop for the waiting thread.
private final class LinesBox: @unchecked Sendable {
    var lines: [[UInt8]] = []
    func append(_ line: [UInt8]) { lines.append(line) }
}

extension PostgresLedgerSetup {
    /// Drops a database (and its role) made for a benchmark, as the local administrator.
    public static func dropForBenchmark(_ url: PostgresURL, role: Bool = true) throws(LedgerError) {
        do throws(PostgresFailure) {
            let admin = try connectAsAdministrator(.init(), ledger: url, database: "postgres")
            try PostgresLedgerSchema.execute(
                format: "DROP DATABASE IF EXISTS %I WITH (FORCE)", url.database, on: admin, "drop \(url.database)")
            if role { try PostgresLedgerSchema.execute(format: "DROP ROLE IF EXISTS %I", url.user, on: admin, "drop \(url.user)") }
        } catch {
            throw error.ledgerError
        }
    }
}
