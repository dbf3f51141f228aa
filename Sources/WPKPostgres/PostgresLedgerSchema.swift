import Foundation
import PostgresNIO
import WPKCore

/// The ledger's tables, versioned: each migration runs once, in order, in its own transaction,
/// and is recorded in `wpk.migrations`. Clients refuse a database whose version they do not know.
enum PostgresLedgerSchema {
    /// The advisory lock key serializing appends (and migrations) on one database: "wpk" in ASCII.
    static let appendLockKey: Int64 = 0x77_70_6B
    /// The channel the insert trigger notifies, carrying the new record's seq.
    static let notifyChannel = "wpk_ledger"

    struct Migration {
        var version: Int
        var description: String
        var statements: [String]
    }

    static var currentVersion: Int { migrations.last!.version }

    static let migrations: [Migration] = [
        Migration(
            version: 1, description: "entries: canonical bytes, unique seq and prev, append-only triggers, notify",
            statements: [
                """
                CREATE TABLE wpk.entries (
                    seq bigint NOT NULL CHECK (seq >= 1),
                    prev text NOT NULL,
                    hash text NOT NULL,
                    line bytea NOT NULL CHECK (octet_length(line) < \(Ledger.maxLineBytes)),
                    signature text,
                    appended_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    CONSTRAINT entries_seq_unique PRIMARY KEY (seq),
                    CONSTRAINT entries_prev_unique UNIQUE (prev),
                    CONSTRAINT entries_hash_unique UNIQUE (hash)
                )
                """,
                """
                CREATE FUNCTION wpk.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the wpk ledger is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
                END
                $$
                """,
                """
                CREATE TRIGGER entries_refuse_update_delete BEFORE UPDATE OR DELETE ON wpk.entries
                    FOR EACH ROW EXECUTE FUNCTION wpk.refuse_change()
                """,
                """
                CREATE TRIGGER entries_refuse_truncate BEFORE TRUNCATE ON wpk.entries
                    FOR EACH STATEMENT EXECUTE FUNCTION wpk.refuse_change()
                """,
                // The server itself keeps the chain linear even against a client that skips the lock;
                // clients still verify every byte, since the server's administrator is not trusted.
                """
                CREATE FUNCTION wpk.extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.seq = 1 THEN
                        IF NEW.prev <> '\(LedgerRecord.genesis)' THEN
                            RAISE EXCEPTION 'the first record must follow the genesis hash' USING ERRCODE = 'integrity_constraint_violation';
                        END IF;
                    ELSIF NOT EXISTS (SELECT 1 FROM wpk.entries WHERE seq = NEW.seq - 1 AND hash = NEW.prev) THEN
                        RAISE EXCEPTION 'record % does not extend the head of the chain', NEW.seq USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    PERFORM pg_notify('\(notifyChannel)', NEW.seq::text);
                    RETURN NEW;
                END
                $$
                """,
                """
                CREATE TRIGGER entries_extend_chain BEFORE INSERT ON wpk.entries
                    FOR EACH ROW EXECUTE FUNCTION wpk.extend_chain()
                """,
            ]),
        // Plans and output tails of runs, so a run started on one host can be read (and its plan
        // shown before approving) on another. Named by their digest and verified when read, so
        // the server is not trusted for them either; they are never changed or removed.
        Migration(
            version: 2, description: "artifacts: runs' plans and output tails, by digest, append-only",
            statements: [
                """
                CREATE TABLE wpk.artifacts (
                    name text PRIMARY KEY CHECK (name ~ '^(plans/[0-9a-f]{64}[.]json|outputs/[0-9a-f]{64}[.]txt)$'),
                    bytes bytea NOT NULL CHECK (octet_length(bytes) <= \(16 << 20)),
                    stored_at timestamptz NOT NULL DEFAULT clock_timestamp()
                )
                """,
                """
                CREATE TRIGGER artifacts_refuse_update_delete BEFORE UPDATE OR DELETE ON wpk.artifacts
                    FOR EACH ROW EXECUTE FUNCTION wpk.refuse_change()
                """,
                """
                CREATE TRIGGER artifacts_refuse_truncate BEFORE TRUNCATE ON wpk.artifacts
                    FOR EACH STATEMENT EXECUTE FUNCTION wpk.refuse_change()
                """,
            ]),
    ]

    /// Creates or upgrades the schema and grants `clientRole` exactly INSERT and SELECT; returns
    /// what it did, one line each. Runs as the database's administrator.
    static func install(on admin: PostgresSession, clientRole: String, database: String) throws(PostgresFailure) -> [String] {
        var done: [String] = []
        try admin.query("CREATE SCHEMA IF NOT EXISTS wpk", "create the schema wpk")
        try admin.query(
            """
            CREATE TABLE IF NOT EXISTS wpk.migrations (
                version integer PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, "create wpk.migrations")
        try admin.query("SELECT pg_advisory_lock(\(appendLockKey + 1))", "lock the schema for migration")
        defer { _ = try? admin.query("SELECT pg_advisory_unlock(\(appendLockKey + 1))", "unlock the schema") }
        let rows = try admin.query("SELECT coalesce(max(version), 0) FROM wpk.migrations", "read the schema version")
        let installed = (try? rows.first?.decode(Int.self)) ?? 0
        guard installed <= currentVersion else {
            throw PostgresFailure(
                .refused, "the ledger schema is at version \(installed), newer than this wpk knows (\(currentVersion)); use a newer wpk")
        }
        for migration in migrations where migration.version > installed {
            try admin.query("BEGIN", "begin migration \(migration.version)")
            do throws(PostgresFailure) {
                for statement in migration.statements {
                    try admin.query(PostgresQuery(unsafeSQL: statement), "apply migration \(migration.version)")
                }
                try admin.query(
                    "INSERT INTO wpk.migrations (version, description) VALUES (\(migration.version), \(migration.description))",
                    "record migration \(migration.version)")
                try admin.query("COMMIT", "commit migration \(migration.version)")
            } catch {
                _ = try? admin.query("ROLLBACK", "roll back")
                throw error
            }
            done.append("schema migration \(migration.version): \(migration.description)")
        }
        if done.isEmpty { done.append("schema at version \(currentVersion), nothing to migrate") }
        // Only what a client needs: read the chain, add to it. No UPDATE, DELETE, TRUNCATE, DDL.
        let grants = [
            "REVOKE ALL ON DATABASE %I FROM PUBLIC",
            "GRANT CONNECT ON DATABASE %I TO %I",
            "REVOKE ALL ON SCHEMA wpk FROM PUBLIC",
            "REVOKE ALL ON ALL TABLES IN SCHEMA wpk FROM PUBLIC",
            "REVOKE ALL ON ALL TABLES IN SCHEMA wpk FROM %2$I",
            "GRANT USAGE ON SCHEMA wpk TO %2$I",
            "GRANT SELECT, INSERT ON wpk.entries TO %2$I",
            "GRANT SELECT, INSERT ON wpk.artifacts TO %2$I",
            "GRANT SELECT ON wpk.migrations TO %2$I",
        ]
        for grant in grants {
            try execute(format: grant, database, clientRole, on: admin, "grant \(clientRole) its privileges")
        }
        done.append("role \(clientRole): SELECT and INSERT on wpk.entries and wpk.artifacts, SELECT on wpk.migrations, nothing else")
        return done
    }

    /// Runs a statement the server itself quotes with `format()` (identifiers `%I`, literals `%L`),
    /// since utility statements such as GRANT and ALTER ROLE take no bind parameters.
    static func execute(
        format: String, _ first: String, _ second: String = "", on session: PostgresSession,
        _ what: @autoclosure () -> String
    ) throws(PostgresFailure) {
        let rows = try session.query("SELECT format(\(format), \(first), \(second))", what())
        guard let statement = try? rows.first?.decode(String.self) else {
            throw PostgresFailure(.refused, "cannot \(what()): format() returned nothing")
        }
        try session.query(PostgresQuery(unsafeSQL: statement), what())
    }

    /// The version a client finds, checked once per connection.
    static func checkVersion(on session: PostgresSession) throws(PostgresFailure) {
        let rows: [PostgresRow]
        do {
            rows = try session.query("SELECT coalesce(max(version), 0) FROM wpk.migrations", "read the ledger schema version")
        } catch  where error.sqlState == "42P01" || error.sqlState == "3F000" {
            throw PostgresFailure(
                .refused, "the database \(session.url.database) has no wpk ledger yet; create it with: wpk approvals init")
        }
        let version = (try? rows.first?.decode(Int.self)) ?? 0
        if version < currentVersion {
            throw PostgresFailure(
                .refused,
                "the ledger schema is at version \(version), older than this wpk needs (\(currentVersion)); upgrade it with: wpk approvals init"
            )
        }
        if version > currentVersion {
            throw PostgresFailure(
                .refused, "the ledger schema is at version \(version), newer than this wpk knows (\(currentVersion)); use a newer wpk")
        }
    }
}
