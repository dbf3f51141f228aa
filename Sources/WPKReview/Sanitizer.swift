import WPKCore

/// Turns untrusted text into text that is safe to show: nothing a playbook holds may move the
/// cursor, change colours, reorder a line or hide characters.
///
/// Control characters (C0, DEL, C1) become `\xNN` (with `\t`, `\n`, `\r` for the common ones),
/// so an escape sequence is shown as `\x1b[31m` instead of being executed. Bidirectional overrides
/// and isolates, line and paragraph separators, and combining marks with nothing to combine with
/// become `<U+XXXX>`. Characters with an absurd number of combining marks ("zalgo") keep their
/// base and show the count. In ASCII-only mode (a non-UTF-8 locale) every non-ASCII character
/// becomes `<U+XXXX>` too, because the terminal could not draw it.
public enum Sanitizer {
    /// How one character is to be shown.
    public enum Shown: Equatable {
        /// Drawn as itself, taking this many columns (1 or 2).
        case plain(width: Int)
        /// Drawn as this visible escape text (ASCII, one column per byte).
        case escaped(String)
    }

    /// The most scalars a cluster may hold before its marks are summarized.
    static let maxClusterScalars = 6

    /// How to show one character.
    public static func classify(_ character: Character, asciiOnly: Bool) -> Shown {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return .escaped("") }
        if scalars.count == 1, first.value >= 0x20, first.value < 0x7F { return .plain(width: 1) }
        if Self.escape(first, asciiOnly: asciiOnly) != nil {
            // A dangerous first scalar: show every scalar of the cluster escaped, so nothing hides.
            return .escaped(scalars.map { Self.escape($0, asciiOnly: asciiOnly) ?? hex($0) }.joined())
        }
        if TextWidth.isZeroWidth(first) {
            // A mark with no base would combine with whatever the previous cell holds.
            return .escaped(scalars.map { hex($0) }.joined())
        }
        for scalar in scalars.dropFirst() where Self.escape(scalar, asciiOnly: asciiOnly) != nil {
            return .escaped(scalars.map { Self.escape($0, asciiOnly: asciiOnly) ?? hex($0) }.joined())
        }
        if scalars.count > maxClusterScalars {
            return .escaped("\(Self.escape(first, asciiOnly: true) ?? String(first))<+\(scalars.count - 1) marks>")
        }
        let width = TextWidth.width(of: character)
        return width == 0 ? .escaped(scalars.map { hex($0) }.joined()) : .plain(width: width)
    }

    /// The visible escape for a scalar that must not reach the terminal, or nil when it is safe:
    /// the project's one rule (`DisplaySanitizer`), plus everything non-ASCII in ASCII-only mode.
    static func escape(_ scalar: Unicode.Scalar, asciiOnly: Bool) -> String? {
        if DisplaySanitizer.mustEscape(scalar) { return DisplaySanitizer.escape(scalar) }
        if asciiOnly && scalar.value >= 0x80 { return hex(scalar) }
        return nil
    }

    /// `<U+XXXX>` for a scalar.
    static func hex(_ scalar: Unicode.Scalar) -> String {
        "<U+" + hexDigits(scalar.value, count: 4) + ">"
    }

    private static func hexDigits(_ value: UInt32, count: Int) -> String {
        let digits = String(value, radix: 16, uppercase: count > 2)
        return String(repeating: "0", count: max(0, count - digits.count)) + digits
    }

    /// The whole string made safe for a plain-text terminal (used for the exit summary).
    public static func visible(_ text: String, asciiOnly: Bool = false) -> String {
        var out = ""
        for character in text {
            switch classify(character, asciiOnly: asciiOnly) {
            case .plain: out.append(character)
            case .escaped(let escape): out += escape
            }
        }
        return out
    }
}
