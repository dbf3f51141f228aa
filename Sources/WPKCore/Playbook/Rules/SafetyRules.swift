/// What auto mode may do without a person agreeing.
enum SafetyRules {
    static let destructiveInAuto = RuleInfo("WPK308", .error, "destructive-in-auto", "Auto mode runs a destructive action without `allow_destructive_in_auto: true`.")
    static let nothingToRollBack = RuleInfo("WPK327", .warning, "rollback-without-steps", "A handler asks for `on_failure: rollback` but no rollback step undoes it or anything before it.")
    static let ungatedDestructive = RuleInfo("WPK328", .warning, "destructive-without-approval", "In manual mode a destructive step opts out of approval with `requires_approval: false`.")
    static let rules = [destructiveInAuto, nothingToRollBack, ungatedDestructive]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        var out = rollbackFindings(context)
        let playbook = context.playbook
        if playbook.safety.effectiveMode == .manual {
            for (index, (step, _)) in context.steps.enumerated() {
                guard let spec = step.actionSpec, spec.destructive, step.requiresApproval == false,
                      let node = context.stepField(index, "requires_approval") else { continue }
                out.append(context.report(ungatedDestructive, "step \"\(step.displayName)\" runs \(spec.runtime.rawValue) \(spec.name), which is destructive, without approval in a manual playbook; remove requires_approval: false", pointer: step.pointer + "/requires_approval", mark: node.start))
            }
        }
        return out + destructiveFindings(context)
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
            out.append(context.report(nothingToRollBack, "step \"\(handler.displayName)\" rolls back on failure, but no rollback step undoes it or a step before it; add one under spec.rollback with undoes: \(handler.displayName), or use abort", at: written))
        }
        return out
    }

    private static func destructiveFindings(_ context: RuleContext) -> [Diagnostic] {
        let safety = context.playbook.safety
        guard safety.effectiveMode == .auto, safety.allowDestructiveInAuto?.value != true else { return [] }
        var out: [Diagnostic] = []
        for (step, _) in context.steps {
            guard let spec = step.actionSpec, spec.destructive, let action = step.action else { continue }
            out.append(context.report(destructiveInAuto, "step \"\(step.displayName)\" runs \(spec.runtime.rawValue) \(spec.name), which is destructive, in auto mode; use mode: manual, or set spec.safety.allow_destructive_in_auto: true if unattended runs of it are really intended", at: action))
        }
        return out
    }
}
