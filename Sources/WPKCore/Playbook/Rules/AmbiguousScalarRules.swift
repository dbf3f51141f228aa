/// Plain scalars that YAML 1.1 tools (PyYAML, older Ansible, many CI linters) read differently.
enum AmbiguousScalarRules {
    static let ambiguous = RuleInfo("WPK314", .warning, "ambiguous-yaml11-scalar", "A plain scalar means something else to YAML 1.1 tools (yes/no/on/off, 0755, 1:30).")
    static let rules = [ambiguous]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        var out: [Diagnostic] = []
        forEachNode(context.root, pointer: "") { node, pointer, isKey in
            guard let scalar = node.scalar, let reading = CoreSchema.yaml11Reading(of: scalar) else { return }
            let what = isKey ? "key" : "value"
            let fix: String
            var here = "a string"
            if case .number(let number) = scalar.value {
                here = "the decimal number \(number)"
                fix = "write it as 0o\(scalar.text.drop(while: { $0 == "0" })) for an octal number or quote it for a string"
            } else if reading.hasPrefix("the boolean") {
                fix = "write \(reading.hasSuffix("true") ? "true" : "false") for a boolean or quote it (\"\(scalar.text)\") for a string"
            } else {
                fix = "quote it (\"\(scalar.text)\") for a string"
            }
            out.append(context.report(ambiguous, "\(what) \(scalar.text) is read as \(here) here but as \(reading) by YAML 1.1 tools; \(fix)", pointer: pointer, mark: node.start))
        }
        return out
    }
}
