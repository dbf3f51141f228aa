/// Translation of ECMA-262 regular expressions to ICU syntax.
enum ECMARegex {
    static func translate(_ source: String) -> String? { source }
}
