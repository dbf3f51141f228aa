/// Each step names an action of its runtime, with the target and parameters that action takes.
enum ActionRules {
    static let unknownAction = RuleInfo("WPK318", .error, "unknown-action", "A step's action does not exist for its runtime.")
    static let badParams = RuleInfo(
        "WPK319", .error, "invalid-action-params", "A step's params are unknown to its action, miss a required one, or have the wrong type."
    )
    static let missingRuntime = RuleInfo(
        "WPK320", .error, "runtime-requirements-missing",
        "A step runs in a runtime whose requirements section (`spec.runtime.k8s|docker|shell`) is absent.")
    static let badTarget = RuleInfo(
        "WPK321", .error, "invalid-target", "A step's target is missing, not allowed, or not of the form its action takes.")
    static let rules = [unknownAction, badParams, missingRuntime, badTarget]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        let playbook = context.playbook
        var out: [Diagnostic] = []
        for (step, _) in context.steps {
            guard let runtime = step.runtime, let action = step.action else { continue }
            if !playbook.runtime.hasRequirements(for: runtime.value) {
                out.append(
                    context.report(
                        missingRuntime,
                        "step \"\(step.displayName)\" runs in \(runtime.value.rawValue) but spec.runtime.\(runtime.value.rawValue) is missing; add it (\(Self.requirementHint(runtime.value)))",
                        at: runtime))
            }
            guard let spec = step.actionSpec else {
                var others = Runtime.allCases.filter { $0 != runtime.value && ActionCatalogue.action($0, action.value) != nil }.map(
                    \.rawValue)
                others.sort()
                let hint = others.isEmpty ? "" : " (\(others.joined(separator: ", ")) has it: set runtime: \(others[0]) on the step)"
                out.append(
                    context.report(
                        unknownAction,
                        "\(runtime.value.rawValue) has no action \"\(action.value)\"\(hint); its actions are: \(ActionCatalogue.names(runtime.value).joined(separator: ", "))",
                        at: action))
                continue
            }
            out += checkTarget(step, spec, context)
            out += checkParams(step, spec, context)
        }
        return out
    }

    private static func requirementHint(_ runtime: Runtime) -> String {
        switch runtime {
        case .k8s: "context and namespace"
        case .docker: "at least image_policy"
        case .shell: "at least interpreter"
        }
    }

    private static func checkTarget(_ step: Playbook.Handler, _ spec: ActionSpec, _ context: RuleContext) -> [Diagnostic] {
        guard let target = step.target else {
            guard spec.targetRequired else { return [] }
            return [
                context.report(
                    badTarget,
                    "step \"\(step.displayName)\" has no target; \(spec.runtime.rawValue) \(spec.name) needs \(Self.targetShape(spec))",
                    pointer: step.pointer, mark: step.mark)
            ]
        }
        if spec.target == .none {
            return [context.report(badTarget, "\(spec.runtime.rawValue) \(spec.name) takes no target; remove it", at: target)]
        }
        let text = target.value
        if text.hasPrefix("${{") { return [] }
        switch spec.target {
        case .k8sResource:
            let resource = K8sTarget(text)
            if resource.kind.isEmpty || resource.kind.containsBytes(" ") {
                return [context.report(badTarget, "target \"\(text)\" is not kind/name; write e.g. deployment/checkout", at: target)]
            }
            if resource.name == nil && !spec.acceptsKindOnly {
                return [
                    context.report(
                        badTarget, "\(spec.name) acts on one object; write \(resource.kind)/NAME, not the kind alone", at: target)
                ]
            }
            if ["cordon", "uncordon", "drain"].contains(spec.name) && resource.resource != "nodes" {
                return [context.report(badTarget, "\(spec.name) acts on nodes; write node/NAME", at: target)]
            }
            if spec.name == "delete-pod" && resource.resource != "pods" {
                return [context.report(badTarget, "delete-pod deletes one pod; write pod/NAME", at: target)]
            }
        case .url:
            if !(text.hasPrefix("https://") || text.hasPrefix("http://")) {
                return [context.report(badTarget, "target \"\(text)\" is not an http(s) URL", at: target)]
            }
        case .vaultPath:
            if text.hasPrefix("/") || text.containsBytes("://") {
                return [
                    context.report(
                        badTarget,
                        "target \"\(text)\" is not a Vault path; write it without a leading / or scheme, e.g. database/rotate-role/payments",
                        at: target)
                ]
            }
        case .image, .container, .none:
            if text.containsBytes(" ") {
                return [context.report(badTarget, "target \"\(text)\" contains a space", at: target)]
            }
        }
        return []
    }

    private static func targetShape(_ spec: ActionSpec) -> String {
        switch spec.target {
        case .k8sResource: "kind/name, e.g. deployment/checkout"
        case .container: "a container name"
        case .image: "an image, e.g. registry.example.com/ops/tool:1.2.3"
        case .url: "an http(s) URL"
        case .vaultPath: "a Vault path"
        case .none: "nothing"
        }
    }

    private static func checkParams(_ step: Playbook.Handler, _ spec: ActionSpec, _ context: RuleContext) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let given = Set(step.params.map(\.name.value))
        for (name, value) in step.params {
            guard let param = spec.param(name.value) else {
                let known = spec.params.map(\.name)
                let list = known.isEmpty ? "it takes no params" : "it takes: \(known.joined(separator: ", "))"
                out.append(
                    context.report(badParams, "\(spec.runtime.rawValue) \(spec.name) has no param \"\(name.value)\"; \(list)", at: name))
                continue
            }
            if let problem = typeProblem(value, param.type) {
                out.append(
                    context.report(
                        badParams, "param \"\(name.value)\" of \(spec.name) \(problem)", pointer: name.pointer, mark: value.start))
            }
        }
        for param in spec.params where param.required && !given.contains(param.name) {
            let mark = step.paramsMark ?? step.action?.mark ?? step.mark
            out.append(
                context.report(
                    badParams,
                    "\(spec.runtime.rawValue) \(spec.name) needs param \"\(param.name)\" (\(param.summary)); add it under params",
                    pointer: step.pointer + (step.paramsMark == nil ? "" : "/params"), mark: mark))
        }
        return out
    }

    /// Why a value does not fit a parameter type, or nil. A string holding a `${{ }}` reference
    /// fits any scalar type: the planner converts it after substitution.
    private static func typeProblem(_ node: Node, _ type: ParamType) -> String? {
        let isReference = node.scalar.map { $0.text.containsBytes("${{") } ?? false
        switch type {
        case .string:
            if node.scalar == nil || node.scalar?.value == .null { return "must be a string" }
        case .integer:
            if isReference { return nil }
            if case .number(let n)? = node.scalar?.value, n.intValue != nil { return nil }
            return "must be an integer"
        case .boolean:
            if isReference { return nil }
            if case .bool? = node.scalar?.value { return nil }
            return "must be true or false"
        case .list:
            guard let items = node.sequence, items.allSatisfy({ $0.scalar != nil }) else { return "must be a list of strings" }
        case .map:
            guard let entries = node.mapping, entries.allSatisfy({ $0.value.scalar != nil }) else {
                return "must be a mapping of names to strings"
            }
        }
        return nil
    }
}
