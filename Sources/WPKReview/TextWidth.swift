/// How many terminal columns text occupies, as a terminal following Unicode's East Asian Width
/// and `wcwidth` conventions draws it.
///
/// A compact table rather than the full Unicode data: zero width for combining and enclosing marks,
/// format characters and variation selectors (from Swift's own Unicode properties), two columns for
/// the East Asian Wide and Fullwidth blocks below and for emoji with default emoji presentation,
/// one column for everything else. Ambiguous-width characters count as one, as terminals do in
/// non-CJK locales. The painter places every cell at its own position, so a terminal that disagrees
/// about one character cannot shift the rest of the row.
public enum TextWidth {
    /// Inclusive ranges of East Asian Wide (W) and Fullwidth (F) code points.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0,
        0x23F3...0x23F3, 0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F,
        0x2693...0x2693, 0x26A1...0x26A1, 0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5,
        0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA, 0x26F2...0x26F3, 0x26F5...0x26F5,
        0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B, 0x2728...0x2728,
        0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
        0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55,
        0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
        0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF,
        0x1F004...0x1F004, 0x1F0CF...0x1F0CF, 0x1F18E...0x1F18E, 0x1F191...0x1F19A,
        0x1F200...0x1F251, 0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB,
        0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    /// Columns one Unicode scalar occupies: 0, 1 or 2.
    public static func width(of scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x300 { return 1 }  // Latin fast path; controls never reach here sanitized.
        if isZeroWidth(scalar) { return 0 }
        if isWide(value) { return 2 }
        return 1
    }

    /// Whether a scalar draws nothing on its own and joins the character before it.
    public static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value == 0x200B || value == 0x200C || value == 0x200D || value == 0x2060 { return true }
        if (0xFE00...0xFE0F).contains(value) || (0xE0100...0xE01EF).contains(value) { return true }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return false
        }
    }

    private static func isWide(_ value: UInt32) -> Bool {
        var low = 0
        var high = wideRanges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let range = wideRanges[mid]
            if value < range.lowerBound {
                high = mid - 1
            } else if value > range.upperBound {
                low = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    /// Columns one grapheme cluster occupies: the widest of its scalars, at most 2.
    public static func width(of character: Character) -> Int {
        // A flag is a pair of regional indicators, drawn as one wide glyph.
        let scalars = character.unicodeScalars
        if scalars.count >= 2, let first = scalars.first, (0x1F1E6...0x1F1FF).contains(first.value) { return 2 }
        var widest = 0
        for scalar in character.unicodeScalars {
            widest = max(widest, width(of: scalar))
            // An emoji presentation selector makes the cluster wide, as terminals draw it.
            if scalar.value == 0xFE0F && widest == 1 { widest = 2 }
            if widest == 2 { break }
        }
        return widest
    }

    /// Columns a string occupies once sanitized, as `Screen.put` would draw it.
    public static func width(of text: String, asciiOnly: Bool = false) -> Int {
        var total = 0
        for character in text {
            switch Sanitizer.classify(character, asciiOnly: asciiOnly) {
            case .plain(let width): total += width
            case .escaped(let text): total += text.utf8.count
            }
        }
        return total
    }
}
