import ArgumentParser
import WPKCore

/// `wpk schema`: prints the WPK schema the binary carries, for editors and other validators.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the WPK schema this wpk carries (JSON Schema 2020-12).",
        discussion: """
            The carried copy of specs/wpk_schema.yaml, used whenever --schema is not given. \
            --format yaml prints it byte for byte; --format json prints the same schema as JSON \
            (for validators that read only JSON). Exit codes: 0 printed, 2 usage error.
            """
    )

    @Option(name: .long, help: "Output format: yaml (the exact text) or json.")
    var format: SchemaFormat = .yaml

    enum SchemaFormat: String, ExpressibleByArgument, CaseIterable {
        case yaml, json
    }

    func run() throws {
        switch format {
        case .yaml:
            writeOut(EmbeddedWPKSchema.text)
        case .json:
            guard let document = try? YAMLLoader.load(EmbeddedWPKSchema.text) else {
                throw UsageFailure("the carried schema does not parse; this wpk was built from a broken \(EmbeddedWPKSchema.sourcePath)")
            }
            writeOut(JSONValue(document.root).serialized(.pretty) + "\n")
        }
    }
}
