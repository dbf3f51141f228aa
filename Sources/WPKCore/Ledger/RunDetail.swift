import Foundation

/// One run told in full from the ledger and its stored artifacts: inputs, every step with its
/// state and exact argv, the gate it waits at, and the end of each finished step's output.
/// What `wpk approvals show` prints and the review UI's run screen draws.
public struct RunDetail: Sendable {
    /// Where a step stands in this run.
    public enum StepState: String, Sendable, Equatable {
        case done, failed, running, waiting
        /// Started, but the run's process is gone: its outcome is unknown.
        case unknown
        case notReached = "not reached"
    }

    /// One step of the run's plan (rollback steps after the handlers, only when they ran).
    public struct StepRow: Sendable {
        public var handler: String
        public var isRollback: Bool
        public var state: StepState
        /// The last attempt's `outcome` word (`succeeded`, `failed`, `timed_out`, ...), when it ended.
        public var outcome: String?
        public var attempts: Int
        public var exitCode: Int?
        /// The argument vectors an attempt runs, exactly as the stored plan gives them.
        public var commands: [[String]]
        public var gateRequired: Bool
        public var gateApprovals: Int
        public var gateReasons: [String]
        /// The whole output's size and digest, and its stored end (verified), or why it cannot be shown.
        public var outputBytes: Int?
        public var outputDigest: String?
        public var output: Result<String, ArtifactProblem>?
    }

    /// The gate a run waits at now.
    public struct Wait: Sendable {
        public var step: String
        public var since: Date
        public var deadline: Date?
        public var approvalsRequired: Int
        /// Accounts whose approvals for this exact playbook and plan digest are live now.
        public var approvers: [String]

        /// A wait from its fields.
        public init(step: String, since: Date, deadline: Date?, approvalsRequired: Int, approvers: [String]) {
            self.step = step
            self.since = since
            self.deadline = deadline
            self.approvalsRequired = approvalsRequired
            self.approvers = approvers
        }
    }

    public var overview: RunOverview
    /// The stored plan, verified against the run's plan digest, or why it cannot be shown.
    public var plan: Result<RecordedPlan, ArtifactProblem>
    public var steps: [StepRow]
    public var wait: Wait?
    /// The run's own ledger records, oldest first.
    public var records: [LedgerRecord]

    /// The run's id.
    public var id: String { overview.history.id }
}

extension RunDetail {
    /// The run `id` as the ledger and the artifact store tell it at `now`; nil when no run has that id.
    public static func load(
        run id: String, records: [LedgerRecord], state: LedgerState, artifacts: RunArtifacts, now: Date,
        processAlive: (RunHistory) -> Bool? = RunOverview.localProcessAlive
    ) -> RunDetail? {
        guard let history = state.runs[id] else { return nil }
        let overview = state.runOverview(of: history, at: now, processAlive: processAlive)
        let own = records.filter { $0.draft.run == id }
        let plan: Result<RecordedPlan, ArtifactProblem> =
            history.planDigest.map { artifacts.plan(digest: $0) }
            ?? .failure(ArtifactProblem("the run_started record names no plan digest"))
        var wait: Wait?
        if case .waiting(let step, let since, let deadline) = overview.status, let playbook = history.playbookDigest,
            let planDigest = history.planDigest
        {
            let gate = state.gates[GateKey(playbookDigest: playbook, planDigest: planDigest, step: step)]
            let required = gate?.waiting.last { $0.run == id }?.approvalsRequired ?? gate?.approvalsRequired ?? 1
            wait = Wait(
                step: step, since: since, deadline: deadline, approvalsRequired: required,
                approvers: gate?.liveApprovers(at: now).map(\.name) ?? [])
        }
        // The newest started and finished record of each step.
        var started: [String: LedgerRecord] = [:]
        var finished: [String: LedgerRecord] = [:]
        for record in own {
            guard let step = record.draft.step else { continue }
            if record.draft.type == .stepStarted { started[step] = record }
            if record.draft.type == .stepFinished { finished[step] = record }
        }
        func row(_ step: RecordedPlan.Step, commands: [[String]]) -> StepRow {
            var row = StepRow(
                handler: step.handler, isRollback: step.isRollback, state: .notReached, outcome: nil, attempts: 0,
                exitCode: nil, commands: commands, gateRequired: step.gateRequired, gateApprovals: step.gateApprovals,
                gateReasons: step.gateReasons)
            let start = started[step.handler]
            let end = finished[step.handler]
            row.attempts = start?.draft.attempt ?? 0
            if let end, (start?.seq ?? 0) < end.seq {
                row.outcome = end.draft.outcome
                row.state = end.draft.outcome == "succeeded" ? .done : .failed
                row.exitCode = end.draft.exitCode
                row.outputBytes = end.draft.outputBytes
                row.outputDigest = end.draft.outputDigest
                row.output = end.draft.outputTail.map { artifacts.output(digest: $0) }
            } else if start != nil {
                if case .processGone = overview.status {
                    row.state = .unknown
                } else if history.ended != nil {
                    row.state = .unknown
                } else {
                    row.state = .running
                }
            } else if wait?.step == step.handler {
                row.state = .waiting
            }
            return row
        }
        var steps: [StepRow] = []
        if case .success(let recorded) = plan {
            steps = recorded.steps.map { row($0, commands: recorded.executedCommands(of: $0)) }
            steps += recorded.rollback.filter { started[$0.handler] != nil }.map { row($0, commands: recorded.executedCommands(of: $0)) }
        }
        return RunDetail(overview: overview, plan: plan, steps: steps, wait: wait, records: own)
    }
}

/// What asking to cancel a run found.
public enum CancelOutcome: Sendable {
    /// No run has that id.
    case unknown
    /// The run had already ended (its outcome).
    case ended(String)
    /// A `cancelled` record was written; the run stood here when it was.
    case cancelled(RunOverview.Status, record: LedgerRecord?)
}

extension LedgerBackend {
    /// Writes a `cancelled` record for a run that has not ended, checked and written under the
    /// ledger's lock (`wpk cancel` and the review UI both come here).
    public func recordCancellation(run runID: String, reason: String, operator op: Operator, now: Date) throws(LedgerError) -> CancelOutcome
    {
        let written = try appendChecked(operator: op, now: now) { reading -> (RecordDraft?, CancelOutcome) in
            let state = LedgerState(records: reading.records)
            guard let history = state.runs[runID] else { return (nil, .unknown) }
            let overview = state.runOverview(of: history, at: now)
            if case .ended(let outcome) = overview.status { return (nil, .ended(outcome)) }
            return (
                RecordDraft(
                    type: .cancelled, run: runID, playbook: history.playbook, playbookDigest: history.playbookDigest,
                    planDigest: history.planDigest, reason: reason), .cancelled(overview.status, record: nil)
            )
        }
        if case .cancelled(let status, _) = written.outcome { return .cancelled(status, record: written.record) }
        return written.outcome
    }
}
