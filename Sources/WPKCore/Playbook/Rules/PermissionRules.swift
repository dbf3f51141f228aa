/// Least privilege: every permission a step needs is granted, and every grant is used.
enum PermissionRules {
    static let notGranted = RuleInfo(
        "WPK306", .error, "permission-not-granted", "A step needs a permission that `spec.validation.permissions` does not grant.")
    static let unused = RuleInfo("WPK307", .warning, "permission-unused", "A granted permission is needed by no step.")
    static let rules = [notGranted, unused]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        let playbook = context.playbook
        let granted = NameSet(playbook.validation.permissions.map(\.value))
        var needed = NameSet()
        var out: [Diagnostic] = []
        for (step, _) in context.steps {
            guard let spec = step.actionSpec, let action = step.action else { continue }
            let target = step.target.map { K8sTarget($0.value) }
            // A k8s target whose kind is itself a template cannot be resolved to a resource.
            if spec.target == .k8sResource, let target, target.kind.containsBytes("${{") { continue }
            let required = Self.unique(spec.requiredPermissions(parsedTarget: target))
            for permission in required { needed.insert(permission) }
            let missing = required.filter { !granted.contains($0) }
            if !missing.isEmpty {
                let list = missing.map { "\"\($0)\"" }.joined(separator: ", ")
                out.append(
                    context.report(
                        notGranted,
                        "step \"\(step.displayName)\" (\(spec.runtime.rawValue) \(spec.name)) needs \(list); add \(missing.count == 1 ? "it" : "them") to spec.validation.permissions",
                        at: action))
            }
        }
        for grant in playbook.validation.permissions where !needed.contains(grant.value) {
            out.append(context.report(unused, "permission \"\(grant.value)\" is granted but no step needs it; remove it", at: grant))
        }
        return out
    }

    private static func unique(_ items: [String]) -> [String] {
        var seen = NameSet()
        return items.filter { seen.insert($0) }
    }
}
