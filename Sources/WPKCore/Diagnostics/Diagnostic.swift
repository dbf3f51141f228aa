/// One problem found in a file: what, where, how bad, and who found it.
///
/// Problems in content are values, never thrown errors; only environmental failures throw.
public struct Diagnostic: Sendable, Equatable {
    public enum Severity: String, Sendable, Comparable, CaseIterable {
        case error, warning, info

        private var rank: Int {
            switch self {
            case .error: 0
            case .warning: 1
            case .info: 2
            }
        }

        /// Errors sort first.
        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    /// What found the problem (the contract's `source` field).
    public enum Source: String, Sendable {
        /// Reading the file: encoding, syntax, duplicate keys, limits.
        case yaml
        /// The JSON Schema.
        case schema
        /// A WPK semantic rule.
        case rule
    }

    public var severity: Severity
    /// Stable code, e.g. `WPK103`.
    public var code: String
    public var source: Source
    /// A message a person understands, with the fix where there is one.
    public var message: String
    /// RFC 6901 pointer to the offending node ("" for the whole document).
    public var pointer: String
    /// Position of the offending node; nil only where none exists (an unreadable file).
    public var mark: Mark?

    public init(severity: Severity, code: String, source: Source, message: String, pointer: String = "", mark: Mark?) {
        self.severity = severity
        self.code = code
        self.source = source
        self.message = message
        self.pointer = pointer
        self.mark = mark
    }

    /// The diagnostic for a file that could not be read as YAML.
    public init(_ error: YAMLError) {
        self.init(severity: .error, code: error.code, source: .yaml, message: error.message, pointer: error.pointer, mark: error.mark)
    }
}
