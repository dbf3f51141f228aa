/// What auto mode may do without a person agreeing.
enum SafetyRules {
    static let destructiveInAuto = RuleInfo(
        "WPK308", .error, "destructive-in-auto", "Auto mode runs a destructive action without `allow_destructive_in_auto: true`.")
    static let nothingToRollBack = RuleInfo(
        "WPK327", .warning, "rollback-without-steps",
        "A handler asks for `on_failure: rollback` but no rollback step undoes it or anything before it.")
    static let ungatedDestructive = RuleInfo(
        "WPK328", .error, "destructive-without-approval",
        "In manual mode a destructive step opts out of approval with `requires_approval: false`, which the machine policy's gate floor forbids."
    )
    static let ungatedMutating = RuleInfo(
        "WPK330", .error, "mutating-without-approval",
        "In manual mode a step that changes state opts out of approval with `requires_approval: false` under the machine policy's `gate: mutating`."
    )
    static let rules = [destructiveInAuto, nothingToRollBack, ungatedDestructive, ungatedMutating]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        var out = rollbackFindings(context)
        out += floorFindings(context)
        return out + destructiveFindings(context)
    }

    /// The machine policy's gate floor decides which steps are gated in a manual playbook; a
    /// step that opts out of a gate the floor imposes is an error, so the author learns it now
    /// rather than seeing the gate appear (or the run refuse) later.
    private static func floorFindings(_ context: RuleContext) -> [Diagnostic] {
        guard context.playbook.safety.effectiveMode == .manual else { return [] }
        var out: [Diagnostic] = []
        for (index, (step, _)) in context.steps.enumerated() {
            guard step.requiresApproval == false, let spec = step.actionSpec,
                context.gateFloor.gates(mutating: spec.mutating, destructive: spec.destructive),
                let node = context.stepField(index, "requires_approval")
            else { continue }
            let floor =
                "the machine policy (gate: \(context.gateFloor.rawValue)) gates every \(context.gateFloor == .mutating ? "step that changes state" : "destructive step")"
            if spec.destructive {
                out.append(
                    context.report(
                        ungatedDestructive,
                        "step \"\(step.displayName)\" runs \(spec.runtime.rawValue) \(spec.name), which is destructive, without approval in a manual playbook; \(floor): remove requires_approval: false",
                        pointer: step.pointer + "/requires_approval", mark: node.start))
            } else {
                out.append(
                    context.report(
                        ungatedMutating,
                        "step \"\(step.displayName)\" runs \(spec.runtime.rawValue) \(spec.name), which changes state, without approval in a manual playbook; \(floor): remove requires_approval: false",
                        pointer: step.pointer + "/requires_approval", mark: node.start))
            }
        }
        return out
    }

    /// `on_failure: rollback` is only a promise when some rollback step can run: one that undoes
    /// this handler or a handler listed before it (those may have completed).
    private static func rollbackFindings(_ context: RuleContext) -> [Diagnostic] {
        let playbook = context.playbook
        let undone = Set(playbook.rollback.compactMap { $0.undoes?.value })
        var out: [Diagnostic] = []
        var sawUndone = false
        for handler in playbook.handlers {
            if let name = handler.name?.value, undone.contains(name) { sawUndone = true }
            guard let written = handler.onFailureWritten, written.value == "rollback", !sawUndone else { continue }
            out.append(
                context.report(
                    nothingToRollBack,
                    "step \"\(handler.displayName)\" rolls back on failure, but no rollback step undoes it or a step before it; add one under spec.rollback with undoes: \(handler.displayName), or use abort",
                    at: written))
        }
        return out
    }

    private static func destructiveFindings(_ context: RuleContext) -> [Diagnostic] {
        let safety = context.playbook.safety
        guard safety.effectiveMode == .auto, safety.allowDestructiveInAuto?.value != true else { return [] }
        var out: [Diagnostic] = []
        for (step, _) in context.steps {
            guard let spec = step.actionSpec, spec.destructive, let action = step.action else { continue }
            out.append(
                context.report(
                    destructiveInAuto,
                    "step \"\(step.displayName)\" runs \(spec.runtime.rawValue) \(spec.name), which is destructive, in auto mode; use mode: manual, or set spec.safety.allow_destructive_in_auto: true if unattended runs of it are really intended",
                    at: action))
        }
        return out
    }
}
