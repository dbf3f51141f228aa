/// What auto mode may do without a person agreeing.
enum SafetyRules {
    static let destructiveInAuto = RuleInfo("WPK308", .error, "destructive-in-auto", "Auto mode runs a destructive action without `allow_destructive_in_auto: true`.")
    static let rules = [destructiveInAuto]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        let safety = context.playbook.safety
        guard safety.effectiveMode == .auto, safety.allowDestructiveInAuto?.value != true else { return [] }
        var out: [Diagnostic] = []
        for (step, _) in context.playbook.allSteps {
            guard let spec = step.actionSpec, spec.destructive, let action = step.action else { continue }
            out.append(context.report(destructiveInAuto, "step \"\(step.displayName)\" runs \(spec.runtime.rawValue) \(spec.name), which is destructive, in auto mode; use mode: manual, or set spec.safety.allow_destructive_in_auto: true if unattended runs of it are really intended", at: action))
        }
        return out
    }
}
