import Foundation
import Testing
@testable import WPKCore

/// Shorthands over a real ledger file in a temporary directory.
private struct PolicyBench {
    let dir = TemporaryDirectory()
    var ledger: Ledger { Ledger(path: dir.file("ledger.jsonl")) }
    var policy: MachinePolicyStatus = .loaded(.builtIn)

    func decide(_ verdict: Verdict = .approve, _ op: Operator, subject: GateSubject = LedgerFixtures.subject(),
                prefix: String = LedgerFixtures.planPrefix, shown: String? = nil, at seconds: Double = 0) throws -> DecisionOutcome {
        try ledger.recordDecision(verdict, subject: subject, planPrefix: prefix, shownPlaybookDigest: shown,
                                  policy: policy, operator: op, now: LedgerFixtures.t0.addingTimeInterval(seconds))
    }

    /// Starts a run and makes it wait at the subject's gate, as `wpk run` will.
    func startRun(_ id: String, by op: Operator, subject: GateSubject, at seconds: Double = 0) throws {
        let now = LedgerFixtures.t0.addingTimeInterval(seconds)
        try ledger.append(RecordDraft(type: .runStarted, run: id, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
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

@Suite("Ledger policy")
struct LedgerPolicyTests {
    typealias F = LedgerFixtures

    @Test func approvalIsRecordedWithItsBindingAndWindow() throws {
        let bench = PolicyBench()
        guard case .recorded(let record) = try bench.decide(.approve, F.alice) else { Issue.record("refused"); return }
        #expect(record.draft.type == .approved)
        #expect(record.draft.playbookDigest == F.playbookDigest && record.draft.planDigest == F.planDigest)
        #expect(record.draft.step == "migrate" && record.operatorName == "alice" && record.operatorUID == 1001)
        #expect(record.draft.expires == F.t0.addingTimeInterval(600))
        #expect(try bench.ledger.read().records == [record])
    }

    @Test func approvalCountsOnlyForTheExactDigestsAndIsSingleUse() throws {
        let bench = PolicyBench()
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

    @Test func staleApprovalDoesNotCountAndShowsStale() throws {
        let bench = PolicyBench()
        #expect(isRecorded(try bench.decide(.approve, F.alice)))
        // The file changed: the planner computes a new plan digest; the old approval is stale.
        let changed = F.subject(planDigest: F.otherPlanDigest)
        try bench.startRun("run-1", by: F.bob, subject: changed, at: 10)
        #expect(try bench.settle(changed, run: "run-1", by: F.bob, at: 11) == .pending(have: 0, need: 1))
        let overview = LedgerState(records: try bench.ledger.read().records).overview(at: F.t0.addingTimeInterval(12))
        #expect(overview.map(\.status) == [.pending, .stale])
        #expect(overview[0].gate.key.planDigest == F.otherPlanDigest)
    }

    @Test func staleDigestAndWrongPrefixAreRefused() throws {
        let bench = PolicyBench()
        #expect(refusalCode(try bench.decide(.approve, F.alice, shown: "sha256:" + String(repeating: "9", count: 64))) == "stale_digest")
        #expect(refusalCode(try bench.decide(.approve, F.alice, prefix: "3f2a9c1b7d4f")) == "wrong_plan_prefix")
        #expect(refusalCode(try bench.decide(.approve, F.alice, prefix: "3f2a9c")) == "plan_prefix_too_short")
        #expect(refusalCode(try bench.decide(.approve, F.alice, prefix: "3f2a9c1b7d4z")) == "plan_prefix_too_short")
        #expect(isRecorded(try bench.decide(.approve, F.alice, prefix: "sha256:3F2A9C1B7D4EBB")))
        #expect(try bench.ledger.read().records.count == 1)
    }

    @Test func expiredApprovalDoesNotCount() throws {
        let bench = PolicyBench()
        #expect(isRecorded(try bench.decide(.approve, F.alice)))
        let subject = F.subject()
        // Window is 600 s: the run starts after it closed.
        try bench.startRun("run-1", by: F.bob, subject: subject, at: 601)
        #expect(try bench.settle(subject, run: "run-1", by: F.bob, at: 602) == .pending(have: 0, need: 1))
    }

    @Test func gateDeadlineEndsAsExpiredOnceAndNeverProceeds() throws {
        let bench = PolicyBench()
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

    @Test func authorAndRunStarterCannotApproveTheirOwn() throws {
        let bench = PolicyBench()
        // carol is metadata.author of the fixture playbook.
        guard case .refused(.selfApproval) = try bench.decide(.approve, F.carol) else { Issue.record("author approved"); return }
        let subject = F.subject()
        try bench.startRun("run-1", by: F.bob, subject: subject, at: 1)
        var forRun = subject
        forRun.run = "run-1"
        #expect(refusalCode(try bench.decide(.approve, F.bob, subject: forRun, at: 2)) == "self_approval")
        // An approval bob gave before starting the run does not count for his own run.
        let bench2 = PolicyBench()
        #expect(isRecorded(try bench2.decide(.approve, F.bob)))
        try bench2.startRun("run-1", by: F.bob, subject: subject, at: 1)
        #expect(try bench2.settle(subject, run: "run-1", by: F.bob, at: 2) == .pending(have: 0, need: 1))
    }

    @Test func selfApprovalAllowedOnlyWhenBothPlaybookAndMachineAllowIt() throws {
        var bench = PolicyBench()
        bench.policy = .loaded(MachinePolicy(allowSelfApproval: true))
        let selfAllowed = F.subject(safety: SafetySettings(allowSelfApproval: true, approvalTimeoutSeconds: 600, author: "carol"))
        #expect(isRecorded(try bench.decide(.approve, F.carol, subject: selfAllowed)))
        #expect(refusalCode(try bench.decide(.approve, F.carol, subject: F.subject())) == "self_approval")
    }

    @Test func twoPersonRuleCountsDistinctAccounts() throws {
        let bench = PolicyBench()
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

    @Test func duplicateApprovalsWrittenAroundPolicyStillCountOnce() throws {
        // Even if two records by one account reach the ledger (an older wpk, a hand-made line),
        // the fold counts the account once.
        let bench = PolicyBench()
        let subject = F.subject(approvals: 2)
        let draft = try #require({ () -> RecordDraft? in
            if case .allowed(let d) = ApprovalPolicy.decide(.approve, subject: subject, planPrefix: F.planPrefix, state: LedgerState(records: []),
                                                           policy: .loaded(.builtIn), operator: F.alice, now: F.t0) { return d }
            return nil
        }())
        try bench.ledger.append(draft, operator: F.alice, now: F.t0)
        try bench.ledger.append(draft, operator: F.aliceAlias, now: F.t0)
        try bench.startRun("run-1", by: F.carol, subject: subject, at: 1)
        #expect(try bench.settle(subject, run: "run-1", by: F.carol, at: 2) == .pending(have: 1, need: 2))
    }

    @Test func rejectionNeedsAReasonAndIsFinal() throws {
        let bench = PolicyBench()
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
        #expect(isRecorded(try bench.decide(.approve, F.bob, subject: F.subject(planDigest: F.otherPlanDigest), prefix: "cccccccccccc", at: 4)))
    }

    @Test func notGatedStepIsRefused() throws {
        let bench = PolicyBench()
        #expect(refusalCode(try bench.decide(.approve, F.alice, subject: F.subject(gate: nil))) == "not_gated")
        #expect(refusalCode(try bench.decide(.approve, F.alice, subject: F.subject(gate: GateRequirement(required: false, approvals: 0)))) == "not_gated")
        let written = bench.ledger.exists ? try bench.ledger.read().records.count : 0
        #expect(written == 0)
    }

    @Test func approverGroupsComeFromTheMachinePolicy() throws {
        var bench = PolicyBench()
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
        var bench = PolicyBench()
        bench.policy = .loaded(MachinePolicy(minApprovals: 2, source: "/etc/wpk/policy.yaml"))
        let subject = F.subject(safety: safety)
        guard case .refused(.loosensPolicy(let refused, _)) = try bench.decide(.approve, F.alice, subject: subject) else {
            Issue.record("a playbook looser than the floor was accepted"); return
        }
        #expect(refused == setting)
        // A run of that playbook is refused by the same rule before it can wait at a gate.
        guard case .failure(.loosensPolicy(let runRefused, _)) = ApprovalPolicy.waitingDraft(subject: subject, policy: bench.policy, now: F.t0) else {
            Issue.record("a run of a loose playbook could wait at a gate"); return
        }
        #expect(runRefused == setting)
    }

    @Test func tighterPlaybookRaisesTheCount() throws {
        let rules = try ApprovalPolicy.rules(for: LedgerFixtures.subject(approvals: 3), policy: .loaded(MachinePolicy(minApprovals: 2))).get()
        #expect(rules.approvalsRequired == 3)
        let stepRules = try ApprovalPolicy.rules(for: LedgerFixtures.subject(gate: GateRequirement(required: true, approvals: 4)),
                                                 policy: .loaded(.builtIn)).get()
        #expect(stepRules.approvalsRequired == 4)
    }

    @Test func unsafePolicyRefusesEverything() throws {
        var bench = PolicyBench()
        bench.policy = .unsafe(path: "/etc/wpk/policy.yaml", reason: "it is writable by group or others")
        #expect(refusalCode(try bench.decide(.approve, F.alice)) == "policy_unsafe")
        #expect(refusalCode(try bench.decide(.reject(reason: "no"), F.alice)) == "policy_unsafe")
        #expect(ApprovalPolicy.gateStatus(subject: F.subject(run: "r"), state: LedgerState(records: []), policy: bench.policy, now: F.t0)
                == .refused(.policyUnsafe(path: "/etc/wpk/policy.yaml", reason: "it is writable by group or others")))
    }
}

/// A directory only root can write, all the way up (under /run, never /tmp, whose sticky
/// world-writable mode the policy loader refuses on the way), removed when dropped.
final class RootOwnedDirectory {
    let path: String

    init() throws {
        var template = Array("/run/wpk-policy-test-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: "mkdtemp under /run: \(String(cString: strerror(errno)))"])
        }
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        chmod(path, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Root can make files owned by root and other accounts; without root these tests cannot set up.
private let isRoot = getuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true"

@Suite("Machine policy file", .enabled(if: isRoot, "needs root: it makes root-owned policy files under /run and files owned by other uids"))
struct MachinePolicyFileTests {
    /// A policy file in its own root-owned directory; the directory lives as long as the value.
    private struct PolicyFile {
        let dir: RootOwnedDirectory
        var path: String { dir.file("policy.yaml") }
    }

    private func policyFile(_ text: String, mode: mode_t = 0o644, owner: uid_t = 0) throws -> PolicyFile {
        let dir = try RootOwnedDirectory()
        let path = dir.file("policy.yaml")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect(chmod(path, mode) == 0)
        #expect(chown(path, owner, gid_t(0)) == 0)
        return PolicyFile(dir: dir)
    }

    @Test func theBinaryReadsOnlyTheCompiledInPath() {
        #expect(MachinePolicy.path == "/etc/wpk/policy.yaml")
    }

    @Test func readsAllSettings() throws {
        let file = try policyFile("min_approvals: 2\nallow_self_approval: false\napprover_groups: [sre, oncall]\nmode: manual\n")
        #expect(MachinePolicy.load(path: file.path) == .loaded(MachinePolicy(minApprovals: 2, approverGroups: ["sre", "oncall"], source: file.path)))
    }

    @Test func readsTheTeamSettings() throws {
        let file = try policyFile("""
            gate: destructive
            ledger: /var/lib/wpk/ledger.jsonl
            ledger_password_file: /etc/wpk/ledger-password
            require_append_only: true
            allowed_signers: /etc/wpk/allowed_signers
            trusted_keys: /etc/wpk/trusted-keys/
            require_signed_playbooks: true
            serve_token_file: /etc/wpk/serve-token

            """)
        #expect(MachinePolicy.load(path: file.path) == .loaded(MachinePolicy(
            gate: .destructive, ledger: "/var/lib/wpk/ledger.jsonl", ledgerPasswordFile: "/etc/wpk/ledger-password",
            requireAppendOnly: true, allowedSigners: "/etc/wpk/allowed_signers", trustedKeys: "/etc/wpk/trusted-keys/",
            requireSignedPlaybooks: true, serveTokenFile: "/etc/wpk/serve-token", source: file.path)))
        #expect(MachinePolicy.builtIn.gate == .mutating && MachinePolicy.builtIn.ledger == nil && MachinePolicy.builtIn.allowedSigners == nil)
    }

    @Test func anAbsentFileOrDirectoryMeansBuiltInDefaults() throws {
        let dir = try RootOwnedDirectory()
        #expect(MachinePolicy.load(path: dir.file("policy.yaml")) == .loaded(.builtIn))
        #expect(MachinePolicy.load(path: dir.file("wpk/policy.yaml")) == .loaded(.builtIn))
        #expect(MachinePolicy.builtIn.minApprovals == 1 && !MachinePolicy.builtIn.allowSelfApproval && !MachinePolicy.builtIn.allowAutoMode)
    }

    @Test(arguments: [
        ("min_approvals: 2\n", mode_t(0o664), uid_t(0), "writable by group or others"),
        ("min_approvals: 2\n", mode_t(0o646), uid_t(0), "writable by group or others"),
        ("min_approvals: 2\n", mode_t(0o644), uid_t(4242), "not by root"),
        ("min_approvals: [\n", mode_t(0o644), uid_t(0), "not valid YAML"),
        ("min_aprovals: 2\n", mode_t(0o644), uid_t(0), "unknown setting"),
        ("min_approvals: 0\n", mode_t(0o644), uid_t(0), "from 1 to 100"),
        ("allow_self_approval: yes\n", mode_t(0o644), uid_t(0), "true or false"),
        ("- 1\n", mode_t(0o644), uid_t(0), "not a mapping"),
        ("gate: none\n", mode_t(0o644), uid_t(0), "mutating or destructive"),
        ("ledger: relative/ledger.jsonl\n", mode_t(0o644), uid_t(0), "absolute file path"),
        ("allowed_signers: signers\n", mode_t(0o644), uid_t(0), "absolute path"),
        ("require_signed_playbooks: yes\n", mode_t(0o644), uid_t(0), "true or false"),
    ])
    func unsafeOrBrokenFileFailsClosed(_ text: String, _ mode: mode_t, _ owner: uid_t, _ reasonContains: String) throws {
        let file = try policyFile(text, mode: mode, owner: owner)
        guard case .unsafe(_, let reason) = MachinePolicy.load(path: file.path) else { Issue.record("accepted"); return }
        #expect(reason.contains(reasonContains), "\(reason)")
    }

    @Test func anOversizedFileIsRefused() throws {
        let file = try policyFile(String(repeating: "# padding\n", count: 7000))
        guard case .unsafe(_, let reason) = MachinePolicy.load(path: file.path) else { Issue.record("accepted"); return }
        #expect(reason == "it is larger than 65536 bytes")
    }

    @Test func aDirectoryOnTheWayThatSomeoneElseCouldWriteFailsClosedEvenWithoutAFile() throws {
        let file = try policyFile("min_approvals: 2\n")
        let inner = file.dir.file("wpk")
        #expect(mkdir(inner, 0o755) == 0)
        try Data("min_approvals: 2\n".utf8).write(to: URL(fileURLWithPath: inner + "/policy.yaml"))
        #expect(chmod(inner, 0o775) == 0)
        guard case .unsafe(_, let groupWritable) = MachinePolicy.load(path: inner + "/policy.yaml") else { Issue.record("accepted"); return }
        #expect(groupWritable.contains("the directory \(inner) is writable by group or others (mode 775); fix with: chmod go-w \(inner)"))
        #expect(chmod(inner, 0o755) == 0 && chown(inner, 4242, 0) == 0)
        // Its owner could delete the file and so fall back to the defaults: refused even when the file is gone.
        #expect(unlink(inner + "/policy.yaml") == 0)
        guard case .unsafe(_, let foreign) = MachinePolicy.load(path: inner + "/policy.yaml") else { Issue.record("accepted"); return }
        #expect(foreign.contains("owned by uid 4242, not by root"))
        // /tmp is writable by everyone (sticky or not): never on the way to a policy.
        let inTmp = TemporaryDirectory()
        guard case .unsafe(_, let tmp) = MachinePolicy.load(path: inTmp.file("policy.yaml")) else { Issue.record("accepted"); return }
        #expect(tmp.contains("writable by group or others"), "\(tmp)")
    }

    @Test func symbolicLinksAreNeverFollowed() throws {
        let file = try policyFile("min_approvals: 2\n")
        let link = file.dir.file("link.yaml")
        #expect(symlink(file.path, link) == 0)
        guard case .unsafe(_, let reason) = MachinePolicy.load(path: link) else { Issue.record("a symbolic link was followed"); return }
        #expect(reason.contains("symbolic link"))
        let linkedDirectory = file.dir.file("etc-wpk")
        #expect(symlink(file.dir.path, linkedDirectory) == 0)
        guard case .unsafe(_, let directoryReason) = MachinePolicy.load(path: linkedDirectory + "/policy.yaml") else {
            Issue.record("a symbolic link to a directory was followed"); return
        }
        #expect(directoryReason.contains("\(linkedDirectory) is a symbolic link"))
    }

    @Test func specialAndGeneratedFilesAreRefusedWithoutHanging() throws {
        let dir = try RootOwnedDirectory()
        #expect(mkfifo(dir.file("policy.yaml"), 0o644) == 0)
        guard case .unsafe(_, let fifo) = MachinePolicy.load(path: dir.file("policy.yaml")) else { Issue.record("a FIFO was read"); return }
        #expect(fifo.contains("not a regular file"))
        guard case .unsafe = MachinePolicy.load(path: dir.path) else { Issue.record("a directory was accepted"); return }
        // A root-owned, 0644 regular file whose text the process chooses (attack 2 of issue 13).
        guard case .unsafe(_, let proc) = MachinePolicy.load(path: "/proc/\(getpid())/comm") else { Issue.record("/proc comm was accepted"); return }
        #expect(proc.contains("proc pseudo file system"), "\(proc)")
    }

    /// The old loader checked the name with stat and opened it again: swapping a symbolic link in
    /// between won. Now the file is opened once and checked on the descriptor, so a swap loop
    /// produces the real policy or a refusal, never the linked file's settings.
    @Test func aSymbolicLinkSwappedInALoopNeverWins() throws {
        let dir = try RootOwnedDirectory()
        let real = dir.file("real.yaml"), forged = dir.file("forged.yaml"), target = dir.file("policy.yaml")
        try Data("min_approvals: 2\n".utf8).write(to: URL(fileURLWithPath: real))
        // Even root-owned and 0644: the link itself is what must never be followed.
        try Data("mode: auto\n".utf8).write(to: URL(fileURLWithPath: forged))
        chmod(real, 0o644); chmod(forged, 0o644)
        let stop = ManagedAtomicFlag()
        let staged = dir.file("staged")
        let swapper = Thread {
            var useLink = false
            while !stop.isSet {
                unlink(staged)
                if useLink { _ = symlink(forged, staged) } else { _ = link(real, staged) }
                _ = rename(staged, target)
                useLink.toggle()
            }
        }
        swapper.start()
        defer { stop.set() }
        var loaded = 0, refused = 0
        let deadline = Date().addingTimeInterval(20)
        while (loaded < 50 || refused < 50) && Date() < deadline {
            switch MachinePolicy.load(path: target) {
            case .loaded(let policy):
                #expect(!policy.allowAutoMode && (policy.minApprovals == 2 || policy == .builtIn), "the forged policy was read")
                loaded += 1
            case .unsafe:
                refused += 1
            }
        }
        #expect(loaded >= 50 && refused >= 50, "the race was not exercised: \(loaded) loaded, \(refused) refused")
    }
}

/// A flag one thread sets and another reads.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

@Suite("Ledger views for the CLI and TUI")
struct LedgerViewTests {
    typealias F = LedgerFixtures

    @Test func decisionsOnOlderDigestsAreStaleAndNotCurrent() throws {
        let dir = TemporaryDirectory()
        let ledger = Ledger(path: dir.file("ledger.jsonl"))
        let old = F.subject(planDigest: F.otherPlanDigest)
        _ = try ledger.recordDecision(.approve, subject: old, planPrefix: "cccccccccccc", policy: .loaded(.builtIn), operator: F.alice, now: F.t0)
        let state = LedgerState(records: try ledger.read().records)
        let view = state.decisions(for: F.subject())
        #expect(view.current == nil)
        #expect(view.stale.map(\.key.planDigest) == [F.otherPlanDigest])
    }

    @Test func approvingAWaitingRunByIdCountsForThatRun() throws {
        let dir = TemporaryDirectory()
        let ledger = Ledger(path: dir.file("ledger.jsonl"))
        let subject = F.subject(approvals: 2)
        try ledger.append(RecordDraft(type: .runStarted, run: "r1", playbook: subject.playbook, playbookDigest: subject.playbookDigest,
                                      planDigest: subject.planDigest), operator: F.carol, now: F.t0)
        var waiting = subject
        waiting.run = "r1"
        try ledger.append(try ApprovalPolicy.waitingDraft(subject: waiting, policy: .loaded(.builtIn), now: F.t0).get(), operator: F.carol, now: F.t0)
        let state = LedgerState(records: try ledger.read().records)
        let rebuilt = try #require(state.waitingSubject(run: "r1", step: "migrate"))
        #expect(rebuilt.key == subject.key && rebuilt.gate == GateRequirement(required: true, approvals: 2) && rebuilt.run == "r1")
        #expect(rebuilt.safety.approvalTimeoutSeconds == 600)
        // The run's starter cannot approve it; two others can.
        #expect(try ledger.recordDecision(.approve, subject: rebuilt, planPrefix: F.planPrefix, policy: .loaded(.builtIn), operator: F.carol, now: F.t0)
                == .refused(.selfApproval(who: "carol", role: "started run r1")))
        for op in [F.alice, F.bob] {
            _ = try ledger.recordDecision(.approve, subject: rebuilt, planPrefix: F.planPrefix, policy: .loaded(.builtIn), operator: op, now: F.t0)
        }
        #expect(try ledger.settleGate(subject: waiting, policy: .loaded(.builtIn), operator: F.carol, now: F.t0.addingTimeInterval(1)) == .approved(consumes: [3, 4]))
        #expect(state.waitingSubject(run: "nope", step: "migrate") == nil)
    }
}
