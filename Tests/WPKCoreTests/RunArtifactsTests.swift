import Foundation
import Testing

@testable import WPKCore

/// What a run stores beside the ledger (its plan, its steps' output tails), and how readers verify it.
@Suite struct RunArtifactsTests {
    /// Inputs that let every example and run fixture plan.
    static let inputs = [
        "deployment": "web", "app_label": "web", "state_dir": "/tmp/x", "namespace": "checkout", "job": "nightly",
        "queue": "q", "secret_name": "db", "replicas": "3", "target_replicas": "4", "backup_id": "b1",
    ]

    static func plans() throws -> [Plan] {
        let files =
            try RepoFiles.playbooks(in: "examples/playbooks").map { "examples/playbooks/\($0)" }
            + RepoFiles.playbooks(in: "Tests/Fixtures/run").map { "Tests/Fixtures/run/\($0)" }
        return files.compactMap { file in
            let path = RepoFiles.url(file).path
            let bytes = (try? RepoFiles.bytes(file)) ?? []
            let document = try? YAMLLoader.load(bytes)
            let declared = Set(document.map { Playbook(root: $0.root).inputs.map(\.name.value) } ?? [])
            if case .planned(let plan, _) = Planner.plan(
                .file(path), inputs: inputs.filter { declared.contains($0.key) }, checker: playbookChecker)
            {
                return plan
            }
            return nil
        }
    }

    @Test func everyStoredPlanVerifiesAgainstItsPlanDigestAndReadsBackWhole() throws {
        let plans = try Self.plans()
        #expect(plans.count >= 12, "the examples and fixtures should plan with the test inputs")
        let dir = TemporaryDirectory()
        let artifacts = RunArtifacts(ledgerPath: dir.file("ledger.jsonl"))
        for plan in plans {
            let path = try artifacts.store(plan)
            #expect(path.hasSuffix("/plans/\(plan.planDigest.dropFirst(7)).json"))
            let read = try artifacts.plan(digest: plan.planDigest).get()
            #expect(read.verifiedDigest == plan.planDigest, "\(plan.playbook.name)")
            #expect(read.steps.map(\.handler) == plan.steps.map(\.handler))
            #expect(read.steps.map(\.commands) == plan.steps.map(\.commands))
            #expect(read.rollback.map(\.handler) == plan.rollback.map(\.handler))
            #expect(read.inputs.map(\.name) == plan.inputs.map(\.name))
            #expect(read.steps.map(\.gateReasons) == plan.steps.map(\.gate.reasons))
        }
    }

    /// The signer bound into the plan digest is read back from the stored plan's `signature`.
    @Test(arguments: [true, false]) func aStoredPlanWithItsSignatureVerifies(trusted: Bool) throws {
        var checker = playbookChecker
        checker.signatures =
            trusted
            ? PlaybookSignatureTrust(policy: MachinePolicy(trustedKeys: RepoFiles.url("examples/keys").path)) : PlaybookSignatureTrust()
        guard
            case .planned(let plan, _) = Planner.plan(
                .file(RepoFiles.url("examples/playbooks/restart-unhealthy.wpk.yaml").path),
                inputs: ["deployment": "web", "app_label": "web"], checker: checker)
        else {
            Issue.record("restart-unhealthy did not plan")
            return
        }
        #expect(plan.signature?.state == (trusted ? .verified : .notChecked))
        let dir = TemporaryDirectory()
        let artifacts = RunArtifacts(ledgerPath: dir.file("ledger.jsonl"))
        try artifacts.store(plan)
        #expect(try artifacts.plan(digest: plan.planDigest).get().verifiedDigest == plan.planDigest)
    }

    @Test func aChangedStoredPlanIsRefusedNotShown() throws {
        let plan = try #require(try Self.plans().first { $0.playbook.name == "restart-unhealthy" })
        let dir = TemporaryDirectory()
        let artifacts = RunArtifacts(ledgerPath: dir.file("ledger.jsonl"))
        let path = try artifacts.store(plan)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"deployment/web\""))
        text = text.replacingOccurrences(of: "\"deployment/web\"", with: "\"deployment/api\"")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        guard case .failure(let problem) = artifacts.plan(digest: plan.planDigest) else {
            Issue.record("a changed plan was accepted")
            return
        }
        #expect(problem.description.contains("does not match its digest"))
        // A digest that is not one names no file at all.
        guard case .failure = artifacts.plan(digest: "sha256:../../etc/passwd") else {
            Issue.record("a path was accepted as a digest")
            return
        }
    }

    @Test func secretsAreStoredAsReferencesOnly() throws {
        let plan = try #require(try Self.plans().first { $0.playbook.name == "run-shell-secrets" })
        let dir = TemporaryDirectory()
        let path = try RunArtifacts(ledgerPath: dir.file("ledger.jsonl")).store(plan)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("WPK_TEST_API_TOKEN") && text.contains("kv/test/db"))
        let read = try RunArtifacts(ledgerPath: dir.file("ledger.jsonl")).plan(digest: plan.planDigest).get()
        #expect(read.inputs.map(\.value) == ["<secret:env:WPK_TEST_API_TOKEN>", "<secret:vault:kv/test/db:password>"])
    }

    @Test func anOutputTailKeepsTheEndBoundedAndEscapesControls() {
        var tail = OutputTail(limit: 16)
        tail.append(Array("first line\n".utf8))
        tail.append(Array("\u{1B}[31mred\u{202E}txt\n".utf8))
        #expect(tail.total == 11 + 15)
        let text = String(decoding: tail.text, as: UTF8.self)
        #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        #expect(text.hasSuffix("<U+202E>txt\n"))
        var crlf = OutputTail()
        crlf.append(Array("one\r\ntwo\n".utf8))
        #expect(String(decoding: crlf.text, as: UTF8.self) == "one\\r\ntwo\n")
        var big = OutputTail()
        for _ in 0..<200 { big.append([UInt8](repeating: 0x61, count: 100_000)) }
        #expect(big.total == 20_000_000)
        #expect(big.text.count == RunArtifacts.outputTailBytes)
    }

    @Test func aRunStoresItsPlanAndEachStepsMaskedOutputBeforeTheRecordsNamingThem() throws {
        let harness = try RunHarness()
        let vault = try harness.standIn("vault", output: "pw-abcdef")
        let report = try harness.run("shell-secrets", environment: ["WPK_TEST_API_TOKEN": "tok-123456"], programs: ["vault": vault])
        #expect(report.outcome == .succeeded)
        let records = try harness.records(of: report.runID)
        let started = try #require(records.first { $0.draft.type == .runStarted })
        let finished = try #require(records.first { $0.draft.type == .stepFinished })
        let artifacts = harness.ledger.artifacts
        let plan = try artifacts.plan(digest: try #require(started.draft.planDigest)).get()
        #expect(plan.steps.map(\.handler) == ["use-secrets"])
        let tailDigest = try #require(finished.draft.outputTail)
        let output = try artifacts.output(digest: tailDigest).get()
        #expect(output == "argument=<secret> environment=<secret>\n")
        #expect(finished.draft.outputBytes == "argument=pw-abcdef environment=tok-123456\n".utf8.count)
        #expect(finished.draft.outputDigest == ContentDigest.sha256(Array("argument=pw-abcdef environment=tok-123456\n".utf8)))
        let stored = try FileManager.default.subpathsOfDirectory(atPath: artifacts.directory).compactMap {
            try? String(contentsOfFile: artifacts.directory + "/" + $0, encoding: .utf8)
        }.joined()
        #expect(!stored.contains("pw-abcdef") && !stored.contains("tok-123456"))

        let state = LedgerState(records: try harness.ledger.read().records)
        let detail = try #require(
            RunDetail.load(
                run: report.runID, records: try harness.ledger.read().records, state: state,
                artifacts: artifacts, now: Date()))
        #expect(detail.steps.map(\.state) == [.done])
        #expect(try detail.steps[0].output?.get() == "argument=<secret> environment=<secret>\n")
    }
}
