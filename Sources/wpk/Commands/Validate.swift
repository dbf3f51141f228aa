import ArgumentParser
import Foundation
import WPKCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate playbooks against the schema and the WPK rules.",
        discussion: """
            PATH may be a file (always read), a directory (searched recursively for *.wpk.yaml and \
            *.wpk.yml) or - for standard input. Problems in one file never stop the others.
            Exit codes: 0 no errors, 1 at least one error diagnostic, 2 usage error.
            """
    )

    @Option(name: .long, help: "Output format: text, json or sarif.")
    var format: ReportFormat = .text

    @Option(name: .long, help: "The JSON Schema to validate against (default: the carried copy of specs/wpk_schema.yaml; see wpk schema).")
    var schema: String?

    @Flag(name: .long, help: "Assert every format the schema names (date-time, email, uri, regex, ...) instead of only annotating it.")
    var assertFormats = false

    @Flag(name: .long, help: "Apply the JSON Schema alone, without the WPK rules: any YAML or JSON document against any schema.")
    var schemaOnly = false

    @Option(name: .long, help: "Text output: most diagnostics shown per file, then a count of the rest (0: all; JSON and SARIF keep all).")
    var maxDiagnostics = TextReporter.defaultMaxDiagnostics

    @Option(name: .long, help: "Files checked at once (default: the number of processors).")
    var jobs: Int?

    @Argument(help: "Files, directories, or - for standard input.")
    var paths: [String]

    func validate() throws {
        guard maxDiagnostics >= 0 else { throw ValidationError("--max-diagnostics must be 0 (all) or more, got \(maxDiagnostics)") }
    }

    func run() throws {
        // Only the JSON report shows each file's digest.
        let checker = MachineTrust.checker(
            schema: try SchemaLocator.load(schema, assertFormats: assertFormats), appliesRules: !schemaOnly,
            recordsDigest: format == .json, rememberingVerdicts: true)
        var reporter = format.makeReporter(maxDiagnostics: maxDiagnostics)
        var summary = Summary()
        reporter.begin()
        // Files are checked in parallel, eight at a time per hand-over, and reported in the order
        // they were found; a window of a few dozen files per worker keeps memory flat however
        // many files there are.
        let workers = max(jobs ?? ProcessInfo.processInfo.activeProcessorCount, 1)
        // Each worker checks with a schema of its own (see `CompiledSchema.separateCopy`), made
        // when it gets its first file: one file never pays for a second compile.
        let checkers = CheckerHandout(checker)
        OrderedConcurrentMap.run(
            PlaybookFinder(argumentBytes: RawArguments.bytes(for: paths)), workers: workers, window: workers * 32, chunk: 8,
            makeTransform: {
                var own: PlaybookChecker?
                return { input in
                    if own == nil { own = checkers.take() }
                    return own!.check(input)
                }
            }
        ) { report in
            summary.add(report)
            reporter.report(report)
        }
        reporter.finish(summary)
        if summary.errors > 0 { throw ExitCode(1) }
    }
}

extension ReportFormat: ExpressibleByArgument {}

/// Hands the original checker to the first worker that asks and a separate copy to every other.
private final class CheckerHandout: @unchecked Sendable {
    private let original: PlaybookChecker
    private var originalTaken = false
    private let lock = NSLock()

    init(_ original: PlaybookChecker) { self.original = original }

    func take() -> PlaybookChecker {
        lock.lock()
        let first = !originalTaken
        originalTaken = true
        lock.unlock()
        return first ? original : original.separateCopy()
    }
}
