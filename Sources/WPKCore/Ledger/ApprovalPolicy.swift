import Foundation

/// A playbook's safety settings, as the planner reads them from `spec.safety` and `metadata`.
public struct SafetySettings: Sendable, Equatable {
    /// Playbook execution mode: `auto` needs the machine policy's consent.
    public typealias Mode = Playbook.Mode

    public var mode: Mode
    /// Distinct approvals each gated step needs.
    public var approvalsRequired: Int
    /// Whether the author or the run's starter may approve.
    public var allowSelfApproval: Bool
    /// How long an approval counts, and how long a run waits at a gate.
    public var approvalTimeoutSeconds: Int
    /// `metadata.author`: the account that wrote the playbook.
    public var author: String?

    public init(
        mode: Mode = .manual, approvalsRequired: Int = 1, allowSelfApproval: Bool = false,
        approvalTimeoutSeconds: Int = 3600, author: String? = nil
    ) {
        self.mode = mode
        self.approvalsRequired = approvalsRequired
        self.allowSelfApproval = allowSelfApproval
        self.approvalTimeoutSeconds = approvalTimeoutSeconds
        self.author = author
    }
}

/// The gate of one plan step (the plan's `gate` object).
public struct GateRequirement: Sendable, Equatable {
    public var required: Bool
    public var approvals: Int

    public init(required: Bool, approvals: Int) {
        self.required = required
        self.approvals = approvals
    }
}

/// The step a decision or a wait is about, with everything policy needs to know of it. The
/// planner, CLI, TUI and run fill it from the current file and plan, never from the ledger.
public struct GateSubject: Sendable, Equatable {
    /// `metadata.name`, used to show older decisions as stale.
    public var playbook: String
    /// `sha256:<hex>` of the playbook file's bytes as read now.
    public var playbookDigest: String
    /// The plan digest computed now.
    public var planDigest: String
    public var step: String
    /// The step's gate; nil when the step has none.
    public var gate: GateRequirement?
    public var safety: SafetySettings
    /// The run this is about (`--run`, or the run waiting at the gate).
    public var run: String?

    public init(
        playbook: String, playbookDigest: String, planDigest: String, step: String,
        gate: GateRequirement?, safety: SafetySettings, run: String? = nil
    ) {
        self.playbook = playbook
        self.playbookDigest = playbookDigest
        self.planDigest = planDigest
        self.step = step
        self.gate = gate
        self.safety = safety
        self.run = run
    }

    /// The ledger key of this step.
    public var key: GateKey { GateKey(playbookDigest: playbookDigest, planDigest: planDigest, step: step) }

    /// The ledger key of the whole plan.
    public var planKey: PlanKey { PlanKey(playbookDigest: playbookDigest, planDigest: planDigest) }
}

/// What an operator decides on a gated step.
public enum Verdict: Sendable, Equatable {
    case approve
    /// A rejection needs a reason; it is final for the plan digest.
    case reject(reason: String)
}

/// Why policy refuses a decision or a run; each case carries its own text for the operator.
public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    case policyUnsafe(path: String, reason: String)
    case loosensPolicy(setting: String, detail: String)
    case notGated(step: String)
    case planPrefixTooShort(given: String)
    case wrongPlanPrefix(given: String, current: String)
    case staleDigest(shown: String, current: String)
    case notAnApprover(groups: [String])
    case selfApproval(who: String, role: String)
    case alreadyDecidedByYou(seq: Int)
    case alreadyRejected(seq: Int, by: String, reason: String)
    case expired(deadline: Date)
    case unknownRun(run: String)
    case runEnded(run: String, how: String)
    case reasonRequired
    case tooLong(field: String, limit: Int)
    /// The policy names allowed_signers, and the decision is not signed.
    case signatureRequired(path: String)
    /// The policy's allowed_signers cannot be read or trusted.
    case signersUnavailable(reason: String)

    /// The stable name of the refusal (for JSON output and tests).
    public var code: String {
        switch self {
        case .policyUnsafe: "policy_unsafe"
        case .loosensPolicy: "loosens_policy"
        case .notGated: "not_gated"
        case .planPrefixTooShort: "plan_prefix_too_short"
        case .wrongPlanPrefix: "wrong_plan_prefix"
        case .staleDigest: "stale_digest"
        case .notAnApprover: "not_an_approver"
        case .selfApproval: "self_approval"
        case .alreadyDecidedByYou: "already_decided_by_you"
        case .alreadyRejected: "rejected"
        case .expired: "expired"
        case .unknownRun: "unknown_run"
        case .runEnded: "run_ended"
        case .reasonRequired: "reason_required"
        case .tooLong: "too_long"
        case .signatureRequired: "signature_required"
        case .signersUnavailable: "signers_unavailable"
        }
    }

    /// What the operator reads (untrusted parts sanitized).
    public var description: String {
        let s = DisplaySanitizer.sanitize
        switch self {
        case .policyUnsafe(let path, let reason):
            return "the machine policy \(s(path)) cannot be trusted, so every approval and run is refused: \(reason)"
        case .loosensPolicy(let setting, let detail):
            return "the playbook's \(setting) is looser than the machine policy allows: \(detail)"
        case .notGated(let step):
            return "step \"\(s(step))\" is not a gated step; there is nothing to approve"
        case .planPrefixTooShort(let given):
            return
                "--plan \"\(s(given))\" must be at least \(ApprovalPolicy.minimumPrefixDigits) hex digits of the plan digest `wpk plan` prints"
        case .wrongPlanPrefix(let given, let current):
            return
                "--plan \(s(given)) does not match the current plan \(current.prefix(19))…: the playbook or its plan changed since you looked; review the plan again"
        case .staleDigest(let shown, let current):
            return "stale digest: you were shown \(shown.prefix(19))… but the content is now \(current.prefix(19))…; review it again"
        case .notAnApprover(let groups):
            return "your account is not in any approver group of the machine policy (\(groups.map(s).joined(separator: ", ")))"
        case .selfApproval(let who, let role):
            return "\(s(who)) \(role) and may not approve it (self-approval is not allowed)"
        case .alreadyDecidedByYou(let seq):
            return "already decided by you (record \(seq)); a second approval by the same operator does not count"
        case .alreadyRejected(let seq, let by, let reason):
            return "this plan was rejected by \(s(by)) (record \(seq)): \(s(reason)); a rejection is final for this plan digest"
        case .expired(let deadline):
            return "expired: the approval deadline \(RFC3339.format(deadline)) has passed"
        case .unknownRun(let run):
            return "no run \(s(run)) in the ledger"
        case .runEnded(let run, let how):
            return "run \(s(run)) has already ended (\(how))"
        case .reasonRequired:
            return "a rejection needs a reason (--reason)"
        case .tooLong(let field, let limit):
            return "the \(field) is longer than \(limit) characters"
        case .signatureRequired(let path):
            return
                "the machine policy requires signed decisions (allowed_signers \(s(path))): sign with --key FILE, WPK_SIGNING_KEY, an SSH agent key listed there, or ~/.ssh/id_ed25519"
        case .signersUnavailable(let reason):
            return "no decision can count: \(s(reason))"
        }
    }
}

/// The outcome of asking policy about a decision.
public enum PolicyDecision: Sendable, Equatable {
    /// Allowed: the record to write.
    case allowed(RecordDraft)
    case refused(Refusal)
}

/// Where a run stands at a gate.
public enum GateStatus: Sendable, Equatable {
    /// Enough valid approvals: these (by seq) are the ones the run uses.
    case approved(consumes: [Int])
    /// Still waiting: `have` of `need` distinct valid approvals.
    case pending(have: Int, need: Int)
    case rejected(seq: Int, by: String, reason: String)
    /// The deadline passed without enough approvals; never proceeds.
    case expired(deadline: Date)
    /// The run ended (cancelled or finished) while waiting.
    case ended(how: String)
    /// Policy forbids this run at all.
    case refused(Refusal)
}

/// The rules that apply to one gate once the machine floor and the playbook are combined.
public struct EffectiveRules: Sendable, Equatable {
    public var approvalsRequired: Int
    public var allowSelfApproval: Bool
    public var approverGroups: [String]?
    public var windowSeconds: Int
}

/// The one place that decides who may approve what, and when a gate may open. The CLI, the
/// TUI and the run all go through it (via `Ledger.recordDecision` and `Ledger.settleGate`).
public enum ApprovalPolicy {
    /// Fewest hex digits of a plan digest an operator must quote.
    public static let minimumPrefixDigits = 12
    /// Longest reason accepted, in characters.
    public static let maxReasonLength = 2000

    /// Combines the machine floor with the playbook; a playbook that asks for less is refused,
    /// not silently raised, so its author learns the machine's rules.
    public static func rules(for subject: GateSubject, policy status: MachinePolicyStatus) -> Result<EffectiveRules, Refusal> {
        guard case .loaded(let machine) = status else {
            if case .unsafe(let path, let reason) = status { return .failure(.policyUnsafe(path: path, reason: reason)) }
            return .failure(.policyUnsafe(path: "?", reason: "unknown"))
        }
        let floorSource = machine.source ?? "the built-in defaults"
        let safety = subject.safety
        if safety.approvalsRequired < machine.minApprovals {
            return .failure(
                .loosensPolicy(
                    setting: "approvals_required",
                    detail: "\(safety.approvalsRequired) is below the minimum of \(machine.minApprovals) set by \(floorSource)"))
        }
        if safety.allowSelfApproval && !machine.allowSelfApproval {
            return .failure(.loosensPolicy(setting: "allow_self_approval", detail: "\(floorSource) forbids self-approval"))
        }
        if safety.mode == .auto && !machine.allowAutoMode {
            return .failure(.loosensPolicy(setting: "mode", detail: "auto mode is not allowed by \(floorSource) (manual mode)"))
        }
        let required = max(machine.minApprovals, safety.approvalsRequired, subject.gate?.approvals ?? 0)
        return .success(
            EffectiveRules(
                approvalsRequired: required,
                allowSelfApproval: safety.allowSelfApproval && machine.allowSelfApproval,
                approverGroups: machine.approverGroups,
                windowSeconds: max(1, safety.approvalTimeoutSeconds)))
    }

    /// Decides whether `op` may approve or reject the step; `planPrefix` is what the operator
    /// quoted (`--plan`), `shownPlaybookDigest` the digest on their screen when it was loaded
    /// earlier (the TUI), nil when the file was read just now.
    public static func decide(
        _ verdict: Verdict, subject: GateSubject, planPrefix: String, shownPlaybookDigest: String? = nil,
        state: LedgerState, policy status: MachinePolicyStatus, operator op: Operator, now: Date,
        principal: String? = nil, signers given: SignerPolicy? = nil
    ) -> PolicyDecision {
        if case .unsafe(let path, let reason) = status { return .refused(.policyUnsafe(path: path, reason: reason)) }
        if state.lacksRecords { return .refused(.signersUnavailable(reason: ApprovalPolicy.restoredStateReason)) }
        let signers = given ?? SignerPolicy.of(status)
        if case .unavailable(let reason) = signers { return .refused(.signersUnavailable(reason: reason)) }
        if signers.requiresSignatures, principal == nil, case .loaded(let machine) = status {
            return .refused(.signatureRequired(path: machine.allowedSigners ?? "?"))
        }
        let me = Person(account: op, principal: principal)
        guard let gate = subject.gate, gate.required else { return .refused(.notGated(step: subject.step)) }
        var reason: String?
        if case .reject(let given) = verdict {
            guard !given.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return .refused(.reasonRequired) }
            guard given.count <= maxReasonLength else { return .refused(.tooLong(field: "reason", limit: maxReasonLength)) }
            reason = given
        }
        if let refusal = checkPrefix(planPrefix, planDigest: subject.planDigest) { return .refused(refusal) }
        if let shown = shownPlaybookDigest, shown != subject.playbookDigest {
            return .refused(.staleDigest(shown: shown, current: subject.playbookDigest))
        }
        let rules: EffectiveRules
        switch self.rules(for: subject, policy: status) {
        case .success(let r): rules = r
        case .failure(let refusal): return .refused(refusal)
        }
        if let groups = rules.approverGroups, Set(groups).isDisjoint(with: op.groups) {
            return .refused(.notAnApprover(groups: groups))
        }
        let gateHistory = state.gates[subject.key]
        if let run = subject.run {
            guard let history = state.runs[run] else { return .refused(.unknownRun(run: run)) }
            if history.playbookDigest != subject.playbookDigest {
                return .refused(.staleDigest(shown: history.playbookDigest ?? "none", current: subject.playbookDigest))
            }
            if history.planDigest != subject.planDigest {
                return .refused(.staleDigest(shown: history.planDigest ?? "none", current: subject.planDigest))
            }
            if let ended = history.ended { return .refused(.runEnded(run: run, how: ended.type.name)) }
            if let waiting = gateHistory?.waiting.last(where: { $0.run == run }) {
                if gateHistory?.expiredRuns[run] != nil || waiting.deadline.map({ now >= $0 }) == true {
                    return .refused(.expired(deadline: waiting.deadline ?? waiting.since))
                }
            }
            if !rules.allowSelfApproval, starter(of: history, signers: signers).isSame(as: me), verdict == .approve {
                return .refused(.selfApproval(who: me.displayName, role: "started run \(run)"))
            }
        }
        if !rules.allowSelfApproval, verdict == .approve, let author = subject.safety.author, me.isAuthor(author) {
            return .refused(.selfApproval(who: me.displayName, role: "is the author of this playbook (metadata.author \(author))"))
        }
        if let rejection = countedRejection(of: subject.planKey, in: state, signers: signers) {
            return .refused(.alreadyRejected(seq: rejection.seq, by: rejection.rejecter.name, reason: rejection.reason))
        }
        // A live approval of yours already counts; a second one must not look like a second person.
        // Rejecting after approving stays possible: changing one's mind towards safety is allowed.
        if verdict == .approve,
            let mine = gateHistory?.approvals.first(where: {
                guard $0.isLive(at: now) else { return false }
                let principal = $0.record.flatMap { try? signers.principal(of: $0).get() }
                return Person(account: $0.approver, principal: principal).isSame(as: me)
            })
        {
            return .refused(.alreadyDecidedByYou(seq: mine.seq))
        }
        let type: RecordType = verdict == .approve ? .approved : .rejected
        return .allowed(
            RecordDraft(
                type: type, run: subject.run, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
                planDigest: subject.planDigest, step: subject.step, reason: reason,
                approvalsRequired: rules.approvalsRequired,
                expires: verdict == .approve ? now.addingTimeInterval(TimeInterval(rules.windowSeconds)) : nil))
    }

    /// The run's starter as a person: the account, and the principal of a `run_started` signature that verifies.
    static func starter(of history: RunHistory, signers: SignerPolicy) -> Person {
        let principal = history.startRecord.flatMap { try? signers.principal(of: $0).get() }
        return Person(account: history.starter, principal: principal)
    }

    /// The rejection that is final for a plan: the first one, or where signatures are required,
    /// the first whose signature verifies (a forged rejection stops nothing, nor does it count).
    static func countedRejection(of plan: PlanKey, in state: LedgerState, signers: SignerPolicy) -> RejectionEntry? {
        guard signers.requiresSignatures else { return state.planRejections[plan] }
        return state.planRejectionHistory[plan]?.first { rejection in
            rejection.record.map { (try? signers.principal(of: $0).get()) != nil } ?? false
        }
    }

    /// Which live approvals of a gate count for `run`, and why each other one does not. Every
    /// rule is applied again here, whatever the approver's environment was when approving: the
    /// signature (where required), `approver_groups` through the group database, self-approval by
    /// the starter or the author, and one approval per person (account or principal).
    static func tally(
        gate: GateHistory?, run: String, history: RunHistory, subject: GateSubject, rules: EffectiveRules,
        signers: SignerPolicy, now: Date
    ) -> (counted: [Int], discounted: [(seq: Int, reason: String)]) {
        let starter = starter(of: history, signers: signers)
        var people: [(seq: Int, person: Person)] = []
        var discounted: [(seq: Int, reason: String)] = []
        for approval in gate?.approvals ?? [] where approval.isLive(at: now) {
            if approval.run != nil && approval.run != run { continue }
            let who = DisplaySanitizer.sanitize(approval.approver.name)
            func discount(_ reason: String) {
                discounted.append((approval.seq, "approval \(approval.seq) by \(who) does not count: \(reason)"))
            }
            guard let record = approval.record else { continue }
            let principal: String?
            switch signers.principal(of: record) {
            case .success(let verified): principal = verified
            case .failure(let error):
                discount(error.description)
                continue
            }
            let person = Person(account: approval.approver, principal: principal)
            if let groups = rules.approverGroups {
                guard let uid = approval.approver.uid, let memberOf = Operator.groups(ofUID: uid) else {
                    discount(
                        "its account (uid \(approval.approver.uid.map(String.init) ?? "none")) does not exist on this machine, so it is in no approver group"
                    )
                    continue
                }
                if Set(groups).isDisjoint(with: memberOf) {
                    discount("\(who) is not in an approver group of the machine policy (\(groups.joined(separator: ", ")))")
                    continue
                }
            }
            if !rules.allowSelfApproval {
                if person.isSame(as: starter) {
                    discount("\(person.displayName) started this run (self-approval is not allowed)")
                    continue
                }
                if let author = subject.safety.author, person.isAuthor(author) {
                    discount(
                        "\(person.displayName) is the playbook's author \(DisplaySanitizer.sanitize(author)) (self-approval is not allowed)"
                    )
                    continue
                }
            }
            if let earlier = people.first(where: { $0.person.isSame(as: person) }) {
                discount("the same person as approval \(earlier.seq) (one approval per account and principal)")
                continue
            }
            people.append((approval.seq, person))
        }
        return (people.map(\.seq), discounted)
    }

    /// Why a state restored from a snapshot is refused: its signatures cannot be checked.
    static let restoredStateReason =
        "the ledger state was restored from a snapshot without the records that carry signatures; read the whole ledger"

    /// Why approvals at a waiting run's gate do not count (forged, unsigned, not an approver,
    /// self-approval, a second approval by one person), one sentence each, for the run and lists.
    public static func discountedApprovals(subject: GateSubject, state: LedgerState, policy status: MachinePolicyStatus, now: Date) -> [(
        seq: Int, reason: String
    )] {
        guard case .success(let rules) = rules(for: subject, policy: status), let run = subject.run, let history = state.runs[run] else {
            return []
        }
        var discounted = tally(
            gate: state.gates[subject.key], run: run, history: history, subject: subject, rules: rules,
            signers: SignerPolicy.of(status), now: now
        ).discounted
        // Approvals of the same playbook and step for another plan: the inputs, or the tools, files
        // or kubeconfig the plan binds, differ from what the approver planned with.
        for (key, gate) in state.gates
        where key.playbookDigest == subject.playbookDigest && key.step == subject.step && key.planDigest != subject.planDigest {
            for approval in gate.approvals where approval.isLive(at: now) && (approval.run == nil || approval.run == run) {
                discounted.append(
                    (
                        approval.seq,
                        "approval \(approval.seq) by \(DisplaySanitizer.sanitize(approval.approver.name)) does not count: it is for plan \(Plan.fingerprint(of: key.planDigest)), not this run's plan \(Plan.fingerprint(of: subject.planDigest)); the playbook is the same, so its inputs or the tools, files or kubeconfig the plan binds differ (compare the bindings of wpk plan)"
                    ))
            }
        }
        return discounted
    }

    /// Refuses a `--plan` prefix that is too short, not hex, or not the current plan's.
    static func checkPrefix(_ given: String, planDigest: String) -> Refusal? {
        let trimmed = given.hasPrefix("sha256:") ? String(given.dropFirst(7)) : given
        let hex = trimmed.lowercased()
        guard hex.count >= minimumPrefixDigits, hex.count <= 64, hex.allSatisfy({ $0.isHexDigit && $0.isASCII }) else {
            return .planPrefixTooShort(given: given)
        }
        let currentHex = planDigest.hasPrefix("sha256:") ? String(planDigest.dropFirst(7)) : planDigest
        return currentHex.hasPrefix(hex) ? nil : .wrongPlanPrefix(given: given, current: planDigest)
    }

    /// The `waiting` record a run writes when it reaches a gate: its deadline is now plus the
    /// approval window, and it states how many approvals the gate needs.
    public static func waitingDraft(subject: GateSubject, policy status: MachinePolicyStatus, now: Date) -> Result<RecordDraft, Refusal> {
        rules(for: subject, policy: status).map { rules in
            RecordDraft(
                type: .waiting, run: subject.run, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
                planDigest: subject.planDigest, step: subject.step, approvalsRequired: rules.approvalsRequired,
                expires: now.addingTimeInterval(TimeInterval(rules.windowSeconds)))
        }
    }

    /// Where the run in `subject.run` stands at the gate at `now`. Counts only live approvals
    /// for the exact digests and step, from distinct accounts, none by the author or the run's
    /// starter unless self-approval is allowed.
    /// `signers` defaults to what the policy names (tests pass a file's text instead).
    public static func gateStatus(
        subject: GateSubject, state: LedgerState, policy status: MachinePolicyStatus, now: Date,
        signers given: SignerPolicy? = nil
    ) -> GateStatus {
        let rules: EffectiveRules
        switch self.rules(for: subject, policy: status) {
        case .success(let r): rules = r
        case .failure(let refusal): return .refused(refusal)
        }
        if state.lacksRecords { return .refused(.signersUnavailable(reason: ApprovalPolicy.restoredStateReason)) }
        guard let run = subject.run, let history = state.runs[run] else {
            return .refused(.unknownRun(run: subject.run ?? "(none)"))
        }
        if history.playbookDigest != subject.playbookDigest || history.planDigest != subject.planDigest {
            return .refused(.staleDigest(shown: history.planDigest ?? "none", current: subject.planDigest))
        }
        let gate = state.gates[subject.key]
        let signers = given ?? SignerPolicy.of(status)
        if case .unavailable(let reason) = signers { return .refused(.signersUnavailable(reason: reason)) }
        if let rejection = countedRejection(of: subject.planKey, in: state, signers: signers) {
            return .rejected(seq: rejection.seq, by: rejection.rejecter.name, reason: rejection.reason)
        }
        if let ended = history.ended { return .ended(how: ended.type.name) }
        let waiting = gate?.waiting.last { $0.run == run }
        let deadline = waiting?.deadline ?? history.startedAt.addingTimeInterval(TimeInterval(rules.windowSeconds))
        if gate?.expiredRuns[run] != nil || now >= deadline { return .expired(deadline: deadline) }
        let tally = self.tally(gate: gate, run: run, history: history, subject: subject, rules: rules, signers: signers, now: now)
        let counted = tally.counted
        if counted.count >= rules.approvalsRequired { return .approved(consumes: Array(counted.prefix(rules.approvalsRequired))) }
        return .pending(have: counted.count, need: rules.approvalsRequired)
    }
}

/// What became of a decision: written to the ledger, or refused with a reason.
public enum DecisionOutcome: Sendable, Equatable {
    case recorded(LedgerRecord)
    case refused(Refusal)
}

extension LedgerBackend {
    /// Records an approval or rejection if policy allows it, checking and writing under one lock.
    /// This is what `wpk approve`, `wpk reject` and the TUI's `a`/`r` call.
    /// `includesRollback` names the rollback steps undoing this step that an approval covers
    /// too (signed with it); they then run without waiting for approvals of their own.
    public func recordDecision(
        _ verdict: Verdict, subject: GateSubject, planPrefix: String, shownPlaybookDigest: String? = nil,
        policy: MachinePolicyStatus, operator op: Operator, now: Date,
        signer: (any RecordSigner)? = nil, includesRollback: [String]? = nil
    ) throws(LedgerError) -> DecisionOutcome {
        func decide(_ reading: LedgerReading, _ now: Date) -> (RecordDraft?, Refusal?) {
            let state = LedgerState(records: reading.records)
            switch ApprovalPolicy.decide(
                verdict, subject: subject, planPrefix: planPrefix, shownPlaybookDigest: shownPlaybookDigest,
                state: state, policy: policy, operator: op, now: now, principal: signer?.principal)
            {
            case .allowed(var draft):
                if verdict == .approve, let included = includesRollback, !included.isEmpty { draft.includesRollback = included }
                return (draft, nil)
            case .refused(let refusal): return (nil, refusal)
            }
        }
        let (record, refusal): (LedgerRecord?, Refusal?)
        if let signer {
            // Signed outside the lock, at the caller's `now` (a test's fixed time holds).
            (record, refusal) = try appendSigned(operator: op, signer: signer, clock: { now }, decide)
        } else {
            (record, refusal) = try appendChecked(operator: op, now: now) { decide($0, now) }
        }
        if let record { return .recorded(record) }
        return .refused(refusal ?? .policyUnsafe(path: location, reason: "no record written"))
    }

    /// Settles a waiting run's gate under the lock: when enough approvals count, writes a
    /// `consumed` record naming them (so no other run can use them); when the deadline has passed,
    /// writes `expired` once. The run calls this each time it polls.
    public func settleGate(subject: GateSubject, policy: MachinePolicyStatus, operator op: Operator, now: Date) throws(LedgerError)
        -> GateStatus
    {
        try appendChecked(operator: op, now: now) { reading -> (RecordDraft?, GateStatus) in
            let state = LedgerState(records: reading.records)
            let status = ApprovalPolicy.gateStatus(subject: subject, state: state, policy: policy, now: now)
            var draft = RecordDraft(
                type: .consumed, run: subject.run, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
                planDigest: subject.planDigest, step: subject.step)
            switch status {
            case .approved(let seqs):
                draft.consumes = seqs
                return (draft, status)
            case .expired(let deadline):
                guard let run = subject.run, state.gates[subject.key]?.expiredRuns[run] == nil else { return (nil, status) }
                draft.type = .expired
                draft.reason = "no decision before the approval deadline \(RFC3339.format(deadline))"
                return (draft, status)
            default:
                return (nil, status)
            }
        }.outcome
    }
}
