import Foundation
import PostgresNIO
import WPKCore

extension PostgresLedger: LedgerBackend {
    /// Only a machine policy names a database ledger: it is always the team's.
    public var isTeamLedger: Bool { true }

    /// A database ledger exists once `wpk approvals init` made it; reading says when it did not.
    public var exists: Bool { true }

    public func makeChangeWatch() -> any LedgerChangeWatch { PostgresChangeWatch(ledger: self) }

    public var artifacts: RunArtifacts { RunArtifacts(storage: PostgresArtifactStorage(ledger: self), location: location) }

    /// Opens the ledger a machine policy names, for `LedgerChoice` (the core links no database driver).
    public static let opener: DatabaseLedgerOpener = { url, passwordFile, environment, home in
        do throws(LedgerError) {
            let parsed = try PostgresURL(parsing: url)
            let password = try passwordFile.map { (file) throws(LedgerError) in try PostgresPasswordFile.read(file) }
            let memory = LedgerHeadMemory.standard(environment: environment, home: home)
            return .success(PostgresLedger(url: parsed, password: password, headMemory: memory))
        } catch {
            return .failure(error)
        }
    }
}

/// Run artifacts in the ledger's database (`wpk.artifacts`), so every host sees the plans and
/// output tails of runs started on any other; `RunArtifacts` verifies them against their digests.
struct PostgresArtifactStorage: RunArtifactStorage {
    let ledger: PostgresLedger

    func store(_ bytes: [UInt8], name: String) throws(LedgerError) {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        try ledger.withSession("store \(name)") { (session) throws(PostgresFailure) in
            // Names are digests of their bytes: one already there holds these same bytes.
            try session.query(
                "INSERT INTO wpk.artifacts (name, bytes) VALUES (\(name), \(buffer)) ON CONFLICT (name) DO NOTHING", "store \(name)")
        }
    }

    func load(name: String, limit: Int) -> Result<[UInt8], ArtifactProblem> {
        do throws(LedgerError) {
            // The size first, so an oversized row is never transferred.
            let found = try ledger.withSession("read \(name)") { (session) throws(PostgresFailure) -> (size: Int, bytes: [UInt8]?)? in
                let rows = try session.query(
                    """
                    SELECT octet_length(bytes), CASE WHEN octet_length(bytes) <= \(limit) THEN bytes END
                    FROM wpk.artifacts WHERE name = \(name)
                    """, "read \(name)")
                guard let row = rows.first else { return nil }
                do {
                    let (size, bytes) = try row.decode((Int, ByteBuffer?).self)
                    return (size, bytes.map { Array($0.readableBytesView) })
                } catch {
                    throw PostgresFailure(.refused, "cannot decode \(name): \(error)")
                }
            }
            guard let found else { return .failure(ArtifactProblem("not recorded (\(name) is not in \(ledger.location))")) }
            guard let bytes = found.bytes else {
                return .failure(ArtifactProblem("\(name) in \(ledger.location) is larger than a run artifact may be"))
            }
            return .success(bytes)
        } catch {
            return .failure(ArtifactProblem("cannot read \(name) from \(ledger.location): \(error.message)"))
        }
    }
}
