/// A playbook file read, checked and planned: what `wpk plan`, `wpk approve`, `wpk reject`, the
/// review UI and `wpk run` all start from, so every entry point sees the same plan for the same bytes.
public struct PlannedPlaybook: Sendable {
    /// The checker's report (diagnostics of the file, its digest and source lines).
    public var report: FileReport
    /// The plan; nil when the file or its inputs have errors (they are in `report`).
    public var plan: Plan?

    /// Reads, checks and plans one input with the given input values.
    public static func load(_ input: PlaybookInput, checker: PlaybookChecker, inputs: [String: String]) -> PlannedPlaybook {
        let bytes: [UInt8]
        switch SourceReader.contents(of: input, limit: checker.limits.maxFileBytes) {
        case .success(let read): bytes = read
        case .failure: return PlannedPlaybook(report: checker.check(input), plan: nil)
        }
        return load(bytes: bytes, path: input.displayPath, checker: checker, inputs: inputs)
    }

    /// Checks and plans bytes already read.
    public static func load(bytes: [UInt8], path: String, checker: PlaybookChecker, inputs: [String: String]) -> PlannedPlaybook {
        let report = checker.check(bytes: bytes, path: path)
        guard report.isValid, let document = try? YAMLLoader.load(bytes, limits: checker.limits) else {
            return PlannedPlaybook(report: report, plan: nil)
        }
        switch Planner.plan(document, path: path, digest: report.digest ?? ContentDigest.sha256(bytes), inputs: inputs) {
        case .success(let plan):
            return PlannedPlaybook(report: report, plan: plan)
        case .failure(let failure):
            var failed = report
            failed.diagnostics = failure.diagnostics
            return PlannedPlaybook(report: failed, plan: nil)
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
