/// Makes untrusted text safe to show on a terminal: nothing from a playbook may reach the
/// terminal as a control sequence or silently reorder what the reader sees.
public enum DisplaySanitizer {
    /// Whether a scalar must be shown as a visible escape instead of itself: C0 and C1 controls,
    /// DEL, and every format character (bidirectional overrides and isolates, zero-width
    /// characters that make two names look identical), line and paragraph separators, private-use
    /// and unassigned code points. Ordinary text in any script, and emoji, pass unchanged.
    public static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
        if value < 0x7F { return false }
        // The zero-width joiner builds emoji sequences (👩‍💻); alone it hides nothing that matters here.
        if value == 0x200D { return false }
        switch scalar.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return true
        default:
            return false
        }
    }

    /// The visible escape of a scalar: `\t`, `\n`, `\x1b`, `<U+202E>`.
    public static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\t": return "\\t"
        case "\n": return "\\n"
        case "\r": return "\\r"
        default:
            if scalar.value < 0x100 {
                let hex = String(scalar.value, radix: 16)
                return "\\x" + (hex.count == 1 ? "0" : "") + hex
            }
            return "<U+" + String(scalar.value, radix: 16, uppercase: true) + ">"
        }
    }

    /// The text with every unsafe scalar replaced by its visible escape.
    public static func sanitize(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: mustEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if mustEscape(scalar) {
                out.append(contentsOf: escape(scalar).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
