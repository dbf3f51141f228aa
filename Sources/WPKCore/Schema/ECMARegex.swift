/// Schema patterns are ECMA-262 regular expressions; Foundation's engine is ICU. The two agree on
/// most syntax; this rewrites the escapes whose meaning differs (`\d`, `\w`, `\s` are ASCII or
/// ECMA-specific sets; `$` is the end of input only) so patterns mean what the schema author wrote.
enum ECMARegex {
    /// ECMA-262 `WhiteSpace` and `LineTerminator`, the set `\s` names.
    private static let whitespace = #"\t\n\u000B\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF"#

    /// The ICU form of an ECMA-262 pattern, or nil when the pattern ends inside an escape.
    static func translate(_ source: String) -> String? {
        var out = ""
        var inClass = false
        var iterator = source.unicodeScalars.makeIterator()
        while let c = iterator.next() {
            if c == "\\" {
                guard let next = iterator.next() else { return nil }
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
                default:
                    out.unicodeScalars.append("\\")
                    out.unicodeScalars.append(next)
                }
                continue
            }
            if inClass {
                if c == "]" { inClass = false }
                // `[` inside a class is literal in ECMA-262 but opens a nested set in ICU.
                if c == "[" { out += "\\[" ; continue }
                out.unicodeScalars.append(c)
                continue
            }
            switch c {
            case "[":
                inClass = true
                out += "["
                // A leading `]` or `^]` is literal in ICU but closes an empty class in ECMA; keep it simple.
            case "$":
                out += #"(?!(?s:.))"#
            default:
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
