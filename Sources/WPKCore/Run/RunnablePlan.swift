import Foundation

/// A playbook planned for running: its plan and what approval policy needs beyond it.
public struct RunnablePlan: Sendable {
    /// What runs.
    public var plan: Plan
    /// `metadata.author`, who may not approve their own playbook unless self-approval is allowed.
    public var author: String?

    /// A plan with its playbook's author.
    public init(plan: Plan, author: String?) {
        self.plan = plan
        self.author = author
    }

    /// Checks (schema and rules) and plans a playbook's exact bytes with the given inputs,
    /// through the planner's one path (`Planner.plan(bytes:...)`); the file's report when it is
    /// invalid or cannot be planned. A run does this at its start and again at every gate.
    public static func make(bytes: [UInt8], path: String, checker: PlaybookChecker, inputs: [String: String]) -> Result<RunnablePlan, InvalidPlaybook> {
        switch Planner.plan(bytes: bytes, path: path, inputs: inputs, checker: checker) {
        case .invalid(let report):
            return .failure(InvalidPlaybook(report: report))
        case .planned(let plan, _):
            // The author is not part of the plan; the file already loaded once, so this cannot fail.
            let author = (try? YAMLLoader.load(bytes, limits: checker.limits)).flatMap { Playbook(root: $0.root).metadata.author?.value }
            return .success(RunnablePlan(plan: plan, author: author))
        }
    }

    /// Reads the file (again) and plans it as `make(bytes:...)` does; an unreadable file gives
    /// the checker's report for it.
    public static func make(reading input: PlaybookInput, checker: PlaybookChecker, inputs: [String: String]) -> Result<RunnablePlan, InvalidPlaybook> {
        switch SourceReader.contents(of: input, limit: checker.limits.maxFileBytes) {
        case .success(let bytes): return make(bytes: bytes, path: input.displayPath, checker: checker, inputs: inputs)
        case .failure: return .failure(InvalidPlaybook(report: checker.check(input)))
        }
    }

    /// The playbook's safety settings as approval policy reads them.
    public var safety: SafetySettings {
        SafetySettings(mode: plan.mode == .auto ? .auto : .manual, approvalsRequired: plan.approvalsRequired,
                       allowSelfApproval: plan.allowSelfApproval,
                       approvalTimeoutSeconds: plan.approvalTimeoutSeconds ?? SafetySettings().approvalTimeoutSeconds,
                       author: author)
    }

    /// The gate of `step` for the run `run`, as policy and the ledger key it.
    public func gateSubject(step: PlanStep, run: String?) -> GateSubject {
        GateSubject(playbook: plan.playbook.name, playbookDigest: plan.playbook.digest, planDigest: plan.planDigest,
                    step: step.handler, gate: GateRequirement(required: step.gate.required, approvals: step.gate.approvals),
                    safety: safety, run: run)
    }
}

/// A playbook that cannot run: the file's report with its errors (and source lines for excerpts).
public struct InvalidPlaybook: Error, Sendable {
    /// The checker's or planner's diagnostics, with the file's lines.
    public var report: FileReport
}
