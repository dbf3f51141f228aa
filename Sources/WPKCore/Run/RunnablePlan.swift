import Foundation

/// A playbook planned for running: its plan and what approval policy needs beyond it.
public struct RunnablePlan: Sendable {
    public var plan: Plan
    /// `metadata.author`, who may not approve their own playbook unless self-approval is allowed.
    public var author: String?

    public init(plan: Plan, author: String?) {
        self.plan = plan
        self.author = author
    }

    /// Checks (schema and rules) and plans a playbook's exact bytes with the given inputs; the
    /// diagnostics when it is invalid or cannot be planned. This is what a run does at its start
    /// and again at every gate.
    public static func make(bytes: [UInt8], path: String, checker: PlaybookChecker, inputs: [String: String]) -> Result<RunnablePlan, PlanningFailure> {
        let checked = checker.check(bytes: bytes, path: path)
        guard checked.isValid else { return .failure(PlanningFailure(diagnostics: checked.diagnostics)) }
        let document: Document
        do {
            document = try YAMLLoader.load(bytes)
        } catch {
            return .failure(PlanningFailure(diagnostics: checked.diagnostics))
        }
        let digest = checked.digest ?? ContentDigest.sha256(bytes)
        return Planner.plan(document, path: path, digest: digest, inputs: inputs).map { plan in
            RunnablePlan(plan: plan, author: Playbook(root: document.root).metadata.author?.value)
        }
    }

    /// Reads the file (again) and plans it as `make(bytes:...)` does; an unreadable file gives
    /// the checker's diagnostic for it.
    public static func make(reading input: PlaybookInput, checker: PlaybookChecker, inputs: [String: String]) -> Result<RunnablePlan, PlanningFailure> {
        switch SourceReader.contents(of: input) {
        case .success(let bytes): return make(bytes: bytes, path: input.displayPath, checker: checker, inputs: inputs)
        case .failure: return .failure(PlanningFailure(diagnostics: checker.check(input).diagnostics))
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
