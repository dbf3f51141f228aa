/// The problems that kept a plan from being made (each with its position where one exists).
public struct PlanningFailure: Error, Sendable {
    public var diagnostics: [Diagnostic]
    /// The inputs whose values substitution refused, each with why (also among `diagnostics`).
    public var refusedValues: [(input: String, message: String)] = []
}

/// Turns a valid playbook and its inputs into the `Plan`: nothing runs, every value is checked.
public enum Planner {
    /// The most handlers and rollback steps together that one plan holds.
    public static let maxSteps = 500

    /// The plan of a loaded playbook with the given input values (from `--set` and `--values`),
    /// or every problem found. Run it on a document the checker found valid; on others it does
    /// not crash, but reports what it cannot plan.
    /// `gateFloor` is the machine policy's: in a manual playbook the steps it names are gated
    /// whatever `requires_approval` says.
    public static func plan(
        _ document: Document, path: String, digest: String, inputs given: [String: String],
        signature: PlaybookSignatureCheck? = nil,
        gateFloor: MachinePolicy.GateFloor = MachinePolicy.builtIn.gate
    ) -> Result<Plan, PlanningFailure> {
        let playbook = Playbook(root: document.root)
        // Each step may list every rollback step, so a plan grows with handlers × rollback steps;
        // real playbooks have tens of steps, and this bound keeps a hostile file's plan small.
        guard playbook.handlers.count + playbook.rollback.count <= maxSteps else {
            return .failure(
                PlanningFailure(diagnostics: [
                    PlanCode.unplannable.diagnostic(
                        "the playbook has \(playbook.handlers.count + playbook.rollback.count) steps; wpk plans at most \(maxSteps) handlers and rollback steps together",
                        pointer: "/spec/handlers", mark: document.root["spec"]?["handlers"]?.start)
                ]))
        }
        let (inputs, inputProblems) = InputResolver.resolve(playbook, given: given)
        // Input problems first and alone: a missing input would otherwise be reported again at
        // every reference to it.
        guard inputProblems.isEmpty else { return .failure(PlanningFailure(diagnostics: inputProblems)) }
        var diagnostics = literalRuntimeProblems(playbook.runtime)
        var substituter = Substituter(inputs: inputs, root: document.root, lines: document.lines)

        guard let order = playbook.executionOrder() else {
            diagnostics.append(
                PlanCode.unplannable.diagnostic(
                    "the handlers' depends_on form a cycle, so there is no order to run them in", pointer: "/spec/handlers",
                    mark: document.root["spec"]?["handlers"]?.start))
            return .failure(PlanningFailure(diagnostics: diagnostics))
        }

        // Which handlers run: `when` false skips a step, and then every step that depends on it.
        var skipped: [SkippedStep] = []
        var skippedNames: Set<String> = []
        var running: [Playbook.Handler] = []
        for index in order {
            let handler = playbook.handlers[index]
            let name = handler.name?.value ?? "#\(index + 1)"
            if let blocker = handler.dependsOn.first(where: { skippedNames.contains($0.value) }) {
                skipped.append(SkippedStep(handler: name, reason: "depends on \(blocker.value), which is skipped"))
                skippedNames.insert(name)
                continue
            }
            if let when = handler.when {
                switch evaluate(when, inputs: substituter.inputs) {
                case .problem(let diagnostic):
                    diagnostics.append(diagnostic)
                case .value(false):
                    skipped.append(SkippedStep(handler: name, reason: "when \(when.value) is false"))
                    skippedNames.insert(name)
                    continue
                case .value(true): break
                }
            }
            running.append(handler)
        }

        let context = StepContext(playbook: playbook, gateFloor: gateFloor)
        var steps: [PlanStep] = []
        for (number, handler) in running.enumerated() {
            if let step = context.step(handler, number: number + 1, substituter: &substituter) { steps.append(step) }
        }

        // Rollback steps undo handlers that completed, latest first.
        // Positions among the handlers that run (equal to `steps` whenever a plan is made), so
        // rollback steps are checked even when a handler they undo could not be planned.
        let position = Dictionary(running.enumerated().map { ($1.name?.value ?? "#\($0 + 1)", $0) }, uniquingKeysWith: { a, _ in a })
        var rollbackHandlers: [(Playbook.Handler, Int)] = []
        for (documentIndex, handler) in playbook.rollback.enumerated() {
            let name = handler.name?.value ?? "#\(documentIndex + 1)"
            guard let undoes = handler.undoes?.value, let undone = position[undoes] else {
                skipped.append(SkippedStep(handler: name, reason: "undoes \(handler.undoes?.value ?? "nothing"), which does not run"))
                continue
            }
            rollbackHandlers.append((handler, undone))
        }
        rollbackHandlers.sort { $0.1 != $1.1 ? $0.1 > $1.1 : false }
        var rollback: [PlanStep] = []
        for (number, (handler, _)) in rollbackHandlers.enumerated() {
            if let step = context.step(handler, number: number + 1, substituter: &substituter) { rollback.append(step) }
        }
        for i in steps.indices where steps[i].onFailure == "rollback" {
            steps[i].rollbackSteps = rollback.filter { step in step.undoes.flatMap { position[$0] }.map { $0 < i } ?? false }.map(\.handler)
        }

        diagnostics += substituter.diagnostics
        guard diagnostics.isEmpty else {
            diagnostics.sort { ($0.mark?.offset ?? -1, $0.code) < ($1.mark?.offset ?? -1, $1.code) }
            return .failure(PlanningFailure(diagnostics: diagnostics, refusedValues: substituter.refusedValues))
        }

        let mode = playbook.safety.effectiveMode
        let approvals = max(playbook.safety.approvalsRequired, 1)
        let executable = Plan.executableJSON(
            mode: mode, approvalsRequired: approvals, allowSelfApproval: playbook.safety.allowSelfApproval,
            approvalTimeoutSeconds: playbook.safety.approvalTimeoutSeconds, dryRunFirst: playbook.safety.dryRunFirst,
            inputs: inputs, steps: steps, skipped: skipped, rollback: rollback, signature: signature)
        let rollsBack = steps.contains { !$0.rollbackSteps.isEmpty }
        let summary = Plan.Summary(
            steps: steps.count, gated: steps.filter(\.gate.required).count, mutating: steps.filter(\.mutating).count,
            destructive: steps.filter(\.destructive).count, opaque: steps.filter { $0.fidelity == .opaque }.count,
            worstCaseSeconds: steps.reduce(0) { $0 + $1.worstCaseSeconds }
                + (rollsBack ? rollback.reduce(0) { $0 + $1.worstCaseSeconds } : 0),
            targets: touchedTargets(steps + rollback))
        return .success(
            Plan(
                playbook: Plan.PlaybookInfo(
                    name: playbook.metadata.name?.value ?? "", version: playbook.metadata.version?.value ?? "", path: path, digest: digest,
                    author: playbook.metadata.author?.value),
                mode: mode, approvalsRequired: approvals, allowSelfApproval: playbook.safety.allowSelfApproval,
                approvalTimeoutSeconds: playbook.safety.approvalTimeoutSeconds, dryRunFirst: playbook.safety.dryRunFirst,
                inputs: inputs, steps: steps, skipped: skipped, rollback: rollback, summary: summary,
                planDigest: ContentDigest.sha256(executable.canonicalBytes), signature: signature))
    }

    /// Runtime settings go into every command as written: a reference there would stay a raw
    /// `${{ }}` in the argv, and placeholder text would be filled in by the executor.
    static func literalRuntimeProblems(_ runtime: Playbook.RuntimeSpec) -> [Diagnostic] {
        var fields: [(String, String?, String, Mark?)] = []
        if let k8s = runtime.k8s {
            fields.append(("context", k8s.context?.value, k8s.context?.pointer ?? k8s.pointer, k8s.context?.mark ?? k8s.mark))
            fields.append(("namespace", k8s.namespace?.value, k8s.namespace?.pointer ?? k8s.pointer, k8s.namespace?.mark ?? k8s.mark))
        }
        if let docker = runtime.docker { fields.append(("host", docker.host, docker.pointer + "/host", docker.mark)) }
        if let shell = runtime.shell {
            fields.append(("interpreter", shell.interpreter, shell.pointer + "/interpreter", shell.mark))
            fields.append(("working_directory", shell.workingDirectory, shell.pointer + "/working_directory", shell.mark))
        }
        var out = fields.compactMap { name, value, pointer, mark -> Diagnostic? in
            guard let value, value.contains("${{") || Substituter.reservedMarkers.contains(where: value.contains) else { return nil }
            return PlanCode.unplannable.diagnostic(
                "runtime \(name) is used as written in every command; it cannot hold ${{ }} references or placeholder text",
                pointer: pointer, mark: mark)
        }
        for (name, value) in runtime.shell?.environment ?? [] where name.hasPrefix("WPK_SECRET_") {
            out.append(
                PlanCode.unplannable.diagnostic(
                    "environment variables named WPK_SECRET_… carry secrets into scripts; rename \(name)", pointer: value.pointer,
                    mark: value.mark))
        }
        return out
    }

    /// The places mutating steps change, in first-change order.
    private static func touchedTargets(_ steps: [PlanStep]) -> [TouchedTarget] {
        var out: [TouchedTarget] = []
        for step in steps where step.mutating {
            let target = step.target ?? "(script \(step.handler))"
            if let i = out.firstIndex(where: { $0.runtime == step.runtime && $0.scope == step.scope && $0.target == target }) {
                out[i].steps.append(step.handler)
            } else {
                out.append(TouchedTarget(runtime: step.runtime, scope: step.scope, target: target, steps: [step.handler]))
            }
        }
        return out
    }

    /// Evaluates a `when`: `${{ inputs.X }}`, `${{ !inputs.X }}`, `${{ inputs.X == 'v' }}` or `!=`.
    static func evaluate(_ when: Located<String>, inputs: [String: ResolvedValue]) -> Checked<Bool> {
        let text = when.value.trimmingSpaces
        let references = Templates.references(in: text)
        func unsupported() -> Checked<Bool> {
            .problem(
                PlanCode.unsupportedWhen.diagnostic(
                    "when must be one of ${{ inputs.X }}, ${{ !inputs.X }}, ${{ inputs.X == 'value' }} or ${{ inputs.X != 'value' }}",
                    pointer: when.pointer, mark: when.mark))
        }
        guard references.count == 1, references[0].utf8Range == 0..<text.utf8.count else { return unsupported() }
        var expression = references[0].expression
        var negated = false
        if expression.hasPrefix("!") {
            negated = true
            expression = String(expression.dropFirst()).trimmingSpaces
        }
        var comparison: (equal: Bool, literal: String)?
        for op in ["==", "!="] {
            guard let range = expression.range(of: op) else { continue }
            let literal = String(expression[range.upperBound...]).trimmingSpaces
            guard !negated, literal.count >= 2, let quote = literal.first, quote == "'" || quote == "\"", literal.last == quote else {
                return unsupported()
            }
            comparison = (op == "==", String(literal.dropFirst().dropLast()))
            expression = String(expression[..<range.lowerBound]).trimmingSpaces
            break
        }
        guard expression.hasPrefix("inputs."), let value = inputs[String(expression.dropFirst("inputs.".count))] else {
            return unsupported()
        }
        if case .secret = value {
            return .problem(
                PlanCode.secretInWhen.diagnostic(
                    "when reads secret input \(expression), whose value is only known at run time; decide on a non-secret input",
                    pointer: when.pointer, mark: when.mark))
        }
        if let comparison {
            return .value((value.substitutionText ?? "") == comparison.literal ? comparison.equal : !comparison.equal)
        }
        let truthy: Bool
        switch value {
        case .boolean(let b): truthy = b
        case .string(let s): truthy = !s.isEmpty && s != "false"
        case .integer(let n), .number(let n): truthy = !n.isZero
        case .secret, .absent: truthy = false
        }
        return .value(negated ? !truthy : truthy)
    }
}

/// Builds one `PlanStep` from a handler or rollback step.
private struct StepContext {
    let playbook: Playbook
    let gateFloor: MachinePolicy.GateFloor

    /// Stands for an environment value moved out of the argv while the catalogue renders it; only
    /// the entries moved are rewritten afterwards, so a literal value can never be mistaken for one.
    static let movedValue = "\u{0}"

    func step(_ handler: Playbook.Handler, number: Int, substituter: inout Substituter) -> PlanStep? {
        let name = handler.name?.value ?? "#\(number)"
        guard let runtime = handler.runtime?.value, let spec = handler.actionSpec else {
            substituter.report(
                PlanCode.unplannable.diagnostic(
                    "step \"\(name)\" has no known runtime and action, so wpk cannot say what it would run",
                    pointer: handler.pointer, mark: handler.mark))
            return nil
        }
        substituter.secretsUsed = []
        let before = substituter.diagnostics.count
        let scope = playbook.runtime.scope

        var target: String?
        if let written = handler.target {
            target = substituter.substitute(
                written.value, pointer: written.pointer, mark: written.mark,
                grammar: .target(spec.target, acceptsKindOnly: spec.acceptsKindOnly))
        }

        var params: [(name: Located<String>, value: Node)] = []
        var scriptArguments: [String] = []
        // Secrets reach the process through its environment, never its argv (visible to `ps`).
        var secretEnvironment: [(name: String, value: String)] = []
        for (paramName, node) in handler.params {
            guard let param = spec.param(paramName.value) else { continue }
            if runtime == .shell, spec.name == "script", param.name == "script", let text = node.scalar?.text {
                guard let (script, values, environment) = substituter.shellScript(text, pointer: paramName.pointer, mark: node.start) else {
                    continue
                }
                var copy = node
                copy.content = .scalar(Scalar(text: script, style: node.scalar?.style ?? .plain, value: .string(script)))
                params.append((paramName, copy))
                if !values.isEmpty { scriptArguments = ["wpk-\(name)"] + values }
                secretEnvironment += environment
                continue
            }
            if let replaced = substituter.substitute(node: node, pointer: paramName.pointer, grammar: .param(param.name, runtime: runtime))
            {
                params.append((paramName, replaced))
            }
        }
        var values = spec.paramValues(params)
        // `docker run --env NAME` takes the value from the docker client's environment.
        var movedToEnvironment: Set<String> = []
        if runtime == .docker, case .map(var env)? = values["env"] {
            for (key, value) in env where value.contains("<secret:") {
                secretEnvironment.append((key, value))
                env[key] = Self.movedValue
                movedToEnvironment.insert(key)
            }
            values["env"] = .map(env)
        }
        // `vault write PATH key=-` reads that field's value from standard input: one secret field
        // goes there (rule WPK331 refuses a second).
        var standardInput: String?
        if runtime == .shell, spec.name == "vault-write", case .map(var data)? = values["data"] {
            for key in data.keys.sorted() where standardInput == nil && data[key]!.contains("<secret:") {
                standardInput = data[key]
                data[key] = "-"
            }
            values["data"] = .map(data)
        }
        for (paramName, node) in params where values[paramName.value] == nil && spec.param(paramName.value) != nil {
            substituter.report(
                PlanCode.paramType.diagnostic(
                    "parameter \(paramName.value) of \(spec.name) must be a\(spec.param(paramName.value)!.type == .integer ? "n" : "") \(spec.param(paramName.value)!.type.rawValue); after substitution it is \(InputResolver.quoted(node.scalar?.text ?? "a collection"))",
                    pointer: paramName.pointer, mark: node.start))
        }

        var environment = secretEnvironment
        if runtime == .shell, let shell = playbook.runtime.shell {
            for (variable, value) in shell.environment {
                if let text = substituter.substitute(value.value, pointer: value.pointer, mark: value.mark, grammar: .free) {
                    environment.append((variable, text))
                }
            }
        }
        environment.sort { $0.name < $1.name }
        guard substituter.diagnostics.count == before else { return nil }

        func render(dryRun: Bool) -> [String] {
            spec.argv(target: target, params: values, scope: scope, dryRun: dryRun, scriptArguments: scriptArguments).map { element in
                guard element.hasSuffix("=" + Self.movedValue) else { return element }
                let key = String(element.dropLast(Self.movedValue.count + 1))
                return movedToEnvironment.contains(key) ? key : element
            }
        }
        let command = render(dryRun: false)
        let dryRun = spec.fidelity == .simulated ? [render(dryRun: true)] : []
        // Whatever the rules missed: a secret's value never goes in an argv (/proc/PID/cmdline).
        if let position = command.firstIndex(where: { $0.contains("<secret:") }) {
            substituter.report(
                PlanCode.unplannable.diagnostic(
                    "step \"\(name)\" would put a secret in argument \(position) of its command (\(DisplaySanitizer.sanitize(command[0]))), where any local account can read it; pass it in a script, docker run env or a vault-write data field",
                    pointer: handler.pointer, mark: handler.mark))
            return nil
        }
        // A read is idempotent by nature; a change only when the playbook says so.
        let idempotent = handler.idempotent ?? !spec.mutating
        let declared = handler.attempts
        let retry =
            idempotent
            ? PlanStep.RetrySchedule(
                maxAttempts: declared, delaysSeconds: handler.retryDelaysSeconds, idempotent: true, declaredAttempts: declared,
                note: handler.idempotent == nil && declared > 1 ? "retried: the step only reads" : nil)
            : PlanStep.RetrySchedule(
                maxAttempts: 1, delaysSeconds: [], idempotent: false, declaredAttempts: declared,
                note: declared > 1 ? "not retried: the step is not declared idempotent (idempotent: true)" : nil)
        let scopeText: String =
            switch runtime {
            case .k8s: "\(scope.k8sContext ?? "")/\(scope.k8sNamespace ?? "")"
            case .docker: scope.dockerHost ?? "local docker"
            case .shell: "local"
            }
        return PlanStep(
            number: number, handler: name, description: handler.description, runtime: runtime, action: spec.name,
            target: target, scope: scopeText, commands: [command], dryRunCommands: dryRun,
            environment: environment, workingDirectory: runtime == .shell ? playbook.runtime.shell?.workingDirectory : nil,
            mutating: spec.mutating, destructive: spec.destructive, fidelity: spec.fidelity,
            permissions: spec.requiredPermissions(target: runtime == .k8s ? target : nil),
            gate: gate(handler, spec), timeoutSeconds: handler.effectiveTimeoutSeconds, retry: retry,
            onFailure: handler.onFailure, rollbackSteps: [], dependsOn: handler.dependsOn.map(\.value),
            undoes: handler.undoes?.value, secrets: substituter.secretsUsed, standardInput: standardInput)
    }

    /// Gated when `Playbook.requiresApproval` says so, always for an opaque mutating step in
    /// manual mode (wpk cannot show what it would change), and for every step the machine
    /// policy's gate floor names in manual mode, whatever `requires_approval` says; every cause is listed.
    func gate(_ handler: Playbook.Handler, _ spec: ActionSpec) -> PlanStep.Gate {
        let manual = playbook.safety.effectiveMode == .manual
        let byDefault = playbook.requiresApproval(handler)
        let opaqueChange = spec.fidelity == .opaque && spec.mutating
        let byFloor = manual && gateFloor.gates(mutating: spec.mutating, destructive: spec.destructive)
        var reasons: [String] = []
        if handler.requiresApproval == true {
            reasons.append("requires_approval: true")
        } else if handler.requiresApproval == nil && byDefault {
            reasons.append("manual mode: the step changes state")
        } else if byFloor {
            reasons.append("machine policy gate: \(gateFloor.rawValue) (requires_approval: false does not lower it)")
        }
        let required = byDefault || (manual && opaqueChange) || byFloor
        if required && spec.destructive { reasons.append("destructive action") }
        if required && opaqueChange { reasons.append("opaque: wpk cannot preview what it changes") }
        return PlanStep.Gate(
            required: required, approvals: required ? max(playbook.safety.approvalsRequired, 1) : 0, reasons: required ? reasons : [])
    }
}

extension Substituter {
    /// Records a problem found outside substitution proper (param types, unknown actions).
    mutating func report(_ diagnostic: Diagnostic) { appendDiagnostic(diagnostic) }
}

/// A file checked and, when valid, planned: what `wpk plan`, `approve`, `run` and `review` all need.
public enum PlanOutcome: Sendable {
    /// The plan, with the file's report (no errors; warnings possible).
    case planned(Plan, FileReport)
    /// The file's report: its own errors, or the planning errors with the source for excerpts.
    case invalid(FileReport)

    /// The report either way.
    public var report: FileReport {
        switch self {
        case .planned(_, let report), .invalid(let report): report
        }
    }
}

extension Planner {
    /// The one path from bytes to a plan: load, schema, rules (`checker`), then plan with `inputs`,
    /// bound to the tools and files of the checker's `planEnvironment` when it has one.
    public static func plan(bytes: [UInt8], path: String, inputs: [String: String], checker: PlaybookChecker) -> PlanOutcome {
        let report = checker.check(bytes: bytes, path: path)
        guard report.isValid, let document = try? SourceDocument.load(bytes, path: path, limits: checker.limits) else {
            return .invalid(report)
        }
        switch plan(
            document, path: path, digest: report.digest ?? ContentDigest.sha256(bytes), inputs: inputs, signature: report.signature,
            gateFloor: checker.gateFloor)
        {
        case .success(var plan):
            if let environment = checker.planEnvironment {
                plan.bind(PlanBindings.compute(steps: plan.steps + plan.rollback, environment: environment))
            }
            return .planned(plan, report)
        case .failure(let failure):
            return .invalid(
                FileReport(
                    path: path, digest: report.digest, diagnostics: failure.diagnostics, lines: report.lines, signature: report.signature))
        }
    }
}
