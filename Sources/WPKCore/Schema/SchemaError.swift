/// Why a schema could not be used: unreadable, not a valid 2020-12 schema, or a reference
/// that resolves nowhere. An environmental failure for whoever validates against it, so it throws.
public struct SchemaError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, for a person.
    public var message: String
    /// Where: the schema document's URI with a JSON-pointer fragment.
    public var location: String
    /// Position in the schema file, when the problem is in a loaded document.
    public var mark: Mark?
    /// Every problem the 2020-12 metaschema found, with positions in the schema file.
    public var diagnostics: [Diagnostic]

    /// An error with its message, schema location, position and any metaschema diagnostics.
    public init(_ message: String, location: String, mark: Mark?, diagnostics: [Diagnostic] = []) {
        self.message = message
        self.location = location
        self.mark = mark
        self.diagnostics = diagnostics
    }

    /// The message with its position, then one indented line per metaschema diagnostic.
    public var description: String {
        var text = mark.map { "\($0): " } ?? ""
        text += message
        if !location.isEmpty { text += " (at \(location))" }
        for diagnostic in diagnostics {
            text += "\n  " + (diagnostic.mark.map { "\($0): " } ?? "") + diagnostic.message + " [\(diagnostic.code)]"
        }
        return text
    }
}
