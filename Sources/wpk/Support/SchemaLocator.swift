import Foundation
import WPKCore

/// Compiles the WPK schema: `--schema FILE`, else the copy the binary carries
/// (`EmbeddedWPKSchema`, generated from specs/wpk_schema.yaml), so an installed wpk works from
/// any directory without files beside it.
enum SchemaLocator {
    /// The compiled schema, or a usage error (exit 2) that says what is wrong with it.
    /// `assertFormats` asserts `format` (date-time, regex, ...) instead of only annotating it;
    /// the carried WPK schema always asserts its formats (its one is `regex`, of input patterns:
    /// a pattern that does not compile is reported where it is written, not as a failed match).
    static func load(_ path: String?, assertFormats: Bool = false) throws -> CompiledSchema {
        let options = CompiledSchema.Options(assertFormats: assertFormats || path == nil)
        do {
            guard let path else { return try CompiledSchema.embeddedWPK(options: options, verdicts: VerdictDirectory.standard()) }
            return try CompiledSchema(contentsOfFile: path, options: options, verdicts: VerdictDirectory.standard())
        } catch {
            let name = path ?? "the carried \(EmbeddedWPKSchema.sourcePath)"
            var lines = ["cannot use schema \(name): \(error.message)"]
            for diagnostic in error.diagnostics.prefix(20) {
                let position = diagnostic.mark.map { ":\($0.line):\($0.column)" } ?? ""
                lines.append("\(path ?? EmbeddedWPKSchema.sourcePath)\(position): error: \(diagnostic.message) [\(diagnostic.code)]")
            }
            throw UsageFailure(lines.map(DisplaySanitizer.sanitize).joined(separator: "\n"))
        }
    }
}

/// A usage problem found after parsing (unreadable `--schema`, bad `--set`): printed, exit 2.
struct UsageFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
