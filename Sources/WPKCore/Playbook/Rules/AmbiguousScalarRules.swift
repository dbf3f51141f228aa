/// Plain scalars that YAML 1.1 tools (PyYAML, older Ansible, many CI linters) read differently.
enum AmbiguousScalarRules {
    static let ambiguous = RuleInfo(
        "WPK314", .warning, "ambiguous-yaml11-scalar", "A plain scalar means something else to YAML 1.1 tools (yes/no/on/off, 0755, 1:30).")
    static let rules = [ambiguous]

    /// A cheap filter before the full reading: the YAML 1.1 booleans are at most three letters,
    /// and octal and base-60 numbers start with a digit or a sign.
    static func mayBeAmbiguous(_ text: String) -> Bool {
        guard let first = text.utf8.first else { return false }
        return text.utf8.count <= 3 || (first >= 0x30 && first <= 0x39) || first == 0x2B || first == 0x2D
    }

    /// Checks one scalar of the shared walk (see `PlaybookRules.check`).
    static func visit(_ scalar: Scalar, _ node: Node, _ at: NodeVisit, _ context: RuleContext, into out: inout [Diagnostic]) {
        guard scalar.style == .plain, Self.mayBeAmbiguous(scalar.text), let reading = CoreSchema.yaml11Reading(of: scalar) else { return }
        let what = at.isKey ? "key" : "value"
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
        out.append(
            context.report(
                ambiguous, "\(what) \(scalar.text) is read as \(here) here but as \(reading) by YAML 1.1 tools; \(fix)",
                pointer: at.pointer, mark: node.start))
    }
}
