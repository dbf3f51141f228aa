import Foundation
import Testing

@testable import WPKCore

/// A run of a fixture playbook through `RunExecutor`, in this process, on a real ledger and real processes.
final class RunHarness {
    static let checker: PlaybookChecker = {
        let schema = try? CompiledSchema(contentsOfFile: RepoFiles.url("specs/wpk_schema.yaml").path)
        return PlaybookChecker(schema: schema)
    }()

    let dir = TemporaryDirectory()
    let ledger: Ledger
    var state: String { dir.file("state") }
    var argvLog: String { dir.file("argv.log") }
    /// Whatever the steps printed, as shown to people (secrets masked).
    private(set) var shown = ""
    private(set) var events: [RunEvent] = []

    init() throws {
        ledger = Ledger(path: dir.file("ledger.jsonl"))
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    }

    func fixture(_ name: String) -> String { RepoFiles.url("Tests/Fixtures/run/\(name).wpk.yaml").path }

    func plan(_ name: String, inputs: [String: String]) throws -> Plan {
        guard case .planned(let plan, _) = Planner.plan(.file(fixture(name)), inputs: inputs, checker: Self.checker) else {
            throw PlanningFailure(diagnostics: [])
        }
        return plan
    }

    /// A program that records its name and arguments (NUL-separated, one record per call) and prints `output`.
    func standIn(_ name: String, output: String, failingWhen failing: String? = nil) throws -> String {
        let path = dir.file(name)
        let failure = failing.map { "case \" $* \" in *\" \($0) \"*) exit 1;; esac" } ?? ""
        let script = """
            #!/bin/sh
            { printf '%s\\0' "$(basename "$0")" "$@"; printf '\\036'; } >> '\(argvLog)'
            printf '%s' '\(output)'
            \(failure)

            """
        try writeExecutableScript(script, to: path)
        return path
    }

    func recordedArgv() throws -> [[String]] {
        try String(contentsOfFile: argvLog, encoding: .utf8).split(separator: "\u{1E}").map { record in
            record.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    /// Runs a fixture as alice, under a machine policy that allows auto mode.
    func run(
        _ name: String, inputs: [String: String] = [:], environment: [String: String] = [:], programs: [String: String] = [:],
        policy: MachinePolicy = MachinePolicy(allowAutoMode: true),
        onEvent: @escaping (RunEvent, Plan) -> Void = { _, _ in }
    ) throws -> RunReport {
        let plan = try plan(name, inputs: inputs)
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
        for (key, value) in environment { env[key] = value }
        let settings = RunSettings(
            ledger: ledger, runID: RunSettings.newRunID(), operator: LedgerFixtures.alice,
            policy: .loaded(policy), environment: env, programs: programs,
            inputNames: Array(inputs.keys), gracePeriodSeconds: 1)
        let executor = RunExecutor(
            settings: settings, interrupt: nil,
            replan: { Planner.plan(.file(self.fixture(name)), inputs: inputs, checker: Self.checker) },
            onEvent: { event in
                self.events.append(event)
                onEvent(event, plan)
            },
            onOutput: { _, chunk in self.shown += String(decoding: chunk, as: UTF8.self) })
        return try executor.run(plan)
    }

    func journal() -> [String] {
        ((try? String(contentsOfFile: state + "/journal", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func records(of run: String) throws -> [LedgerRecord] {
        try ledger.read().records.filter { $0.draft.run == run }
    }
}

@Suite(.serialized) struct RunExecutorTests {
    let policy = MachinePolicyStatus.loaded(MachinePolicy(allowAutoMode: true))

    @Test func aRejectionStopsTheRunWithoutNewChangesAndListsWhatEarlierStepsChanged() throws {
        let harness = try RunHarness()
        let inputs = ["state_dir": harness.state]
        let plan = try harness.plan("shell-two-gates", inputs: inputs)
        let first = try #require(plan.steps.first)
        // Bob approved the first change of this plan before the run (as `wpk approve FILE` does).
        let approval = try harness.ledger.recordDecision(
            .approve, subject: GateSubject(plan: plan, step: first, run: nil), planPrefix: plan.fingerprint,
            policy: policy, operator: LedgerFixtures.bob, now: Date())
        guard case .recorded = approval else {
            Issue.record("approval refused: \(approval)")
            return
        }
        var runID = ""
        let report = try harness.run("shell-two-gates", inputs: inputs) { event, plan in
            if case .started(let id, _) = event { runID = id }
            // Bob rejects the second change as soon as the run waits for it.
            guard case .waiting(let step, _, _) = event, step == "second-change" else { return }
            let subject = GateSubject(plan: plan, step: plan.steps[1], run: runID)
            _ = try? harness.ledger.recordDecision(
                .reject(reason: "not during the sale"), subject: subject, planPrefix: plan.fingerprint,
                policy: self.policy, operator: LedgerFixtures.bob, now: Date())
        }
        #expect(report.outcome == .rejected(step: "second-change", by: "bob", reason: "not during the sale"))
        #expect(report.changed == ["first-change"])
        #expect(harness.journal() == ["first"])
        let records = try harness.records(of: runID)
        #expect(records.filter { $0.draft.type == .stepStarted }.map(\.draft.step) == ["first-change"])
        let finished = try #require(records.last)
        #expect(finished.draft.type == .runFinished)
        #expect(finished.draft.outcome == "rejected")
        #expect(finished.draft.changed == ["first-change"])
    }

    /// The executor's own check, whatever its caller did: under require_signed_playbooks a plan
    /// whose signature was not verified (here: not checked at all) runs nothing.
    @Test func anUnverifiedPlanRunsNothingWhereThePolicyRequiresSignatures() throws {
        let harness = try RunHarness()
        let report = try harness.run(
            "shell-steps", inputs: ["state_dir": harness.state],
            policy: MachinePolicy(allowAutoMode: true, requireSignedPlaybooks: true))
        guard case .refused(let why) = report.outcome else {
            Issue.record("ran: \(report.outcome)")
            return
        }
        #expect(why.contains("require_signed_playbooks"))
        #expect(report.attempts.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.state).isEmpty)
        #expect(try harness.records(of: report.runID).map(\.draft.type.name) == ["run_started", "run_finished"])
    }

    /// The run applies the machine policy's gate floor itself: a plan made under a looser floor
    /// (here `gate: destructive`, which lets a manual scale opt out of approval) runs nothing on
    /// a machine whose policy says `gate: mutating`.
    @Test(.timeLimit(.minutes(1))) func aPlanBelowTheMachineGateFloorRunsNothing() throws {
        let harness = try RunHarness()
        let path = harness.dir.file("ungated.wpk.yaml")
        try Data(
            """
            apiVersion: wpk/v1
            kind: WorkflowPackage
            metadata: {name: ungated, version: 1.0.0, author: ops@example.com}
            spec:
              runtime: {type: k8s, k8s: {context: test, namespace: shop}}
              safety: {mode: manual}
              handlers:
                - {name: bump, action: scale, target: deployment/web, params: {replicas: 2}, requires_approval: false}
              validation: {permissions: [deployments/scale:patch]}
            """.utf8
        ).write(to: URL(fileURLWithPath: path))
        var loose = RunHarness.checker
        loose.gateFloor = .destructive
        let outcome = Planner.plan(.file(path), inputs: [:], checker: loose)
        guard case .planned(let plan, let report) = outcome, report.diagnostics.isEmpty, plan.steps[0].gate.required == false else {
            Issue.record("the playbook does not plan ungated under gate: destructive: \(outcome.report.diagnostics.map(\.message))")
            return
        }
        // Under gate: mutating the same file is invalid (WPK330) and the planner gates the step.
        let strict = RunHarness.checker.check(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))), path: path)
        #expect(strict.diagnostics.map(\.code) == ["WPK330"])
        let kubectl = try harness.standIn("kubectl", output: "")
        let settings = RunSettings(
            ledger: harness.ledger, runID: RunSettings.newRunID(), operator: LedgerFixtures.alice,
            policy: .loaded(MachinePolicy(gate: .mutating)), environment: ["PATH": "/usr/bin:/bin"],
            programs: ["kubectl": kubectl], gracePeriodSeconds: 1)
        let ran = try RunExecutor(settings: settings, interrupt: nil, replan: { Planner.plan(.file(path), inputs: [:], checker: loose) })
            .run(plan)
        guard case .refused(let why) = ran.outcome else {
            Issue.record("ran: \(ran.outcome)")
            return
        }
        #expect(
            why.contains("step bump is not gated in this plan, but the machine policy (gate: mutating) gates every step that changes state")
        )
        #expect(ran.attempts.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: harness.argvLog), "kubectl ran")
    }

    @Test func aPlanRejectedBeforeTheRunRunsNothing() throws {
        let harness = try RunHarness()
        let inputs = ["state_dir": harness.state]
        let plan = try harness.plan("shell-two-gates", inputs: inputs)
        let rejection = try harness.ledger.recordDecision(
            .reject(reason: "no restarts today"), subject: GateSubject(plan: plan, step: plan.steps[1], run: nil),
            planPrefix: plan.fingerprint, policy: policy, operator: LedgerFixtures.bob, now: Date())
        guard case .recorded = rejection else {
            Issue.record("rejection refused: \(rejection)")
            return
        }
        let report = try harness.run("shell-two-gates", inputs: inputs)
        #expect(report.outcome == .rejected(step: "second-change", by: "bob", reason: "no restarts today"))
        #expect(report.attempts.isEmpty)
        #expect(try harness.records(of: report.runID).map(\.draft.type.name) == ["run_started", "run_finished"])
    }

    @Test func aGateWithoutApprovalsExpiresAndNothingRuns() throws {
        let harness = try RunHarness()
        var runID = ""
        let report = try harness.run("shell-expiring", inputs: ["state_dir": harness.state]) { event, _ in
            if case .started(let id, _) = event { runID = id }
        }
        guard case .expired(let step, _) = report.outcome else {
            Issue.record("not expired: \(report.outcome)")
            return
        }
        #expect(step == "first-change")
        #expect(try harness.records(of: runID).map(\.draft.type.name) == ["run_started", "waiting", "expired", "run_finished"])
        #expect(harness.journal().isEmpty)
    }

    @Test func secretsAreReadWhenTheStepStartsAndNeverShownOrRecorded() throws {
        let harness = try RunHarness()
        let vault = try harness.standIn("vault", output: "pw-abcdef\n")
        let report = try harness.run("shell-secrets", environment: ["WPK_TEST_API_TOKEN": "tok-123456"], programs: ["vault": vault])
        #expect(report.outcome == .succeeded)
        #expect(try harness.recordedArgv() == [["vault", "kv", "get", "-field=password", "kv/test/db"]])
        #expect(harness.shown == "argument=<secret> environment=<secret>\n")
        #expect(report.attempts.first?.outputDigest == ContentDigest.sha256(Array("argument=pw-abcdef environment=tok-123456\n".utf8)))
        let ledgerText = try String(contentsOfFile: harness.ledger.path, encoding: .utf8)
        #expect(!ledgerText.contains("pw-abcdef") && !ledgerText.contains("tok-123456"))
    }

    @Test func aSecretThatCannotBeReadKeepsTheStepFromStarting() throws {
        let harness = try RunHarness()
        let vault = try harness.standIn("vault", output: "")
        let report = try harness.run("shell-secrets", programs: ["vault": vault])
        guard case .failed(let step, let detail) = report.outcome else {
            Issue.record("not failed: \(report.outcome)")
            return
        }
        #expect(step == "use-secrets")
        #expect(detail.contains("WPK_TEST_API_TOKEN is not set"))
        #expect(report.attempts.map(\.outcome) == ["not_started"])
    }

    @Test func withDryRunFirstASimulatedStepRunsItsDryRunBeforeTheChange() throws {
        let harness = try RunHarness()
        // kubectl named in configuration rather than found on PATH.
        let kubectl = try harness.standIn("kubectl-for-tests", output: "ok\n")
        let report = try harness.run("k8s-dry-run-first", inputs: ["deployment": "web"], programs: ["kubectl": kubectl])
        #expect(report.outcome == .succeeded)
        let plan = try harness.plan("k8s-dry-run-first", inputs: ["deployment": "web"])
        let expected = plan.steps.flatMap { $0.dryRunCommands + $0.commands }
        #expect(plan.steps[1].dryRunCommands.count == 1)
        // The stand-in records its own file name; the rest of each argv must be the plan's exactly.
        let recorded = try harness.recordedArgv()
        #expect(recorded.map { Array($0.dropFirst()) } == expected.map { Array($0.dropFirst()) })
        #expect(recorded.allSatisfy { $0.first == "kubectl-for-tests" })
    }

    @Test func aStartedStepWhoseRunProcessIsGoneHasAnUnknownOutcome() throws {
        let harness = try RunHarness()
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        for (run, pid) in [("gone", Int(exited.processIdentifier)), ("alive", Int(getpid()))] {
            try harness.ledger.append(
                RecordDraft(
                    type: .runStarted, run: run, playbook: "pb", playbookDigest: LedgerFixtures.playbookDigest,
                    planDigest: LedgerFixtures.planDigest, pid: pid, host: RunHost.name),
                operator: LedgerFixtures.alice, now: Date())
            try harness.ledger.append(
                RecordDraft(type: .stepStarted, run: run, step: "restart", attempt: 1), operator: LedgerFixtures.alice, now: Date())
        }
        let overview = LedgerState(records: try harness.ledger.read().records).runOverview(at: Date())
        #expect(overview.first { $0.history.id == "gone" }?.status == .processGone(openSteps: ["restart"]))
        #expect(overview.first { $0.history.id == "alive" }?.status == .running(steps: ["restart"]))
    }

    /// Issue 13, attack 7: a gated rollback step waits for an approval of its own, shown as
    /// waiting like any gate, when the approval of the step it undoes did not include it.
    @Test func aGatedRollbackStepWaitsForItsOwnApproval() throws {
        let harness = try RunHarness()
        // kubectl stand-in: records every call; `rollout status` fails, as a rollout that never gets ready.
        let kubectl = try harness.standIn("kubectl", output: "", failingWhen: "status")
        var runID = ""
        var waited: [String] = []
        let report = try harness.run("k8s-rollback", inputs: ["deployment": "web"], programs: ["kubectl": kubectl]) { event, plan in
            if case .started(let id, _) = event { runID = id }
            guard case .waiting(let step, _, _) = event else { return }
            waited.append(step)
            let gated = try! #require(plan.step(named: step))
            _ = try? harness.ledger.recordDecision(
                .approve, subject: GateSubject(plan: plan, step: gated, run: runID),
                planPrefix: plan.fingerprint, policy: self.policy,
                operator: LedgerFixtures.bob, now: Date())
        }
        #expect(waited == ["restart", "undo-restart"])
        #expect(report.outcome == .failed(step: "wait-healthy", detail: "exit code 1"))
        #expect(report.rolledBack == ["undo-restart"])
        let records = try harness.records(of: runID)
        #expect(records.filter { $0.draft.type == .waiting }.map(\.draft.step) == ["restart", "undo-restart"])
        #expect(records.filter { $0.draft.type == .consumed }.map(\.draft.step) == ["restart", "undo-restart"])
    }

    /// An approval that lists the rollback step (`includes_rollback`, signed with it) covers it:
    /// the rollback runs at once, and only because every consumed approval listed it.
    @Test func aGatedRollbackStepIncludedInTheApprovalRunsWithoutAnother() throws {
        let harness = try RunHarness()
        let kubectl = try harness.standIn("kubectl", output: "", failingWhen: "status")
        var runID = ""
        let report = try harness.run("k8s-rollback", inputs: ["deployment": "web"], programs: ["kubectl": kubectl]) { event, plan in
            if case .started(let id, _) = event { runID = id }
            guard case .waiting(let step, _, _) = event else { return }
            #expect(step == "restart", "only the restart waits; its approval includes the rollback")
            #expect(plan.gatedRollback(undoing: "restart") == ["undo-restart"])
            _ = try? harness.ledger.recordDecision(
                .approve, subject: GateSubject(plan: plan, step: plan.steps[0], run: runID),
                planPrefix: plan.fingerprint, policy: self.policy,
                operator: LedgerFixtures.bob, now: Date(), includesRollback: ["undo-restart"])
        }
        #expect(report.outcome == .failed(step: "wait-healthy", detail: "exit code 1"))
        #expect(report.rolledBack == ["undo-restart"])
        #expect(report.changed == ["restart", "undo-restart"])
        let plan = try harness.plan("k8s-rollback", inputs: ["deployment": "web"])
        #expect(try harness.recordedArgv() == (plan.steps + plan.rollback).flatMap(\.commands))
        let records = try harness.records(of: runID)
        #expect(records.filter { $0.draft.type == .waiting }.map(\.draft.step) == ["restart"])
        let approval = try #require(try harness.ledger.read().records.first { $0.draft.type == .approved })
        #expect(approval.draft.includesRollback == ["undo-restart"] && approval.contentJSON["includes_rollback"] != nil)
    }

    @Test func runEventFieldsAreHashedAndReadBack() throws {
        let harness = try RunHarness()
        let drafts = [
            RecordDraft(
                type: .runStarted, run: "r1", playbook: "pb", playbookDigest: LedgerFixtures.playbookDigest,
                planDigest: LedgerFixtures.planDigest, inputs: ["deployment"], pid: 4242, host: "bastion-1"),
            RecordDraft(
                type: .stepFinished, run: "r1", step: "restart", reason: "exit code 3", attempt: 2, outcome: "failed",
                exitCode: 3, durationMilliseconds: 1234, outputDigest: ContentDigest.sha256(Array("x".utf8))),
            RecordDraft(type: .stepRetried, run: "r1", step: "restart", attempt: 3),
            RecordDraft(type: .runFinished, run: "r1", outcome: "rejected", changed: ["scale-down", "restart"]),
        ]
        for draft in drafts { try harness.ledger.append(draft, operator: LedgerFixtures.alice, now: LedgerFixtures.t0) }
        let reading = try harness.ledger.read()
        #expect(reading.isIntact)
        #expect(reading.records.map(\.draft) == drafts)
        #expect(reading.records.map(\.draft.type.name) == ["run_started", "step_finished", "step_retried", "run_finished"])
    }

    @Test func runsWaitingForApprovalAreListedFirstLongestWaitFirst() throws {
        let harness = try RunHarness()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let subject = LedgerFixtures.subject()
        for (index, run) in ["finished", "waits-less", "waits-longer"].enumerated() {
            try harness.ledger.append(
                RecordDraft(
                    type: .runStarted, run: run, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
                    planDigest: subject.planDigest), operator: LedgerFixtures.alice, now: t0)
            if run == "finished" {
                try harness.ledger.append(
                    RecordDraft(type: .runFinished, run: run, outcome: "succeeded"), operator: LedgerFixtures.alice, now: t0)
                continue
            }
            var waiting = subject
            waiting.run = run
            let since = t0.addingTimeInterval(run == "waits-longer" ? 10 : 100 + Double(index))
            try harness.ledger.append(
                try ApprovalPolicy.waitingDraft(subject: waiting, policy: policy, now: since).get(),
                operator: LedgerFixtures.alice, now: since)
        }
        let now = t0.addingTimeInterval(200)
        let overview = LedgerState(records: try harness.ledger.read().records).runOverview(at: now) { _ in nil }
        #expect(overview.map(\.history.id) == ["waits-longer", "waits-less", "finished"])
        #expect(overview.first?.waitedSeconds(at: now) == 190)
        #expect(overview.last?.status == .ended(outcome: "succeeded"))
    }
}

/// Writes an executable script through a close-on-exec descriptor: a plain write leaves the descriptor
/// open in any child another test thread spawns meanwhile, and executing the script then fails with
/// "Text file busy" (ETXTBSY) for as long as that child lives.
func writeExecutableScript(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o755)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        written += n
    }
    guard fchmod(fd, 0o755) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}
