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

    @OptionGroup var planning: PlanningOptions

    @Argument(help: "The playbook file, or - for standard input.")
    var file: String

    func run() throws {
        let checker = try planning.checker()
        let given = try planning.inputs()
        let input: PlaybookInput = file == "-" ? .standardInput : .file(file)
        switch Planner.plan(input, inputs: given, checker: checker) {
        case .invalid(let report):
            self.report(report)
            throw ExitCode(1)
        case .planned(let plan, let checked):
            // The signature's diagnostic is in the plan's header already.
            var beside = checked
            beside.diagnostics.removeAll { SignatureCode(rawValue: $0.code) != nil }
            if format == .text, !beside.diagnostics.isEmpty {
                // Warnings go beside the plan, on standard error, so standard output stays the plan.
                var warnings = TextReporter(colors: TerminalColors(enabled: false), write: printErrorText)
                warnings.report(beside)
            }
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
