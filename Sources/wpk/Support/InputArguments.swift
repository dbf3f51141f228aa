import ArgumentParser
import WPKCore

/// `--values FILE` and `--set KEY=VALUE` as one map of input values (values never echoed in errors).
enum InputArguments {
    static func parse(set: [String], valuesFile: String?) throws -> [String: String] {
        var given: [String: String] = [:]
        if let valuesFile {
            let bytes: [UInt8]
            switch SourceReader.contents(of: valuesFile == "-" ? .standardInput : .file(valuesFile), limit: 1 << 20) {
            case .success(let read): bytes = read
            case .failure(.unreadable(let reason)):
                throw UsageFailure("cannot read --values \(DisplaySanitizer.sanitize(valuesFile)): \(reason)")
            case .failure(.tooLarge(let limit)):
                throw UsageFailure("--values \(DisplaySanitizer.sanitize(valuesFile)) is larger than \(limit) bytes")
            }
            let document: Document
            do { document = try YAMLLoader.load(bytes) } catch {
                throw UsageFailure(
                    "--values \(DisplaySanitizer.sanitize(valuesFile)):\(error.mark.line):\(error.mark.column): \(DisplaySanitizer.sanitize(error.message))"
                )
            }
            guard let entries = document.root.mapping else {
                throw UsageFailure("--values \(DisplaySanitizer.sanitize(valuesFile)) must be a mapping of input names to values")
            }
            for entry in entries {
                guard let scalar = entry.value.scalar else {
                    throw UsageFailure(
                        "--values \(DisplaySanitizer.sanitize(valuesFile)):\(entry.value.start.line):\(entry.value.start.column): the value of \(DisplaySanitizer.sanitize(entry.keyText)) must be a single value, not a list or mapping"
                    )
                }
                given[entry.keyText] = scalar.text
            }
        }
        for (index, argument) in set.enumerated() {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                // Never echo the argument: it may be a secret typed in the wrong place.
                throw UsageFailure("--set #\(index + 1) is not KEY=VALUE")
            }
            given[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
        }
        return given
    }
}

/// `--set`, `--values` and `--schema`: what every command that plans a playbook takes.
struct PlanningOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("An input value (repeatable).", valueName: "KEY=VALUE"))
    var set: [String] = []

    @Option(name: .long, help: ArgumentHelp("A YAML file mapping input names to values.", valueName: "FILE"))
    var values: String?

    @Option(name: .long, help: "The JSON Schema to validate against (default: specs/wpk_schema.yaml).")
    var schema: String?

    /// The input values, `--values` first, then `--set` (later wins).
    func inputs() throws -> [String: String] { try InputArguments.parse(set: set, valuesFile: values) }

    /// The checker with the chosen (or default) schema and the machine's signature trust and gate
    /// floor; an unusable schema is a usage error.
    /// Plans bind the tools and files of this process's environment (and the `--values` file).
    func checker() throws -> PlaybookChecker {
        var checker = try MachineTrust.checker(schema: SchemaLocator.load(schema))
        checker.planEnvironment = BindingEnvironment.current(valuesFile: values)
        return checker
    }
}
