/// Why a file could not be read as one YAML document; every case carries the position to show.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of failure, each with its stable diagnostic code.
    public enum Kind: String, Sendable, CaseIterable {
        case syntax = "WPK101"
        case encoding = "WPK102"
        case duplicateKey = "WPK103"
        case multipleDocuments = "WPK104"
        case nonScalarKey = "WPK105"
        case unsupportedTag = "WPK106"
        case aliasLimit = "WPK107"
        case depthLimit = "WPK108"
        case sizeLimit = "WPK109"
        case undefinedAlias = "WPK110"
        case noDocument = "WPK111"
        case invalidValue = "WPK112"
        case invalidMerge = "WPK113"
        case nodeLimit = "WPK114"
    }

    public var kind: Kind

    /// A one-line title per kind, for rule tables (SARIF, docs).
    public static func title(of kind: Kind) -> String {
        switch kind {
        case .syntax: "YAML syntax error"
        case .encoding: "file is not UTF-8 text"
        case .duplicateKey: "duplicate mapping key"
        case .multipleDocuments: "more than one YAML document"
        case .nonScalarKey: "mapping key is not a scalar"
        case .unsupportedTag: "tag other than the YAML core tags"
        case .aliasLimit: "aliases expand past the limit"
        case .depthLimit: "nesting past the depth limit"
        case .sizeLimit: "file past the size limit"
        case .undefinedAlias: "alias to an undefined anchor"
        case .noDocument: "no YAML document"
        case .invalidValue: "value invalid for its tag or out of range"
        case .invalidMerge: "merge key value is not a mapping"
        case .nodeLimit: "document past the node limit"
        }
    }
    public var message: String
    public var mark: Mark
    /// RFC 6901 pointer to where in the document the problem is ("" when not inside it).
    public var pointer: String

    public init(_ kind: Kind, _ message: String, at mark: Mark, pointer: String = "") {
        self.kind = kind
        self.message = message
        self.mark = mark
        self.pointer = pointer
    }

    /// The stable diagnostic code, e.g. `WPK103`.
    public var code: String { kind.rawValue }
    public var description: String { "\(mark): \(message) [\(code)]" }
}
