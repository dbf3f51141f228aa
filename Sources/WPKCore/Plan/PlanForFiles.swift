extension Planner {
    /// Reads one input (bounded) and plans it; an unreadable file is an `.invalid` report.
    public static func plan(_ input: PlaybookInput, inputs: [String: String], checker: PlaybookChecker) -> PlanOutcome {
        switch SourceReader.contents(of: input, limit: checker.limits.maxFileBytes) {
        case .success(let bytes): return plan(bytes: bytes, path: input.displayPath, inputs: inputs, checker: checker)
        case .failure: return .invalid(checker.check(input))
        }
    }
}

extension GateSubject {
    /// The gate of one step of a plan, as the approval policy sees it.
    public init(plan: Plan, step: PlanStep, run: String? = nil) {
        self.init(
            playbook: plan.playbook.name,
            playbookDigest: plan.playbook.digest,
            planDigest: plan.planDigest,
            step: step.handler,
            gate: step.gate.required ? GateRequirement(required: true, approvals: step.gate.approvals) : nil,
            safety: SafetySettings(plan: plan),
            run: run
        )
    }
}

extension SafetySettings {
    /// The safety settings a plan was made under.
    public init(plan: Plan) {
        self.init(
            mode: plan.mode,
            approvalsRequired: plan.approvalsRequired,
            allowSelfApproval: plan.allowSelfApproval,
            approvalTimeoutSeconds: plan.approvalTimeoutSeconds ?? SafetySettings().approvalTimeoutSeconds,
            author: plan.playbook.author
        )
    }
}
