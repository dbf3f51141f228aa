import Foundation
import Testing

@testable import WPKCore
@testable import WPKPostgres

/// Shorthands over a real, empty ledger of one backend (a file, or a database on the test server).
private struct PolicyBench {
    let fresh: BackendLedger
    var ledger: any LedgerBackend { fresh.ledger }
    var policy: MachinePolicyStatus = .loaded(.builtIn)

    init(_ backend: Backend) throws {
        fresh = try BackendLedger(backend)
    }

    func decide(
        _ verdict: Verdict = .approve, _ op: Operator, subject: GateSubject = LedgerFixtures.subject(),
        prefix: String = LedgerFixtures.planPrefix, shown: String? = nil, at seconds: Double = 0
    ) throws -> DecisionOutcome {
        try ledger.recordDecision(
            verdict, subject: subject, planPrefix: prefix, shownPlaybookDigest: shown,
            policy: policy, operator: op, now: LedgerFixtures.t0.addingTimeInterval(seconds))
    }

    /// Starts a run and makes it wait at the subject's gate, as `wpk run` will.
    func startRun(_ id: String, by op: Operator, subject: GateSubject, at seconds: Double = 0) throws {
        let now = LedgerFixtures.t0.addingTimeInterval(seconds)
        try ledger.append(
            RecordDraft(
                type: .runStarted, run: id, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
                planDigest: subject.planDigest), operator: op, now: now)
        var waiting = subject
        waiting.run = id
        let draft = try ApprovalPolicy.waitingDraft(subject: waiting, policy: policy, now: now).get()
        try ledger.append(draft, operator: op, now: now)
    }

    func settle(_ subject: GateSubject, run: String, by op: Operator, at seconds: Double) throws -> GateStatus {
        var subject = subject
        subject.run = run
        return try ledger.settleGate(subject: subject, policy: policy, operator: op, now: LedgerFixtures.t0.addingTimeInterval(seconds))
    }
}

private func refusalCode(_ outcome: DecisionOutcome) -> String? {
    if case .refused(let refusal) = outcome { return refusal.code }
    return nil
}

private func isRecorded(_ outcome: DecisionOutcome) -> Bool {
    if case .recorded = outcome { return true }
    return false
}

@Suite("Ledger policy, on every backend")
struct LedgerPolicyTests {
    typealias F = LedgerFixtures

    @Test(arguments: Backend.available) func approvalIsRecordedWithItsBindingAndWindow(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        guard case .recorded(let record) = try bench.decide(.approve, F.alice) else {
            Issue.record("refused")
            return
        }
        #expect(record.draft.type == .approved)
        #expect(record.draft.playbookDigest == F.playbookDigest && record.draft.planDigest == F.planDigest)
        #expect(record.draft.step == "migrate" && record.operatorName == "alice" && record.operatorUID == 1001)
        #expect(record.draft.expires == F.t0.addingTimeInterval(600))
        #expect(try bench.ledger.read().records == [record])
    }

    @Test(arguments: Backend.available) func approvalCountsOnlyForTheExactDigestsAndIsSingleUse(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        let subject = F.subject()
        #expect(isRecorded(try bench.decide(.approve, F.alice, subject: subject)))
        // A run of a different plan does not see it.
        let otherPlan = F.subject(planDigest: F.otherPlanDigest)
        try bench.startRun("run-other", by: F.carol, subject: otherPlan, at: 1)
        #expect(try bench.settle(otherPlan, run: "run-other", by: F.carol, at: 2) == .pending(have: 0, need: 1))
        // The run of the approved plan consumes it ...
        try bench.startRun("run-1", by: F.bob, subject: subject, at: 3)
        #expect(try bench.settle(subject, run: "run-1", by: F.bob, at: 4) == .approved(consumes: [1]))
        // ... and a second run cannot use it again.
        try bench.startRun("run-2", by: F.bob, subject: subject, at: 5)
        #expect(try bench.settle(subject, run: "run-2", by: F.bob, at: 6) == .pending(have: 0, need: 1))
        let records = try bench.ledger.read().records
        #expect(records.filter { $0.draft.type == .consumed }.map(\.draft.consumes) == [[1]])
        #expect(records.filter { $0.draft.type == .consumed }.map(\.draft.run) == ["run-1"])
    }

    @Test(arguments: Backend.available) func staleApprovalDoesNotCountAndShowsStale(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        #expect(isRecorded(try bench.decide(.approve, F.alice)))
        // The file changed: the planner computes a new plan digest; the old approval is stale.
        let changed = F.subject(planDigest: F.otherPlanDigest)
        try bench.startRun("run-1", by: F.bob, subject: changed, at: 10)
        #expect(try bench.settle(changed, run: "run-1", by: F.bob, at: 11) == .pending(have: 0, need: 1))
        let overview = LedgerState(records: try bench.ledger.read().records).overview(at: F.t0.addingTimeInterval(12))
        #expect(overview.map(\.status) == [.pending, .stale])
        #expect(overview[0].gate.key.planDigest == F.otherPlanDigest)
    }

    @Test(arguments: Backend.available) func staleDigestAndWrongPrefixAreRefused(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        #expect(refusalCode(try bench.decide(.approve, F.alice, shown: "sha256:" + String(repeating: "9", count: 64))) == "stale_digest")
        #expect(refusalCode(try bench.decide(.approve, F.alice, prefix: "3f2a9c1b7d4f")) == "wrong_plan_prefix")
        #expect(refusalCode(try bench.decide(.approve, F.alice, prefix: "3f2a9c")) == "plan_prefix_too_short")
        #expect(refusalCode(try bench.decide(.approve, F.alice, prefix: "3f2a9c1b7d4z")) == "plan_prefix_too_short")
        #expect(isRecorded(try bench.decide(.approve, F.alice, prefix: "sha256:3F2A9C1B7D4EBB")))
        #expect(try bench.ledger.read().records.count == 1)
    }

    @Test(arguments: Backend.available) func expiredApprovalDoesNotCount(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        #expect(isRecorded(try bench.decide(.approve, F.alice)))
        let subject = F.subject()
        // Window is 600 s: the run starts after it closed.
        try bench.startRun("run-1", by: F.bob, subject: subject, at: 601)
        #expect(try bench.settle(subject, run: "run-1", by: F.bob, at: 602) == .pending(have: 0, need: 1))
    }

    @Test(arguments: Backend.available) func gateDeadlineEndsAsExpiredOnceAndNeverProceeds(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        let subject = F.subject()
        try bench.startRun("run-1", by: F.bob, subject: subject, at: 0)
        #expect(try bench.settle(subject, run: "run-1", by: F.bob, at: 599) == .pending(have: 0, need: 1))
        let deadline = F.t0.addingTimeInterval(600)
        #expect(try bench.settle(subject, run: "run-1", by: F.bob, at: 600) == .expired(deadline: deadline))
        // An approval after the deadline is refused for that run ...
        var forRun = subject
        forRun.run = "run-1"
        #expect(refusalCode(try bench.decide(.approve, F.alice, subject: forRun, at: 601)) == "expired")
        // ... and even an approval given now does not revive the run.
        #expect(isRecorded(try bench.decide(.approve, F.alice, subject: subject, at: 602)))
        #expect(try bench.settle(subject, run: "run-1", by: F.bob, at: 603) == .expired(deadline: deadline))
        let types = try bench.ledger.read().records.map(\.draft.type)
        #expect(types.filter { $0 == .expired }.count == 1)
        #expect(!types.contains(.rejected) && !types.contains(.consumed))
    }

    @Test(arguments: Backend.available) func authorAndRunStarterCannotApproveTheirOwn(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        // carol is metadata.author of the fixture playbook.
        guard case .refused(.selfApproval) = try bench.decide(.approve, F.carol) else {
            Issue.record("author approved")
            return
        }
        let subject = F.subject()
        try bench.startRun("run-1", by: F.bob, subject: subject, at: 1)
        var forRun = subject
        forRun.run = "run-1"
        #expect(refusalCode(try bench.decide(.approve, F.bob, subject: forRun, at: 2)) == "self_approval")
        // An approval bob gave before starting the run does not count for his own run.
        let bench2 = try PolicyBench(backend)
        #expect(isRecorded(try bench2.decide(.approve, F.bob)))
        try bench2.startRun("run-1", by: F.bob, subject: subject, at: 1)
        #expect(try bench2.settle(subject, run: "run-1", by: F.bob, at: 2) == .pending(have: 0, need: 1))
    }

    @Test(arguments: Backend.available) func selfApprovalAllowedOnlyWhenBothPlaybookAndMachineAllowIt(_ backend: Backend) throws {
        var bench = try PolicyBench(backend)
        bench.policy = .loaded(MachinePolicy(allowSelfApproval: true))
        let selfAllowed = F.subject(safety: SafetySettings(allowSelfApproval: true, approvalTimeoutSeconds: 600, author: "carol"))
        #expect(isRecorded(try bench.decide(.approve, F.carol, subject: selfAllowed)))
        #expect(refusalCode(try bench.decide(.approve, F.carol, subject: F.subject())) == "self_approval")
    }

    @Test(arguments: Backend.available) func twoPersonRuleCountsDistinctAccounts(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        let subject = F.subject(approvals: 2)
        #expect(isRecorded(try bench.decide(.approve, F.alice, subject: subject)))
        // The same operator twice counts once: refused outright, also under an alias of the same uid.
        #expect(refusalCode(try bench.decide(.approve, F.alice, subject: subject, at: 1)) == "already_decided_by_you")
        #expect(refusalCode(try bench.decide(.approve, F.aliceAlias, subject: subject, at: 1)) == "already_decided_by_you")
        try bench.startRun("run-1", by: F.carol, subject: subject, at: 2)
        #expect(try bench.settle(subject, run: "run-1", by: F.carol, at: 3) == .pending(have: 1, need: 2))
        #expect(isRecorded(try bench.decide(.approve, F.bob, subject: subject, at: 4)))
        #expect(try bench.settle(subject, run: "run-1", by: F.carol, at: 5) == .approved(consumes: [1, 4]))
    }

    @Test(arguments: Backend.available) func duplicateApprovalsWrittenAroundPolicyStillCountOnce(_ backend: Backend) throws {
        // Even if two records by one account reach the ledger (an older wpk, a hand-made line),
        // the fold counts the account once.
        let bench = try PolicyBench(backend)
        let subject = F.subject(approvals: 2)
        let draft = try #require(
            { () -> RecordDraft? in
                if case .allowed(let d) = ApprovalPolicy.decide(
                    .approve, subject: subject, planPrefix: F.planPrefix, state: LedgerState(records: []),
                    policy: .loaded(.builtIn), operator: F.alice, now: F.t0)
                {
                    return d
                }
                return nil
            }())
        try bench.ledger.append(draft, operator: F.alice, now: F.t0)
        try bench.ledger.append(draft, operator: F.aliceAlias, now: F.t0)
        try bench.startRun("run-1", by: F.carol, subject: subject, at: 1)
        #expect(try bench.settle(subject, run: "run-1", by: F.carol, at: 2) == .pending(have: 1, need: 2))
    }

    @Test(arguments: Backend.available) func rejectionNeedsAReasonAndIsFinal(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        #expect(refusalCode(try bench.decide(.reject(reason: "  "), F.alice)) == "reason_required")
        #expect(isRecorded(try bench.decide(.reject(reason: "wrong cluster"), F.alice)))
        #expect(refusalCode(try bench.decide(.approve, F.bob, at: 1)) == "rejected")
        // Final for the whole plan: another step of it cannot be approved or pass either.
        let otherStep = F.subject(step: "cutover")
        #expect(refusalCode(try bench.decide(.approve, F.bob, subject: otherStep, at: 1)) == "rejected")
        let subject = F.subject()
        try bench.startRun("run-1", by: F.carol, subject: subject, at: 2)
        #expect(try bench.settle(subject, run: "run-1", by: F.carol, at: 3) == .rejected(seq: 1, by: "alice", reason: "wrong cluster"))
        #expect(try bench.settle(otherStep, run: "run-1", by: F.carol, at: 3) == .rejected(seq: 1, by: "alice", reason: "wrong cluster"))
        // A new plan is a new decision.
        #expect(
            isRecorded(try bench.decide(.approve, F.bob, subject: F.subject(planDigest: F.otherPlanDigest), prefix: "cccccccccccc", at: 4)))
    }

    @Test(arguments: Backend.available) func notGatedStepIsRefused(_ backend: Backend) throws {
        let bench = try PolicyBench(backend)
        #expect(refusalCode(try bench.decide(.approve, F.alice, subject: F.subject(gate: nil))) == "not_gated")
        #expect(
            refusalCode(try bench.decide(.approve, F.alice, subject: F.subject(gate: GateRequirement(required: false, approvals: 0))))
                == "not_gated")
        let written = bench.ledger.exists ? try bench.ledger.read().records.count : 0
        #expect(written == 0)
    }

    @Test(arguments: Backend.available) func approverGroupsComeFromTheMachinePolicy(_ backend: Backend) throws {
        var bench = try PolicyBench(backend)
        bench.policy = .loaded(MachinePolicy(approverGroups: ["sre"]))
        #expect(refusalCode(try bench.decide(.approve, Operator(uid: 1004, name: "dave", groups: ["dev"]))) == "not_an_approver")
        #expect(isRecorded(try bench.decide(.approve, F.alice)))
    }

    @Test(arguments: [
        (SafetySettings(approvalsRequired: 1), "approvals_required"),
        (SafetySettings(approvalsRequired: 2, allowSelfApproval: true), "allow_self_approval"),
        (SafetySettings(mode: .auto, approvalsRequired: 2), "mode"),
    ])
    func loosePlaybookIsRefusedByThePolicyFloor(_ safety: SafetySettings, _ setting: String) throws {
        // Refused before anything is read or written: the file backend stands for both.
        var bench = try PolicyBench(.file)
        bench.policy = .loaded(MachinePolicy(minApprovals: 2, source: "/etc/wpk/policy.yaml"))
        let subject = F.subject(safety: safety)
        guard case .refused(.loosensPolicy(let refused, _)) = try bench.decide(.approve, F.alice, subject: subject) else {
            Issue.record("a playbook looser than the floor was accepted")
            return
        }
        #expect(refused == setting)
        // A run of that playbook is refused by the same rule before it can wait at a gate.
        guard
            case .failure(.loosensPolicy(let runRefused, _)) = ApprovalPolicy.waitingDraft(
                subject: subject, policy: bench.policy, now: F.t0)
        else {
            Issue.record("a run of a loose playbook could wait at a gate")
            return
        }
        #expect(runRefused == setting)
    }

    @Test func tighterPlaybookRaisesTheCount() throws {
        let rules = try ApprovalPolicy.rules(for: LedgerFixtures.subject(approvals: 3), policy: .loaded(MachinePolicy(minApprovals: 2)))
            .get()
        #expect(rules.approvalsRequired == 3)
        let stepRules = try ApprovalPolicy.rules(
            for: LedgerFixtures.subject(gate: GateRequirement(required: true, approvals: 4)),
            policy: .loaded(.builtIn)
        ).get()
        #expect(stepRules.approvalsRequired == 4)
    }

    @Test(arguments: Backend.available) func unsafePolicyRefusesEverything(_ backend: Backend) throws {
        var bench = try PolicyBench(backend)
        bench.policy = .unsafe(path: "/etc/wpk/policy.yaml", reason: "it is writable by group or others")
        #expect(refusalCode(try bench.decide(.approve, F.alice)) == "policy_unsafe")
        #expect(refusalCode(try bench.decide(.reject(reason: "no"), F.alice)) == "policy_unsafe")
        #expect(
            ApprovalPolicy.gateStatus(subject: F.subject(run: "r"), state: LedgerState(records: []), policy: bench.policy, now: F.t0)
                == .refused(.policyUnsafe(path: "/etc/wpk/policy.yaml", reason: "it is writable by group or others")))
    }
}

@Suite("Ledger views for the CLI and TUI, on every backend")
struct LedgerViewTests {
    typealias F = LedgerFixtures

    @Test(arguments: Backend.available) func decisionsOnOlderDigestsAreStaleAndNotCurrent(_ backend: Backend) throws {
        let fresh = try BackendLedger(backend)
        let ledger = fresh.ledger
        let old = F.subject(planDigest: F.otherPlanDigest)
        _ = try ledger.recordDecision(
            .approve, subject: old, planPrefix: "cccccccccccc", policy: .loaded(.builtIn), operator: F.alice, now: F.t0)
        let state = LedgerState(records: try ledger.read().records)
        let view = state.decisions(for: F.subject())
        #expect(view.current == nil)
        #expect(view.stale.map(\.key.planDigest) == [F.otherPlanDigest])
    }

    @Test(arguments: Backend.available) func approvingAWaitingRunByIdCountsForThatRun(_ backend: Backend) throws {
        let fresh = try BackendLedger(backend)
        let ledger = fresh.ledger
        let subject = F.subject(approvals: 2)
        try ledger.append(
            RecordDraft(
                type: .runStarted, run: "r1", playbook: subject.playbook, playbookDigest: subject.playbookDigest,
                planDigest: subject.planDigest), operator: F.carol, now: F.t0)
        var waiting = subject
        waiting.run = "r1"
        try ledger.append(
            try ApprovalPolicy.waitingDraft(subject: waiting, policy: .loaded(.builtIn), now: F.t0).get(), operator: F.carol, now: F.t0)
        let state = LedgerState(records: try ledger.read().records)
        let rebuilt = try #require(state.waitingSubject(run: "r1", step: "migrate"))
        #expect(rebuilt.key == subject.key && rebuilt.gate == GateRequirement(required: true, approvals: 2) && rebuilt.run == "r1")
        #expect(rebuilt.safety.approvalTimeoutSeconds == 600)
        // The run's starter cannot approve it; two others can.
        #expect(
            try ledger.recordDecision(
                .approve, subject: rebuilt, planPrefix: F.planPrefix, policy: .loaded(.builtIn), operator: F.carol, now: F.t0)
                == .refused(.selfApproval(who: "carol", role: "started run r1")))
        for op in [F.alice, F.bob] {
            _ = try ledger.recordDecision(
                .approve, subject: rebuilt, planPrefix: F.planPrefix, policy: .loaded(.builtIn), operator: op, now: F.t0)
        }
        #expect(
            try ledger.settleGate(subject: waiting, policy: .loaded(.builtIn), operator: F.carol, now: F.t0.addingTimeInterval(1))
                == .approved(consumes: [3, 4]))
        #expect(state.waitingSubject(run: "nope", step: "migrate") == nil)
    }
}
