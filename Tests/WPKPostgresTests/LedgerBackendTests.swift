import Foundation
import Testing

@testable import WPKCore
@testable import WPKPostgres

/// What every backend must do the same way: the chain, reading on from a position, waking
/// waiters, run artifacts, the choice by the machine policy.
@Suite("Ledger protocol, on every backend")
struct LedgerBackendTests {
    typealias F = LedgerFixtures

    @Test(arguments: Backend.available)
    func appendedRecordsReadBackChainedAndFromAPosition(_ backend: Backend) throws {
        let fresh = try BackendLedger(backend)
        let ledger = fresh.ledger
        #expect(try ledger.read().records.isEmpty)
        for i in 1...5 {
            try ledger.append(
                RecordDraft(type: .stepFinished, run: "run-1", step: "step-\(i)", reason: "ok \(i)"),
                operator: i % 2 == 0 ? F.alice : F.bob, now: F.t0.addingTimeInterval(Double(i)))
        }
        let reading = try ledger.read()
        #expect(reading.isIntact && reading.records.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(reading.records[0].prev == LedgerRecord.genesis)
        for (previous, record) in zip(reading.records, reading.records.dropFirst()) { #expect(record.prev == previous.hash) }
        #expect(reading.records[3].draft.reason == "ok 4" && reading.records[3].operatorName == "alice")
        #expect(reading.records[3].time == F.t0.addingTimeInterval(4))
        // Another client (another host's head memory) reads the same history.
        #expect(try fresh.otherClient("b").read().records == reading.records)
        let after = try ledger.records(after: 3)
        #expect(after.records.map(\.seq) == [4, 5] && after.head == reading.head)
        #expect(try ledger.records(after: 5).records.isEmpty)
    }

    @Test(arguments: Backend.available)
    func aCheckedAppendIsDecidedOnTheWholeChainAndAPreparedOneOnlyOnItsHead(_ backend: Backend) throws {
        let fresh = try BackendLedger(backend)
        let ledger = fresh.ledger
        let (first, seen) = try ledger.appendChecked(operator: F.alice, now: F.t0) { reading in
            (RecordDraft(type: .runStarted, run: "r1"), reading.records.count)
        }
        #expect(first?.seq == 1 && seen == 0)
        let (none, _) = try ledger.appendChecked(operator: F.alice, now: F.t0) { _ in (nil as RecordDraft?, ()) }
        #expect(none == nil)
        #expect(try ledger.read().records.count == 1)
        // A record prepared on a head that has moved on is not written.
        let stale = LedgerRecord(
            seq: 1, time: F.t0, draft: RecordDraft(type: .runFinished, run: "r1"), operator: F.bob, prev: LedgerRecord.genesis)
        #expect(try ledger.appendPrepared(stale) == false)
        let next = LedgerRecord(
            seq: 2, time: F.t0, draft: RecordDraft(type: .runFinished, run: "r1"), operator: F.bob, prev: try #require(first).hash)
        #expect(try ledger.appendPrepared(next) == true)
        #expect(try ledger.read().records.map(\.hash) == [first!.hash, next.hash])
    }

    @Test(arguments: Backend.available)
    func aWatchWakesAtOnceWhenAnotherClientAppends(_ backend: Backend) throws {
        let fresh = try BackendLedger(backend)
        try fresh.ledger.append(RecordDraft(type: .runStarted, run: "r"), operator: F.alice, now: F.t0)
        let watch = fresh.ledger.makeChangeWatch()
        try waitFor("the watch to be live") { watch.isLive }
        #expect(watch.changed(), "the first look always reads")
        // Nothing happened since: no change (once the connection's own first wake-up is drained).
        try waitFor("the watch to settle") { !watch.changed() }
        try fresh.otherClient("b").append(RecordDraft(type: .runFinished, run: "r"), operator: F.bob, now: F.t0)
        var fds = [pollfd(fd: try #require(watch.descriptor), events: Int16(POLLIN), revents: 0)]
        #expect(poll(&fds, 1, 10_000) == 1, "no wake-up within 10 s")
        #expect(watch.changed())
    }

    @Test(arguments: Backend.available)
    func runArtifactsAreStoredVerifiedAndSeenByEveryClient(_ backend: Backend) throws {
        let fresh = try BackendLedger(backend)
        let checker = PlaybookChecker(schema: try CompiledSchema(contentsOfFile: RepoPaths.url("specs/wpk_schema.yaml").path))
        guard
            case .planned(let plan, _) = Planner.plan(
                .file(RepoPaths.url("examples/playbooks/restart-unhealthy.wpk.yaml").path),
                inputs: ["deployment": "web", "app_label": "web"], checker: checker)
        else {
            Issue.record("restart-unhealthy did not plan")
            return
        }
        try fresh.ledger.artifacts.store(plan)
        try fresh.ledger.artifacts.store(plan)
        let output = Array("step output\n".utf8)
        let digest = try fresh.ledger.artifacts.storeOutput(output)
        let other = fresh.otherClient("b").artifacts
        #expect(try other.plan(digest: plan.planDigest).get().steps.map(\.handler) == plan.steps.map(\.handler))
        #expect(try other.output(digest: digest).get() == "step output\n")
        guard case .failure(let missing) = other.plan(digest: "sha256:" + String(repeating: "0", count: 64)) else {
            Issue.record("a plan never stored was found")
            return
        }
        #expect(missing.description.contains("not recorded"))
    }

    @Test(arguments: Backend.available)
    func theMachinePolicyChoosesTheBackend(_ backend: Backend) throws {
        let fresh = try BackendLedger(backend)
        let location = backend == .file ? fresh.dir.file("team.jsonl") : fresh.database!.url.description
        let policy = MachinePolicyStatus.loaded(
            MachinePolicy(ledger: location, ledgerPasswordFile: fresh.database?.passwordFile, source: "/etc/wpk/policy.yaml"))
        let environment = ["XDG_STATE_HOME": fresh.dir.file("state-chosen")]
        let chosen = try LedgerChoice.chosen(
            by: policy, requested: nil, environment: environment, home: "/nonexistent",
            database: PostgresLedger.opener
        ).get()
        #expect(chosen.location == location && chosen.isTeamLedger)
        #expect((chosen is PostgresLedger) == (backend == .postgresql))
        try chosen.append(RecordDraft(type: .runStarted, run: "r"), operator: F.alice, now: F.t0)
        #expect(try chosen.read().records.count == 1)
        // Nothing else may choose another ledger; naming the same one is allowed.
        guard
            case .failure(let refused) = LedgerChoice.chosen(
                by: policy, requested: fresh.dir.file("mine.jsonl"), environment: environment,
                home: "/nonexistent", database: PostgresLedger.opener)
        else {
            Issue.record("--ledger chose another ledger")
            return
        }
        #expect(refused.message.contains("--ledger cannot choose another"))
        #expect(
            (try? LedgerChoice.chosen(
                by: policy, requested: location, environment: environment, home: "/nonexistent",
                database: PostgresLedger.opener
            ).get()) != nil)
    }

    @Test func aDatabaseURLIsNeverTakenForAFileNorChosenOutsideThePolicy() {
        let url = "postgresql://wpk@/wpk?host=/run/postgresql"
        for (requested, environment, name) in [(url, [String: String](), "--ledger"), (nil, ["WPK_LEDGER": url], "WPK_LEDGER")] {
            for reading in [false, true] {
                let result =
                    reading
                    ? LedgerChoice.forReading(
                        requested, policy: .loaded(.builtIn), environment: environment, home: "/home/alice", database: PostgresLedger.opener
                    )
                    : LedgerChoice.chosen(
                        by: .loaded(.builtIn), requested: requested, environment: environment, home: "/home/alice",
                        database: PostgresLedger.opener)
                guard case .failure(let error) = result else {
                    Issue.record("\(name) chose a database")
                    continue
                }
                #expect(error.message.contains("\(name) names a PostgreSQL ledger"), "\(error.message)")
            }
        }
    }
}

extension LedgerBackendTests {
    /// A decision signed with a real key (ssh-keygen's SSHSIG), written by `appendSigned` (signed
    /// outside the lock, then written only if the head has not moved), reads back verified on both
    /// backends, and its signature counts for the principal the allowed signers name.
    @Test(arguments: Backend.available)
    func aSignedDecisionIsStoredAndVerifiesForItsPrincipal(_ backend: Backend) throws {
        guard requireSSHKeygen() else { return }
        let fresh = try BackendLedger(backend)
        let keys = TemporaryDirectory()
        let (keyPath, publicText) = try SSHKeygen.makeKey("ed25519", named: "alice", in: keys)
        let signer = SSHSigner(
            principal: "alice@example.com", publicKey: try SSHPublicKey(openSSH: publicText), keyPath: keyPath,
            environment: ProcessInfo.processInfo.environment)
        // The machine's allowed signers are checked below, as `wpk approvals verify` and a run do.
        let outcome = try fresh.ledger.recordDecision(
            .approve, subject: F.subject(), planPrefix: F.planPrefix, policy: .loaded(.builtIn),
            operator: F.alice, now: F.t0, signer: signer)
        guard case .recorded(let record) = outcome else {
            Issue.record("refused: \(outcome)")
            return
        }
        let stored = try #require(try fresh.otherClient("b").read().records.last)
        #expect(stored == record && stored.principal == "alice@example.com")
        let signers = SignerPolicy.signed(try AllowedSigners(text: "alice@example.com \(publicText)\n", source: "allowed_signers"))
        #expect(try signers.principal(of: stored).get() == "alice@example.com")
    }
}

/// Paths in the repository, from this file's place in it.
enum RepoPaths {
    static func url(_ relative: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(relative)
    }
}
