import Foundation

/// How a run ended.
public enum RunOutcome: Sendable, Equatable {
    /// Every step succeeded.
    case succeeded
    /// A step failed (after its retries) and its `on_failure` ended the run.
    case failed(step: String, detail: String)
    /// Some steps failed with `on_failure: continue`; the rest ran.
    case completedWithFailures(steps: [String])
    /// An operator rejected the plan at this step: nothing more runs.
    case rejected(step: String, by: String, reason: String)
    /// No decision came before the gate's deadline.
    case expired(step: String, deadline: Date)
    /// `wpk cancel` (the text says who and why).
    case cancelled(String)
    /// wpk received a signal (named in the text).
    case interrupted(String)
    /// The playbook or its plan changed since the run started: nothing more may run.
    case stale(step: String, detail: String)
    /// Policy forbids the run (or the gate) at all.
    case refused(String)

    /// The word the ledger's `run_finished` record and the CLI use.
    public var name: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .completedWithFailures: "completed_with_failures"
        case .rejected: "rejected"
        case .expired: "expired"
        case .cancelled: "cancelled"
        case .interrupted: "interrupted"
        case .stale: "stale"
        case .refused: "refused"
        }
    }

    /// One sentence for people.
    public var detail: String {
        switch self {
        case .succeeded: "every step succeeded"
        case .failed(let step, let detail): "step \(step) failed: \(detail)"
        case .completedWithFailures(let steps):
            "finished, but these steps failed and were passed over (on_failure: continue): \(steps.joined(separator: ", "))"
        case .rejected(let step, let by, let reason): "step \(step) was rejected by \(by): \(reason)"
        case .expired(let step, let deadline): "no approval for step \(step) before its deadline \(RFC3339.format(deadline))"
        case .cancelled(let text): text
        case .interrupted(let signal): "interrupted by \(signal)"
        case .stale(let step, let detail): "stopped before step \(step): \(detail)"
        case .refused(let why): "refused: \(why)"
        }
    }
}

/// One attempt of one step, as it ended.
public struct StepAttempt: Sendable, Equatable {
    /// The handler (or rollback step) name.
    public var step: String
    /// 1-based.
    public var attempt: Int
    /// Whether it is a rollback step.
    public var isRollback: Bool
    /// `succeeded`, `failed`, `timed_out`, `killed`, `cancelled`, `interrupted` or `not_started`.
    public var outcome: String
    /// The last command's exit code, when it exited by itself or after SIGTERM.
    public var exitCode: Int?
    /// Wall time of the attempt.
    public var seconds: Double
    /// `sha256:<hex>` of everything the attempt printed (raw, before masking).
    public var outputDigest: String
    /// How many bytes it printed.
    public var outputBytes: Int
    /// `sha256:<hex>` of the stored end of its output (masked, sanitized); nil when it printed nothing.
    public var outputTail: String? = nil
    /// Why it did not succeed, for people ("exit code 1", "timed out after 2 s").
    public var detail: String

    /// Whether the attempt succeeded.
    public var succeeded: Bool { outcome == "succeeded" }
}

/// What a run did, for the CLI to print.
public struct RunReport: Sendable {
    /// The run's id.
    public var runID: String
    /// How it ended.
    public var outcome: RunOutcome
    /// Every attempt of every step, in order.
    public var attempts: [StepAttempt]
    /// Mutating steps that completed (rollback steps included), in order: what the run changed.
    public var changed: [String]
    /// Mutating steps that failed part-way: they may have changed something.
    public var possiblyChanged: [String]
    /// Rollback steps that ran, in order.
    public var rolledBack: [String]

    /// Whether the run did everything it planned (the CLI's exit 0).
    public var succeeded: Bool { outcome == .succeeded }
}

/// What a run tells its edge as it goes (progress printing).
public enum RunEvent: Sendable {
    /// The run is recorded; `plan` is what it executes.
    case started(run: String, plan: Plan)
    /// A gated step waits for approvals until `deadline`.
    case waiting(step: String, approvalsRequired: Int?, deadline: Date?)
    /// The gate opened; `by` names the approvers whose approvals the run consumed.
    case approved(step: String, by: [String])
    /// `commands` as the plan shows them (placeholders, never secret values).
    case stepStarted(step: String, attempt: Int, attempts: Int, commands: [[String]])
    /// An attempt ended (recorded in the ledger).
    case stepFinished(StepAttempt)
    /// A failed idempotent step is tried again after the planned delay.
    case retrying(step: String, afterSeconds: Int)
    /// An approval at the gate does not count (forged, unsigned, not an approver, self-approval); said once per approval.
    case notCounted(step: String, reason: String)
    /// A failure with `on_failure: rollback` runs these rollback steps, in this order.
    case rollingBack(steps: [String], because: String)
    /// The run ended (its `run_finished` record is written).
    case finished(RunReport)
}

/// Everything a run needs from its environment.
public struct RunSettings: Sendable {
    /// Where every event of the run is recorded.
    public var ledger: any LedgerBackend
    /// Short lowercase hex, usable inside names (`${{ run.id }}`).
    public var runID: String
    /// The account running it (the ledger's `operator` on its records).
    public var operatorIdentity: Operator
    /// The machine's approval policy.
    public var policy: MachinePolicyStatus
    /// The environment steps inherit (and where `env:` secrets and `PATH` come from).
    public var environment: [String: String]
    /// Programs named in configuration (`kubectl` -> a path); others are found on `PATH`.
    public var programs: [String: String]
    /// Names of the inputs given on the command line (recorded; values never are).
    public var inputNames: [String]
    /// Seconds between SIGTERM and SIGKILL when a step is stopped.
    public var gracePeriodSeconds: Double
    /// Most output bytes of one process kept in memory.
    public var outputCap: Int
    /// The wall clock for ledger records and gate deadlines.
    public var now: @Sendable () -> Date
    /// How the run was started (recorded on `run_started`; nil records nothing).
    public var startedBy: StartedBy?
    /// Signs the `run_started` record when the starter has a key, so the starter has a principal.
    public var signer: (any RecordSigner)?

    /// Settings with the defaults of `wpk run` (5 s grace period, 1 MiB of output kept per process).
    public init(
        ledger: any LedgerBackend, runID: String, operator op: Operator, policy: MachinePolicyStatus, environment: [String: String],
        programs: [String: String] = [:], inputNames: [String] = [], gracePeriodSeconds: Double = 5,
        outputCap: Int = 1 << 20, now: @escaping @Sendable () -> Date = { Date() }, startedBy: StartedBy? = nil,
        signer: (any RecordSigner)? = nil
    ) {
        self.ledger = ledger
        self.runID = runID
        self.operatorIdentity = op
        self.policy = policy
        self.environment = environment
        self.programs = programs
        self.inputNames = inputNames
        self.gracePeriodSeconds = gracePeriodSeconds
        self.outputCap = outputCap
        self.now = now
        self.startedBy = startedBy
        self.signer = signer
    }

    /// A fresh run id: 16 random lowercase hex digits (valid inside Kubernetes names).
    public static func newRunID() -> String {
        var generator = SystemRandomNumberGenerator()
        return ContentDigest.hex((0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// Runs a plan step by step: the plan's own argv vectors (never re-rendered after approval),
/// each attempt recorded in the ledger before its process starts and after it ends, gates that
/// re-plan and wait for approvals, retries only for idempotent steps, `on_failure` honoured.
public final class RunExecutor {
    let settings: RunSettings
    let monitor: RunMonitor
    let replan: () -> PlanOutcome
    let onEvent: (RunEvent) -> Void
    let onOutput: (String, ArraySlice<UInt8>) -> Void
    private var attempts: [StepAttempt] = []
    private var changed: [String] = []
    private var possiblyChanged: [String] = []
    private var rolledBack: [String] = []
    /// The approval records this run consumed at each step's gate, by step.
    private var consumedApprovals: [String: [LedgerRecord]] = [:]
    /// Approvals (by seq) already reported as not counting.
    private var reportedDiscounts: Set<Int> = []

    /// `replan` reads the playbook again and plans it with the same inputs, binding the tools and
    /// files again (used at every gate and before every attempt);
    /// `onOutput` receives each step's output with secret values masked.
    public init(
        settings: RunSettings, interrupt: RunInterrupt?, replan: @escaping () -> PlanOutcome,
        onEvent: @escaping (RunEvent) -> Void = { _ in }, onOutput: @escaping (String, ArraySlice<UInt8>) -> Void = { _, _ in }
    ) {
        self.settings = settings
        self.monitor = RunMonitor(ledger: settings.ledger, run: settings.runID, interrupt: interrupt)
        self.replan = replan
        self.onEvent = onEvent
        self.onOutput = onOutput
    }

    /// Runs `plan` to its end and returns what happened; throws only when the ledger cannot
    /// be written (then no further step starts).
    public func run(_ plan: Plan) throws(LedgerError) -> RunReport {
        // Nothing runs on a ledger that does not verify (damaged, rolled back, unreadable): a fault
        // found only at the first gate would come after the ungated steps before it had run.
        let before = try settings.ledger.read()
        if let fault = before.fault {
            throw LedgerError(
                .chainBroken(fault),
                "the ledger \(settings.ledger.location) is damaged from its \(fault); nothing was run. Run `wpk approvals verify` and restore the ledger"
            )
        }
        // Signatures too: an unusable allowed_signers, or a decision on this plan whose signature
        // does not verify (forged, or signed by a key no longer listed), stops the run here.
        let signers = SignerPolicy.of(settings.policy)
        if case .unavailable(let why) = signers {
            throw LedgerError(.policy, "the policy's allowed_signers cannot be used (\(why)); nothing was run")
        }
        if signers.requiresSignatures {
            for record in before.records
            where (record.draft.type == .approved || record.draft.type == .rejected)
                && record.draft.playbookDigest == plan.playbook.digest && record.draft.planDigest == plan.planDigest
            {
                if case .failure(let problem) = signers.principal(of: record), problem != .unsigned {
                    throw LedgerError(
                        .policy,
                        "the \(record.draft.type.name) record \(record.seq) for this plan carries a signature that does not verify (\(problem)); nothing was run. Run `wpk approvals verify`"
                    )
                }
            }
        }
        // The whole plan first, so the record naming it never points at nothing.
        try settings.ledger.artifacts.store(plan)
        let started = RecordDraft(
            type: .runStarted, run: settings.runID, playbook: plan.playbook.name,
            playbookDigest: plan.playbook.digest, planDigest: plan.planDigest,
            inputs: settings.inputNames.sorted(), pid: Int(getpid()), host: RunHost.name,
            startedBy: settings.startedBy)
        if let signer = settings.signer {
            _ = try settings.ledger.appendSigned(operator: settings.operatorIdentity, signer: signer, clock: settings.now) { _, _ in
                (started, ())
            }
        } else {
            try append(started)
        }
        onEvent(.started(run: settings.runID, plan: plan))
        if let step = plan.steps.first ?? plan.rollback.first,
            case .failure(let refusal) = ApprovalPolicy.rules(
                for: GateSubject(plan: plan, step: step, run: settings.runID), policy: settings.policy)
        {
            return try finish(.refused(refusal.description))
        }
        if case .loaded(let machine) = settings.policy, machine.requireSignedPlaybooks, plan.signature?.state != .verified {
            let why = plan.signature.map { "\($0.message) [\($0.code.rawValue)]" } ?? "its signature was not checked"
            return try finish(
                .refused("this machine runs only playbooks with a verified trusted signature (require_signed_playbooks): \(why)"))
        }
        // The policy's gate floor, whatever the plan says: a plan made under a looser floor (or by
        // another planner) would otherwise run a step the policy wants approved without a gate.
        if plan.mode == .manual,
            let ungated = (plan.steps + plan.rollback).first(where: {
                !$0.gate.required && settings.policy.gateFloor.gates(mutating: $0.mutating, destructive: $0.destructive)
            })
        {
            return try finish(
                .refused(
                    "step \(ungated.handler) is not gated in this plan, but the machine policy (gate: \(settings.policy.gateFloor.rawValue)) gates every \(settings.policy.gateFloor == .mutating ? "step that changes state" : "destructive step"); nothing was run"
                ))
        }
        // A rejection is final for the plan: not even the ungated steps before its first gate run.
        let state = LedgerState(records: try settings.ledger.read().records)
        if let rejection = ApprovalPolicy.countedRejection(
            of: PlanKey(playbookDigest: plan.playbook.digest, planDigest: plan.planDigest),
            in: state, signers: SignerPolicy.of(settings.policy))
        {
            let step = state.gates.values.first { $0.rejections.contains { $0.seq == rejection.seq } }?.key.step ?? "?"
            return try finish(.rejected(step: step, by: rejection.rejecter.name, reason: rejection.reason))
        }
        var failedAndPassed: [String] = []
        var completed: Set<String> = []
        for step in plan.steps {
            if step.gate.required, let stop = try passGate(step, of: plan) { return try finish(stop) }
            switch try runStep(step, of: plan, isRollback: false) {
            case .succeeded:
                completed.insert(step.handler)
            case .stopped(let outcome):
                return try finish(outcome)
            case .failed(let detail):
                switch step.onFailure {
                case "continue":
                    failedAndPassed.append(step.handler)
                case "rollback":
                    let failure = RunOutcome.failed(step: step.handler, detail: detail)
                    if let stop = try rollBack(after: step, completed: completed, of: plan, because: failure.detail) {
                        return try finish(stop)
                    }
                    return try finish(failure)
                default:
                    return try finish(.failed(step: step.handler, detail: detail))
                }
            }
        }
        return try finish(failedAndPassed.isEmpty ? .succeeded : .completedWithFailures(steps: failedAndPassed))
    }

    // MARK: Gates

    /// Waits at a gated step until it may run; returns why the run must stop instead, if it must.
    private func passGate(_ step: PlanStep, of plan: Plan) throws(LedgerError) -> RunOutcome? {
        if let stale = staleness(of: plan, at: step) { return stale }
        let subject = GateSubject(plan: plan, step: step, run: settings.runID)
        let deadline: Date?
        switch ApprovalPolicy.waitingDraft(subject: subject, policy: settings.policy, now: settings.now()) {
        case .failure(let refusal): return .refused(refusal.description)
        case .success(let draft):
            try append(draft)
            deadline = draft.expires
            onEvent(.waiting(step: step.handler, approvalsRequired: draft.approvalsRequired, deadline: draft.expires))
        }
        while true {
            if let stop = monitor.interruption() { return outcome(of: stop) }
            // The file may have changed while the run waited: check before any approval is used.
            if let stale = staleness(of: plan, at: step) { return stale }
            let now = settings.now()
            switch try settings.ledger.settleGate(subject: subject, policy: settings.policy, operator: settings.operatorIdentity, now: now)
            {
            case .approved(let seqs):
                let records = (try? settings.ledger.read().records) ?? []
                let consumed = seqs.compactMap { seq in records.first { $0.seq == seq } }
                let names = consumed.map(\.operatorName)
                consumedApprovals[step.handler] = consumed
                onEvent(.approved(step: step.handler, by: names))
                return nil
            case .pending:
                reportDiscounted(at: subject, now: now)
                // Wake at the deadline (plus a second: records keep whole seconds), on any ledger change, or at the slow poll.
                let untilDeadline = deadline.map { $0.timeIntervalSince(now) + 1 } ?? monitor.recheckSeconds
                monitor.sleep(upTo: max(0.05, untilDeadline))
            case .rejected(_, let by, let reason):
                return .rejected(step: step.handler, by: by, reason: reason)
            case .expired(let deadline):
                return .expired(step: step.handler, deadline: deadline)
            case .ended:
                return monitor.cancellation().map(outcome(of:)) ?? .cancelled("the run ended while waiting")
            case .refused(let refusal):
                return .refused(refusal.description)
            }
        }
    }

    /// Says once for each approval at this gate why it does not count, so the operator starting
    /// the run learns that a forged or unsigned approval was seen and refused.
    private func reportDiscounted(at subject: GateSubject, now: Date) {
        guard let records = try? settings.ledger.read().records else { return }
        for (seq, reason) in ApprovalPolicy.discountedApprovals(
            subject: subject, state: LedgerState(records: records), policy: settings.policy, now: now)
        where reportedDiscounts.insert(seq).inserted {
            onEvent(.notCounted(step: subject.step, reason: reason))
        }
    }

    /// The run's plan against the file as it is now: nil when both digests still match.
    private func staleness(of plan: Plan, at step: PlanStep) -> RunOutcome? {
        switch replan() {
        case .invalid(let report):
            let first = report.diagnostics.first { $0.severity == .error }.map { ": \($0.message)" } ?? ""
            return .stale(step: step.handler, detail: "the playbook no longer plans\(first)")
        case .planned(let now, _):
            guard now.playbook.digest != plan.playbook.digest || now.planDigest != plan.planDigest else { return nil }
            let fingerprints = "plan \(Plan.fingerprint(of: plan.planDigest)) is now \(Plan.fingerprint(of: now.planDigest))"
            let changes = (plan.bindings ?? PlanBindings(items: [])).changes(to: now.bindings ?? PlanBindings(items: []))
            if now.playbook.digest == plan.playbook.digest, !changes.isEmpty {
                return .stale(
                    step: step.handler,
                    detail:
                        "a tool or file the plan binds changed since it was approved (\(fingerprints)): \(changes.joined(separator: "; ")); nothing more runs"
                )
            }
            return .stale(step: step.handler, detail: "the playbook changed since the run started (\(fingerprints)); nothing more runs")
        }
    }

    // MARK: Rollback

    /// Runs the failed step's rollback steps in the plan's order, only those undoing steps that
    /// completed. A gated rollback step waits for approvals of its own, like any gate, unless
    /// every approval this run consumed at the step it undoes listed it (`includes_rollback`).
    private func rollBack(after failed: PlanStep, completed: Set<String>, of plan: Plan, because: String) throws(LedgerError) -> RunOutcome?
    {
        let steps = failed.rollbackSteps.compactMap { name in plan.rollback.first { $0.handler == name } }
            .filter { $0.undoes.map(completed.contains) ?? false }
        guard !steps.isEmpty else { return nil }
        try append(
            RecordDraft(
                type: .rollback, run: settings.runID, playbook: plan.playbook.name,
                playbookDigest: plan.playbook.digest, planDigest: plan.planDigest,
                step: failed.handler, reason: "\(because); rolling back: \(steps.map(\.handler).joined(separator: ", "))"))
        onEvent(.rollingBack(steps: steps.map(\.handler), because: because))
        for step in steps {
            if step.gate.required {
                if let approvers = includedBy(step) {
                    onEvent(.approved(step: step.handler, by: approvers))
                } else if let stop = try passGate(step, of: plan) {
                    return stop
                }
            }
            switch try runStep(step, of: plan, isRollback: true) {
            case .succeeded: rolledBack.append(step.handler)
            case .stopped(let outcome): return outcome
            case .failed(let detail): return .failed(step: step.handler, detail: "rollback step failed: \(detail)")
            }
        }
        return nil
    }

    /// The approvers whose approvals of the step `rollback` undoes all listed it in
    /// `includes_rollback`; nil when that step's gate was not passed in this run or one approval
    /// did not list it (then the rollback step waits for its own approval).
    private func includedBy(_ rollback: PlanStep) -> [String]? {
        guard let undone = rollback.undoes, let approvals = consumedApprovals[undone], !approvals.isEmpty,
            approvals.allSatisfy({ $0.draft.includesRollback?.contains(rollback.handler) == true })
        else { return nil }
        return approvals.map(\.operatorName)
    }

    // MARK: Steps

    private enum StepResult {
        case succeeded
        case failed(String)
        case stopped(RunOutcome)
    }

    /// Every attempt of one step: retried only when the plan marks it idempotent, with the planned delays.
    private func runStep(_ step: PlanStep, of plan: Plan, isRollback: Bool) throws(LedgerError) -> StepResult {
        let attemptsAllowed = step.retry.idempotent ? max(1, step.retry.maxAttempts) : 1
        var commands = step.commands
        if plan.dryRunFirst && !step.dryRunCommands.isEmpty { commands = step.dryRunCommands + commands }
        var detail = ""
        for attempt in 1...attemptsAllowed {
            if let stop = monitor.stopReason() { return .stopped(outcome(of: stop)) }
            // Right before anything is spawned: the playbook, and the tools and files the plan
            // binds (a manifest, kubectl, the kubeconfig), must still be what was approved.
            if let stale = staleness(of: plan, at: step) { return .stopped(stale) }
            // Intent first: durable before anything is spawned, so a crash leaves "started, outcome unknown".
            try append(
                RecordDraft(
                    type: .stepStarted, run: settings.runID, playbook: plan.playbook.name,
                    playbookDigest: plan.playbook.digest, planDigest: plan.planDigest, step: step.handler,
                    attempt: attempt))
            onEvent(.stepStarted(step: step.handler, attempt: attempt, attempts: attemptsAllowed, commands: commands))
            let executed = execute(step, commands: commands, attempt: attempt, isRollback: isRollback)
            var result = executed.attempt
            // The output's end is stored before the record that names it.
            if let tail = executed.outputTailText { result.outputTail = try settings.ledger.artifacts.storeOutput(tail) }
            attempts.append(result)
            try append(
                RecordDraft(
                    type: .stepFinished, run: settings.runID, playbook: plan.playbook.name,
                    playbookDigest: plan.playbook.digest, planDigest: plan.planDigest, step: step.handler,
                    reason: result.succeeded ? nil : result.detail, attempt: attempt, outcome: result.outcome,
                    exitCode: result.exitCode, durationMilliseconds: Int((result.seconds * 1000).rounded()),
                    outputDigest: result.outputDigest, outputBytes: result.outputTail == nil ? nil : result.outputBytes,
                    outputTail: result.outputTail))
            onEvent(.stepFinished(result))
            if result.succeeded {
                if step.mutating { changed.append(step.handler) }
                return .succeeded
            }
            if step.mutating && result.outcome != "not_started" && !possiblyChanged.contains(step.handler) {
                possiblyChanged.append(step.handler)
            }
            detail = result.detail
            switch result.outcome {
            case "cancelled": return .stopped(monitor.cancellation().map(outcome(of:)) ?? .cancelled(result.detail))
            case "interrupted": return .stopped(.interrupted(result.detail))
            default: break
            }
            // A failure caused by a stop (a secret read cut short, say) ends the run, not the step alone.
            if let stop = monitor.stopReason() { return .stopped(outcome(of: stop)) }
            guard attempt < attemptsAllowed else { break }
            let delay =
                step.retry.delaysSeconds.indices.contains(attempt - 1)
                ? step.retry.delaysSeconds[attempt - 1] : (step.retry.delaysSeconds.last ?? 0)
            try append(
                RecordDraft(
                    type: .stepRetried, run: settings.runID, playbook: plan.playbook.name,
                    playbookDigest: plan.playbook.digest, planDigest: plan.planDigest, step: step.handler,
                    reason: "attempt \(attempt) \(result.detail); attempt \(attempt + 1) in \(delay) s", attempt: attempt + 1))
            onEvent(.retrying(step: step.handler, afterSeconds: delay))
            if let stop = pause(seconds: Double(delay)) { return .stopped(outcome(of: stop)) }
        }
        return .failed(attemptsAllowed > 1 ? "\(detail) (after \(attemptsAllowed) attempts)" : detail)
    }

    /// One attempt: the commands in order under one timeout, stopping at the first that fails.
    /// Returns the attempt and the sanitized end of its masked output (nil when it printed nothing).
    private func execute(_ step: PlanStep, commands: [[String]], attempt: Int, isRollback: Bool) -> (
        attempt: StepAttempt, outputTailText: [UInt8]?
    ) {
        let start = monotonicSeconds()
        var capture = OutputCapture(cap: 0)
        var tail = OutputTail()
        func result(_ outcome: String, exitCode: Int? = nil, detail: String) -> (attempt: StepAttempt, outputTailText: [UInt8]?) {
            (
                StepAttempt(
                    step: step.handler, attempt: attempt, isRollback: isRollback, outcome: outcome, exitCode: exitCode,
                    seconds: monotonicSeconds() - start, outputDigest: capture.digest(), outputBytes: capture.total, detail: detail),
                capture.total > 0 ? tail.text : nil
            )
        }
        // Secrets are read now, at spawn time, and reach only the child: its environment or standard input, never its argv.
        var secretValues: [String] = []
        let resolver = SecretResolver(environment: settings.environment, vaultProgram: settings.programs["vault"])
        let resolved: (commands: [[String]], environment: [(name: String, value: String)], standardInput: String?)
        do {
            var readSecrets: [SecretReference: String] = [:]
            for reference in step.secrets {
                let value = try resolver.value(of: reference, stopWatch: monitor).get()
                readSecrets[reference] = value
                if !value.isEmpty { secretValues.append(value) }
            }
            var toRun = step
            toRun.commands = commands
            resolved = toRun.resolved(runID: settings.runID) { readSecrets[$0] ?? "" }
        } catch {
            return result("not_started", detail: "\(error)")
        }
        // The plan's environment (a shell runtime's variables, and secrets the commands read from
        // it, never from argv) on top of wpk's own.
        var environment = settings.environment
        for variable in resolved.environment { environment[variable.name] = variable.value }
        var masker = SecretMasker(secrets: secretValues)
        let deadline = start + Double(step.timeoutSeconds)
        var last: ProcessOutcome?
        for argv in resolved.commands {
            var spec = ProcessSpec(
                arguments: argv, environment: environment, timeoutSeconds: max(0, deadline - monotonicSeconds()),
                gracePeriodSeconds: settings.gracePeriodSeconds, outputCap: settings.outputCap,
                executable: argv.first.flatMap { settings.programs[$0] }, workingDirectory: step.workingDirectory)
            spec.standardInput = resolved.standardInput.map { Array($0.utf8) }
            let outcome = StepProcess.run(spec, stopWatch: monitor) { chunk in
                capture.append(chunk)
                let shown = masker.feed(chunk)
                if !shown.isEmpty {
                    tail.append(shown)
                    onOutput(step.handler, shown[...])
                }
            }
            last = outcome
            if !outcome.succeeded { break }
        }
        let rest = masker.flush()
        if !rest.isEmpty {
            tail.append(rest)
            onOutput(step.handler, rest[...])
        }
        guard let outcome = last else { return result("succeeded", exitCode: 0, detail: "no commands") }
        var exitCode: Int?
        if case .exited(let code) = outcome.ending { exitCode = Int(code) }
        switch (outcome.stop, outcome.ending) {
        case (nil, .exited(code: 0)): return result("succeeded", exitCode: 0, detail: "exit code 0")
        case (.timedOut, _): return result("timed_out", exitCode: exitCode, detail: "timed out after \(step.timeoutSeconds) s")
        case (.cancelled(let text), _): return result("cancelled", exitCode: exitCode, detail: text)
        case (.interrupted(let signal), _): return result("interrupted", exitCode: exitCode, detail: signal)
        case (nil, .exited(let code)): return result("failed", exitCode: Int(code), detail: "exit code \(code)")
        case (nil, .signaled(let signal)): return result("killed", detail: "killed by signal \(signal)")
        case (nil, .notStarted(let why)): return result("not_started", detail: why)
        }
    }

    /// Sleeps between attempts, waking early only to stop.
    private func pause(seconds: Double) -> StopReason? {
        let until = monotonicSeconds() + seconds
        while true {
            if let stop = monitor.stopReason() { return stop }
            let left = until - monotonicSeconds()
            if left <= 0 { return nil }
            monitor.sleep(upTo: left)
        }
    }

    /// The run's end for a stop the monitor reported (a step's own timeout is a step failure,
    /// handled where the attempt ends, and never comes from the monitor).
    private func outcome(of stop: StopReason) -> RunOutcome {
        switch stop {
        case .cancelled(let text): .cancelled(text)
        case .interrupted(let signal): .interrupted(signal)
        case .timedOut: .interrupted("a timeout")
        }
    }

    // MARK: Records

    private func append(_ draft: RecordDraft) throws(LedgerError) {
        try settings.ledger.append(draft, operator: settings.operatorIdentity, now: settings.now())
    }

    /// Writes `run_finished` and builds the report.
    private func finish(_ outcome: RunOutcome) throws(LedgerError) -> RunReport {
        let report = RunReport(
            runID: settings.runID, outcome: outcome, attempts: attempts, changed: changed,
            possiblyChanged: possiblyChanged.filter { !changed.contains($0) }, rolledBack: rolledBack)
        var reason = outcome.detail
        if !changed.isEmpty { reason += "; changed by earlier steps: \(changed.joined(separator: ", "))" }
        try append(RecordDraft(type: .runFinished, run: settings.runID, reason: reason, outcome: outcome.name, changed: changed))
        onEvent(.finished(report))
        return report
    }
}

/// Replaces secret values in output shown to people, a line at a time (so a value split across
/// two reads is still caught). The digest is computed on the raw bytes, before masking.
struct SecretMasker {
    let secrets: [[UInt8]]
    private var pending: [UInt8] = []
    /// A line longer than this is shown in pieces (a value straddling a piece is not masked).
    static let maxLine = 65_536

    init(secrets: [String]) {
        self.secrets = secrets.map { Array($0.utf8) }.sorted { $0.count > $1.count }
    }

    /// The complete lines of what arrived so far, masked.
    mutating func feed(_ chunk: ArraySlice<UInt8>) -> [UInt8] {
        guard !secrets.isEmpty else { return Array(chunk) }
        pending.append(contentsOf: chunk)
        let cut = pending.lastIndex(of: 0x0A).map { $0 + 1 } ?? (pending.count > Self.maxLine ? pending.count : 0)
        guard cut > 0 else { return [] }
        let ready = Array(pending[..<cut])
        pending.removeFirst(cut)
        return mask(ready)
    }

    /// Whatever is left at the end, masked.
    mutating func flush() -> [UInt8] {
        defer { pending = [] }
        return mask(pending)
    }

    private func mask(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        for secret in secrets where !secret.isEmpty {
            var result: [UInt8] = []
            var i = 0
            while i < out.count {
                if out.count - i >= secret.count, out[i..<(i + secret.count)].elementsEqual(secret) {
                    result.append(contentsOf: Array("<secret>".utf8))
                    i += secret.count
                } else {
                    result.append(out[i])
                    i += 1
                }
            }
            out = result
        }
        return out
    }
}
