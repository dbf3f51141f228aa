/// The diagnostics only planning can find, because they depend on the inputs given (WPK4xx).
/// `specs/plan-codes.md` documents each one; a test keeps the two in step.
public enum PlanCode: String, Sendable, CaseIterable {
    case missingInput = "WPK401"
    case undeclaredInput = "WPK402"
    case inputType = "WPK403"
    case inputPattern = "WPK404"
    case inputRange = "WPK405"
    case secretGiven = "WPK406"
    case inputTooLong = "WPK407"
    case leadingDash = "WPK410"
    case controlCharacter = "WPK411"
    case grammar = "WPK412"
    case reservedText = "WPK413"
    case paramType = "WPK414"
    case unsupportedWhen = "WPK415"
    case secretInWhen = "WPK416"
    case unplannable = "WPK420"

    /// Errors all: a plan is made only when none applies.
    public var severity: Diagnostic.Severity { .error }

    /// The kebab-case name of the code.
    public var name: String {
        switch self {
        case .missingInput: "missing-input"
        case .undeclaredInput: "undeclared-input"
        case .inputType: "input-type-mismatch"
        case .inputPattern: "input-pattern-mismatch"
        case .inputRange: "input-out-of-range"
        case .secretGiven: "secret-value-given"
        case .inputTooLong: "input-too-long"
        case .leadingDash: "value-starts-option"
        case .controlCharacter: "value-control-character"
        case .grammar: "value-breaks-grammar"
        case .reservedText: "reserved-placeholder-text"
        case .paramType: "param-type-after-substitution"
        case .unsupportedWhen: "unsupported-when"
        case .secretInWhen: "secret-in-when"
        case .unplannable: "step-cannot-be-planned"
        }
    }

    /// One sentence: what the code means (SARIF titles, the codes table).
    public var title: String {
        switch self {
        case .missingInput: "A required input has no value and no default."
        case .undeclaredInput: "A value was given for an input the playbook does not declare."
        case .inputType: "A value does not have its input's declared type."
        case .inputPattern: "A string value does not match its input's pattern."
        case .inputRange: "A numeric value lies outside its input's minimum and maximum."
        case .secretGiven: "A value was given for a secret input, which is only ever read from its secret_ref at run time."
        case .inputTooLong: "A value is longer than the limit for one argument."
        case .leadingDash:
            "A substituted value makes an argument start with '-' where the template did not, so a program would read it as an option."
        case .controlCharacter: "A substituted value contains a line break, NUL or another control character."
        case .grammar: "A substituted value does not fit the grammar of its argument (a Kubernetes name, a label value, a URL, a path)."
        case .reservedText: "Text contains `<secret:` or `<run.id>`, which plans reserve for values filled in at run time."
        case .paramType: "A parameter does not have the action's type once its references are substituted."
        case .unsupportedWhen: "A `when` condition is not one of the forms wpk evaluates."
        case .secretInWhen: "A `when` condition reads a secret input, whose value a plan never knows."
        case .unplannable: "A step cannot be planned (unknown action or runtime, or a dependency cycle)."
        }
    }

    /// A diagnostic of this code (source `rule`: planning checks are rules that need the inputs).
    func diagnostic(_ message: String, pointer: String = "", mark: Mark?) -> Diagnostic {
        Diagnostic(severity: severity, code: rawValue, source: .rule, message: message, pointer: pointer, mark: mark)
    }
}
