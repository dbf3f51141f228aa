/// Untrusted text (names, reasons, file content) made safe to print on a terminal.
public enum DisplayText {
    /// Replaces control characters, escape sequences and bidirectional overrides with visible
    /// `\u{…}` escapes, so stored text can never move the cursor, recolour the screen or reorder
    /// what an operator reads. Ordinary text, including non-Latin scripts and single emoji, is
    /// unchanged; format characters such as zero-width joiners show escaped.
    public static func sanitized(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x20 || (0x7F...0x9F).contains(v) { return true }
        switch scalar.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            // Format characters include the bidi overrides (U+202A-U+202E, U+2066-U+2069) and
            // zero-width characters that make two different names look identical.
            return true
        default:
            return false
        }
    }
}
