/// Every diagnostic code wpk can report, with a one-line title (SARIF rules, docs).
public enum DiagnosticCatalog {
    /// Title of a code, or nil for an unknown one.
    public static func title(of code: String) -> String? {
        titles[code]
    }

    static let titles: [String: String] = {
        var titles: [String: String] = [
            PlaybookChecker.unreadableCode: "file cannot be read",
            PlaybookChecker.notFollowedCode: "symbolic link not followed out of the directory walked",
        ]
        for kind in YAMLError.Kind.allCases { titles[kind.rawValue] = YAMLError.title(of: kind) }
        for code in SchemaCode.allCases { titles[code.rawValue] = code.title }
        for rule in PlaybookRules.all { titles[rule.code] = rule.summary }
        for code in PlanCode.allCases { titles[code.rawValue] = code.title }
        for code in SignatureCode.allCases { titles[code.rawValue] = code.title }
        return titles
    }()
}
