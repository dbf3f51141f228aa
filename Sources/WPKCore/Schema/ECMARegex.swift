/// Schema patterns are ECMA-262 regular expressions (read with the `u` flag, as JSON Schema
/// recommends); Foundation's engine is ICU. This checks the ECMA-262 syntax ICU would accept
/// but ECMA-262 forbids (`\a`, `(?i)`, `(?P<n>...)`, `(?#...)`), and rewrites what the two spell
/// differently (`\d`, `\w`, `\s` are ASCII or ECMA sets; `$` is the end of input only; `[]`, `[^]`;
/// `\v`; `[` inside a class), so a pattern means what the schema author wrote.
enum ECMARegex {
    /// ECMA-262 `WhiteSpace` and `LineTerminator`, the set `\s` names.
    private static let whitespace = #"\t\n\u000B\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF"#
    /// Escapes ECMA-262 defines that ICU reads the same way.
    private static let sameEscapes: Set<Unicode.Scalar> = [
        "f", "n", "r", "t", "b", "B", "x", "u", "p", "P", "k", "c",
        "^", "$", "\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "/", "-",
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ]

    /// The ICU form of an ECMA-262 pattern, or nil when the pattern is not valid ECMA-262.
    static func translate(_ source: String) -> String? {
        let scalars = Array(source.unicodeScalars)
        var out = ""
        var inClass = false
        var i = 0
        func peek(_ offset: Int) -> Unicode.Scalar? { i + offset < scalars.count ? scalars[i + offset] : nil }
        while i < scalars.count {
            let c = scalars[i]
            i += 1
            if c == "\\" {
                guard let next = peek(0) else { return nil }
                i += 1
                switch (next, inClass) {
                case ("d", false): out += "[0-9]"
                case ("d", true): out += "0-9"
                case ("D", false): out += "[^0-9]"
                case ("w", false): out += "[a-zA-Z0-9_]"
                case ("w", true): out += "a-zA-Z0-9_"
                case ("W", false): out += "[^a-zA-Z0-9_]"
                case ("s", false): out += "[" + whitespace + "]"
                case ("s", true): out += whitespace
                case ("S", false): out += "[^" + whitespace + "]"
                case ("v", _): out += #"\u000B"#
                case ("b", true): out += #"\u0008"#
                case ("D", true), ("W", true), ("S", true):
                    out += "\\" + String(next)
                default:
                    guard sameEscapes.contains(next) else { return nil }
                    if next == "c" {
                        guard let letter = peek(0), ("a"..."z").contains(letter) || ("A"..."Z").contains(letter) else { return nil }
                    }
                    out.unicodeScalars.append("\\")
                    out.unicodeScalars.append(next)
                }
                continue
            }
            if inClass {
                if c == "]" { inClass = false }
                // `[` inside a class is literal in ECMA-262 but opens a nested set in ICU.
                if c == "[" { out += "\\[" } else { out.unicodeScalars.append(c) }
                continue
            }
            switch c {
            case "[":
                if peek(0) == "]" {
                    out += "(?!)"  // the empty class matches nothing
                    i += 1
                } else if peek(0) == "^", peek(1) == "]" {
                    out += #"[\s\S]"#  // the negated empty class matches any character
                    i += 2
                } else {
                    inClass = true
                    out += "["
                }
            case "(":
                if peek(0) == "?" {
                    // ECMA-262 groups: (?:  (?=  (?!  (?<=  (?<!  (?<name>; no inline flags, comments or (?P.
                    switch (peek(1), peek(2)) {
                    case (":"?, _), ("="?, _), ("!"?, _), ("<"?, "="?), ("<"?, "!"?): break
                    case ("<"?, let first?) where first.properties.isAlphabetic || first == "_" || first == "$": break
                    default: return nil
                    }
                }
                out += "("
            case "$":
                out += #"(?!(?s:.))"#
            default:
                out.unicodeScalars.append(c)
            }
        }
        return inClass ? nil : out
    }
}
