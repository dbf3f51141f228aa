/// Bidirectional controls and other invisible format characters (Unicode category Cf) in a
/// playbook's strings: "Trojan Source" text that displays differently from what it is, as rustc's
/// `text_direction_codepoint_in_literal` and GCC's `-Wbidi-chars` report. An error where the string
/// can reach a command's argument vector, a warning elsewhere.
enum InvisibleCharacterRules {
    static let inCommand = RuleInfo(
        "WPK340", .error, "invisible-character-in-command",
        "A string that can reach a command (a step, the runtime, an input's default) holds a bidirectional control or another invisible format character."
    )
    static let inText = RuleInfo(
        "WPK341", .warning, "invisible-character",
        "A string that reaches no command (names, descriptions, metadata) holds a bidirectional control or another invisible format character."
    )
    static let rules = [inCommand, inText]

    /// Checks one scalar (key or value) of the shared walk (see `PlaybookRules.check`); only
    /// called for a document with non-ASCII text.
    static func visit(_ scalar: Scalar, _ node: Node, _ at: NodeVisit, _ context: RuleContext, into out: inout [Diagnostic]) {
        // Every Cf character is at least two UTF-8 bytes from a lead byte of 0xC2 up.
        guard scalar.text.utf8.contains(where: { $0 >= 0xC2 }) else { return }
        let pointer = at.pointer
        let reachesCommand = !at.isKey && reachesCommand(pointer)
        guard let found = scalar.text.unicodeScalars.first(where: { isInvisible($0, strict: reachesCommand) }) else { return }
        let name = found.properties.name ?? "a format character"
        let code = "U+" + String(found.value, radix: 16, uppercase: true).leftPaddedHex
        let what = at.isKey ? "key" : "value"
        let mark = SourceLocator.mark(of: String(found), in: node, lines: context.lines)
        if reachesCommand {
            out.append(
                context.report(
                    inCommand,
                    "\(what) holds the invisible character \(code) \(name), which would reach a command as it is while showing differently; remove it",
                    pointer: pointer, mark: mark))
        } else {
            out.append(
                context.report(
                    inText, "\(what) holds the invisible character \(code) \(name), so it shows differently from what it is; remove it",
                    pointer: pointer, mark: mark))
        }
    }

    /// Whether a value at `pointer` can become part of a command's argument vector: anything
    /// under a step or the runtime, and input defaults; descriptions never.
    static func reachesCommand(_ pointer: String) -> Bool {
        guard
            pointer.hasPrefix("/spec/handlers/") || pointer.hasPrefix("/spec/rollback/") || pointer.hasPrefix("/spec/runtime/")
                || (pointer.hasPrefix("/spec/inputs/") && pointer.hasSuffix("/default"))
        else { return false }
        return !pointer.hasSuffix("/description")
    }

    /// Bidirectional controls and the other format characters; outside commands the joiners
    /// (U+200C, U+200D), which Persian text and emoji sequences need, are allowed.
    static func isInvisible(_ scalar: Unicode.Scalar, strict: Bool) -> Bool {
        guard scalar.value >= 0xAD, scalar.properties.generalCategory == .format else { return false }
        return strict || (scalar.value != 0x200C && scalar.value != 0x200D)
    }
}

extension String {
    /// At least four hex digits, as U+ notation writes them.
    fileprivate var leftPaddedHex: String { count >= 4 ? self : String(repeating: "0", count: 4 - count) + self }
}
