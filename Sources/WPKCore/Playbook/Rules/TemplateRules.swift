/// `${{ … }}` references: each must name a declared input or a known run value.
enum TemplateRules {
    static let undeclared = RuleInfo(
        "WPK305", .error, "unknown-template-reference",
        "A `${{ }}` reference names an undeclared input or an unknown value, or is not closed.")
    static let rules = [undeclared]

    /// Checks one scalar of the shared walk (see `PlaybookRules.check`).
    static func visit(_ scalar: Scalar, _ node: Node, _ at: NodeVisit, _ context: RuleContext, into out: inout [Diagnostic]) {
        let text = scalar.text
        guard !at.isKey, text.utf8.count >= 3, text.containsBytes("${{"),
            !Templates.namesOnlyKnownValues(text, declared: context.declaredInputs)
        else { return }
        let pointer = at.pointer
        // A trigger's `inputs:` reads the event, not the inputs (TriggerRules checks those).
        if pointer.hasPrefix("/spec/triggers/") { return }
        let references = Templates.references(in: text)
        let problems = references.map { Self.problem($0, declared: context.declaredInputs) }
        guard problems.contains(where: { $0 != nil }) else { return }
        let marks = Templates.marks(of: references, in: node, lines: context.lines)
        for (problem, mark) in zip(problems, marks) {
            guard let problem else { continue }
            out.append(context.report(undeclared, problem, pointer: pointer, mark: mark))
        }
    }

    /// What is wrong with a reference, or nil.
    static func problem(_ reference: TemplateReference, declared: Set<String>) -> String? {
        if reference.expression.isEmpty {
            return "\"${{\" is not closed by \"}}\" or is empty; write ${{ inputs.NAME }}"
        }
        if reference.names.isEmpty {
            return "\"${{ \(reference.expression) }}\" names nothing wpk knows; write ${{ inputs.NAME }} or ${{ run.id }}"
        }
        for name in reference.names {
            // Names hold a dot (see `Templates.dottedNames`): split at the first one, on bytes.
            let dot = name.utf8.firstIndex(of: UInt8(ascii: ".")) ?? name.utf8.endIndex
            let namespace = Substring(name.utf8[..<dot])
            let member = dot == name.utf8.endIndex ? "" : String(Substring(name.utf8[name.utf8.index(after: dot)...]))
            switch namespace {
            case "inputs":
                if !declared.contains(member) {
                    let list =
                        declared.isEmpty
                        ? "declare it under spec.inputs"
                        : "declare it under spec.inputs (declared: \(declared.sorted().joined(separator: ", ")))"
                    return "input \"\(member)\" is not declared; \(list)"
                }
            case "run":
                if !Templates.runNames.contains(member) {
                    return "\"run.\(member)\" is not a run value; the only one is run.id"
                }
            default:
                return "\"\(name)\" is not a reference wpk knows; write inputs.NAME or run.id"
            }
        }
        return nil
    }
}
