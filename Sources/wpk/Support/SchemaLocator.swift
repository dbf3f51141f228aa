import Foundation
import WPKCore

/// Finds and compiles the WPK schema: `--schema FILE`, else `specs/wpk_schema.yaml` beside the
/// installation (searched upward from the executable, which covers `swift run` and `.build/*/wpk`),
/// else the system share directories.
enum SchemaLocator {
    static let bundledRelativePath = "specs/wpk_schema.yaml"

    /// The default schema file, or nil when none is installed.
    static func defaultSchemaPath() -> String? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if let executable = Bundle.main.executableURL {
            directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        }
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent(bundledRelativePath).path
            if FileManager.default.isReadableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        for candidate in ["/usr/local/share/wpk/wpk_schema.yaml", "/usr/share/wpk/wpk_schema.yaml"]
        where FileManager.default.isReadableFile(atPath: candidate) {
            return candidate
        }
        return nil
    }

    /// The compiled schema, or a usage error (exit 2) that says what is wrong with it.
    static func load(_ path: String?) throws -> CompiledSchema {
        guard let path = path ?? defaultSchemaPath() else {
            throw UsageFailure("cannot find the WPK schema (\(bundledRelativePath)); name one with --schema FILE")
        }
        do {
            return try CompiledSchema(contentsOfFile: path, verdicts: VerdictDirectory.standard())
        } catch {
            var lines = ["cannot use schema \(path): \(error.message)"]
            for diagnostic in error.diagnostics.prefix(20) {
                let position = diagnostic.mark.map { ":\($0.line):\($0.column)" } ?? ""
                lines.append("\(path)\(position): error: \(diagnostic.message) [\(diagnostic.code)]")
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
