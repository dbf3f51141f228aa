import ArgumentParser
import WPKCore

/// `wpk plan`: the dry-run plan of a playbook with its inputs. Nothing is executed.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show exactly what a playbook would run, in order, under which gates (nothing is executed).",
        discussion: """
            Inputs come from --values FILE (a YAML mapping), then --set KEY=VALUE (later wins), then \
            the defaults in spec.inputs. Secret inputs are never given: the plan names where each is \
            read at run time. The fingerprint printed last (the plan digest's first 12 hex digits) is \
            what `wpk approve --plan` takes.
            Exit codes: 0 a plan, 1 the playbook or its inputs have errors (printed as diagnostics), \
            2 usage error.
            """
    )

    @Option(name: .long, help: "Output format: text or json.")
    var format: PlanFormat = .text

    @Option(name: .long, help: ArgumentHelp("An input value (repeatable).", valueName: "KEY=VALUE"))
    var set: [String] = []

    @Option(name: .long, help: ArgumentHelp("A YAML file mapping input names to values.", valueName: "FILE"))
    var values: String?

    @Option(name: .long, help: "The JSON Schema to validate against (default: specs/wpk_schema.yaml).")
    var schema: String?

    @Argument(help: "The playbook file, or - for standard input.")
    var file: String

    func run() throws {
        let checker = PlaybookChecker(schema: try SchemaLocator.load(schema))
        let given = try InputArguments.parse(set: set, valuesFile: values)
        let input: PlaybookInput = file == "-" ? .standardInput : .file(file)
        let bytes: [UInt8]
        switch SourceReader.contents(of: input) {
        case .success(let read): bytes = read
        case .failure:
            // The checker turns an unreadable file into the right diagnostic.
            report(checker.check(input))
            throw ExitCode(1)
        }
        let checked = checker.check(bytes: bytes, path: input.displayPath)
        guard checked.isValid, let document = try? YAMLLoader.load(bytes) else {
            report(checked)
            throw ExitCode(1)
        }
        switch Planner.plan(document, path: input.displayPath, digest: checked.digest ?? ContentDigest.sha256(bytes), inputs: given) {
        case .failure(let failure):
            report(FileReport(path: checked.path, digest: checked.digest, diagnostics: failure.diagnostics, lines: checked.lines))
            throw ExitCode(1)
        case .success(let plan):
            switch format {
            case .text: writeOut(PlanTextPrinter.render(plan))
            case .json: writeOut(plan.json.serialized(.pretty) + "\n")
            }
        }
    }

    /// Diagnostics in the validate formats: compiler-style text, or validate's JSON object.
    private func report(_ file: FileReport) {
        var summary = Summary()
        summary.add(file)
        var reporter: any Reporter = format == .json ? JSONReporter() : TextReporter(colors: TerminalColors.forStandardOutput())
        reporter.begin()
        reporter.report(file)
        reporter.finish(summary)
    }
}

/// Output formats of `wpk plan`.
enum PlanFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}

/// `--values FILE` and `--set KEY=VALUE` as one map of input values (values never echoed in errors).
enum InputArguments {
    static func parse(set: [String], valuesFile: String?) throws -> [String: String] {
        var given: [String: String] = [:]
        if let valuesFile {
            let bytes: [UInt8]
            switch SourceReader.contents(of: valuesFile == "-" ? .standardInput : .file(valuesFile), limit: 1 << 20) {
            case .success(let read): bytes = read
            case .failure(.unreadable(let reason)): throw UsageFailure("cannot read --values \(DisplaySanitizer.sanitize(valuesFile)): \(reason)")
            case .failure(.tooLarge(let limit)): throw UsageFailure("--values \(DisplaySanitizer.sanitize(valuesFile)) is larger than \(limit) bytes")
            }
            let document: Document
            do { document = try YAMLLoader.load(bytes) } catch {
                throw UsageFailure("--values \(DisplaySanitizer.sanitize(valuesFile)):\(error.mark.line):\(error.mark.column): \(DisplaySanitizer.sanitize(error.message))")
            }
            guard let entries = document.root.mapping else {
                throw UsageFailure("--values \(DisplaySanitizer.sanitize(valuesFile)) must be a mapping of input names to values")
            }
            for entry in entries {
                guard let scalar = entry.value.scalar else {
                    throw UsageFailure("--values \(DisplaySanitizer.sanitize(valuesFile)):\(entry.value.start.line):\(entry.value.start.column): the value of \(DisplaySanitizer.sanitize(entry.keyText)) must be a single value, not a list or mapping")
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
