import ArgumentParser
import Foundation
import WPKCore

/// `wpk run`: executes a playbook's plan, waiting at every gated step for approval.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Execute a playbook, waiting at each gated step for approval.",
        discussion: """
            Prints the run id first, then progress. At a gated step the run records that it waits and \
            waits for `wpk approve --run RUN_ID`, a rejection, `wpk cancel RUN_ID`, or the approval \
            deadline. Ctrl-C, SIGTERM or SIGHUP stop the current step's process group and end the run. \
            kubectl, docker and vault are found on PATH unless WPK_KUBECTL, WPK_DOCKER or WPK_VAULT name them.
            Exit codes: 0 every step succeeded, 1 a step failed, the run was rejected, expired, \
            cancelled or interrupted, or the playbook is invalid, 2 usage error.
            """
    )

    @OptionGroup var ledgerOptions: LedgerOptions

    @OptionGroup var planning: PlanningOptions

    @OptionGroup var signing: SigningOptions

    @Option(name: .long, help: ArgumentHelp("Seconds between SIGTERM and SIGKILL when a step is stopped.", valueName: "SECONDS"))
    var gracePeriod: Double = 5

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How the run was started, as JSON {\"kind\": \"webhook\"|\"alertmanager\"|\"schedule\"|\"cli\", \"trigger\": TEXT, \"source\": TEXT}; recorded on run_started (wpk serve passes it; informational, the record's operator stays authoritative). Default: cli, by this account.",
            valueName: "JSON"))
    var startedBy: String?

    @Argument(help: "The playbook file, or - for standard input.")
    var file: String

    func run() throws {
        guard gracePeriod >= 0, gracePeriod <= 600 else { throw UsageFailure("--grace-period must be between 0 and 600 seconds") }
        let origin = try startedBy.map(Self.parseStartedBy) ?? StartedBy.commandLine(Operator.current())
        let checker = try planning.checker()
        let given = try planning.inputs()
        let input: PlaybookInput = file == "-" ? .standardInput : .file(file)
        let initialBytes: [UInt8]
        switch SourceReader.contents(of: input, limit: checker.limits.maxFileBytes) {
        case .success(let read): initialBytes = read
        case .failure:
            TextReporter(colors: TerminalColors.forStandardOutput()).reportOne(checker.check(input))
            throw ExitCode(1)
        }
        let path = input.displayPath
        let plan: Plan
        switch Planner.plan(bytes: initialBytes, path: path, inputs: given, checker: checker) {
        case .planned(let made, _): plan = made
        case .invalid(let report):
            TextReporter(colors: TerminalColors.forStandardOutput()).reportOne(report)
            throw ExitCode(1)
        }
        // At each gate the file is read again: what runs must still be what was approved.
        // Standard input cannot change, so its first bytes stand.
        let replan: () -> PlanOutcome = {
            if case .file = input { return Planner.plan(input, inputs: given, checker: checker) }
            return Planner.plan(bytes: initialBytes, path: path, inputs: given, checker: checker)
        }

        let environment = ProcessInfo.processInfo.environment
        // The same programs the plan's bindings resolved (`checker.planEnvironment`).
        let programs = BindingEnvironment.programs(from: environment)
        let policy = MachinePolicy.load()
        let ledger = try ledgerOptions.chosen("wpk run", policy: policy)
        if !ledger.isTeamLedger { printError("wpk run: \(DisplaySanitizer.sanitize(ledger.managementNote))") }
        let settings = RunSettings(
            ledger: ledger, runID: RunSettings.newRunID(), operator: Operator.current(),
            policy: policy, environment: environment,
            programs: programs, inputNames: Array(given.keys), gracePeriodSeconds: gracePeriod,
            startedBy: origin, signer: try signing.signer(policy: policy, required: false))
        warnAboutUnknownOutcomes(of: plan, in: settings.ledger)
        let interrupt = RunInterrupt()
        let signals = SignalForwarder(interrupt: interrupt)
        defer { withExtendedLifetime(signals) {} }
        let printer = RunProgressPrinter()
        let executor = RunExecutor(
            settings: settings, interrupt: interrupt, replan: replan,
            onEvent: printer.event, onOutput: printer.output)
        let report: RunReport
        do {
            report = try executor.run(plan)
        } catch {
            printError("wpk run: \(error); the run \(settings.runID) stopped")
            throw ExitCode(1)
        }
        if !report.succeeded { throw ExitCode(1) }
    }
}

extension Run {
    /// `--started-by`'s JSON, or a usage error saying what it must hold.
    static func parseStartedBy(_ text: String) throws -> StartedBy {
        guard text.utf8.count <= 4 * StartedBy.maxTextBytes, let value = try? JSONValue.parse(Array(text.utf8), maxDepth: 2),
            let read = StartedBy(json: value)
        else {
            throw UsageFailure("--started-by takes {\"kind\": cli|webhook|alertmanager|schedule, \"trigger\": TEXT, \"source\": TEXT}")
        }
        return StartedBy(kind: read.kind, trigger: read.trigger, source: read.source)
    }
}

/// Earlier runs of the same playbook that stopped with a started step of unknown outcome: the
/// operator should check what they did before running again (nothing resumes or retries them).
private func warnAboutUnknownOutcomes(of plan: Plan, in ledger: any LedgerBackend) {
    guard let records = try? ledger.read().records else { return }
    let s = DisplaySanitizer.sanitize
    for run in LedgerState(records: records).runOverview(at: Date()) where run.history.playbook == plan.playbook.name {
        guard case .processGone(let open) = run.status, !open.isEmpty else { continue }
        printError(
            "warning: run \(s(run.history.id)) of \(s(plan.playbook.name)) stopped without finishing; outcome unknown for \(open.map(s).joined(separator: ", ")) (cancel it with `wpk cancel \(s(run.history.id)) --reason ...` once checked)"
        )
    }
}

/// Turns SIGINT, SIGTERM and SIGHUP (an SSH session dropping) into a tripped `RunInterrupt`,
/// so the run stops its step's process group and records why instead of dying mid-step.
final class SignalForwarder {
    private var sources: [DispatchSourceSignal] = []

    init(interrupt: RunInterrupt) {
        // The output may go to a closed SSH channel: a write error must not kill the run.
        signal(SIGPIPE, SIG_IGN)
        for (number, name) in [(SIGINT, "SIGINT (Ctrl-C)"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { interrupt.trigger(name) }
            source.resume()
            sources.append(source)
        }
    }

    deinit { sources.forEach { $0.cancel() } }
}

/// Prints a run's progress: the run id first, then one line per event, and each step's output
/// indented under it. Everything from the playbook or the steps is sanitized for the terminal.
final class RunProgressPrinter {
    private var pendingLine: [String: [UInt8]] = [:]
    private let s = DisplaySanitizer.sanitize
    private var runID = ""
    private var fingerprint = ""

    func event(_ event: RunEvent) {
        switch event {
        case .started(let run, let plan):
            runID = run
            fingerprint = plan.fingerprint
            say(run)
            say("run \(run): \(s(plan.playbook.name)) \(s(plan.playbook.version)), plan \(plan.fingerprint), \(plan.steps.count) steps")
        case .waiting(let step, let need, let deadline):
            let until = deadline.map { " until \(RFC3339.format($0))" } ?? ""
            say("waiting at \(s(step)) for \(need ?? 1) approval(s)\(until)")
            say("  approve with: wpk approve --run \(runID) --step \(s(step)) --plan \(fingerprint)")
        case .approved(let step, let by):
            say("approved \(s(step)) by \(by.map(s).joined(separator: ", "))")
        case .stepStarted(let step, let attempt, let attempts, let commands):
            let tries = attempts > 1 ? " (attempt \(attempt) of \(attempts))" : ""
            say("step \(s(step))\(tries): \(commands.map { $0.map(s).joined(separator: " ") }.joined(separator: " && "))")
        case .stepFinished(let attempt):
            flush(attempt.step)
            say("step \(s(attempt.step)) \(attempt.outcome) (\(attempt.detail), \(String(format: "%.1f", attempt.seconds)) s)")
        case .retrying(let step, let seconds):
            say("retrying \(s(step)) in \(seconds) s")
        case .notCounted(let step, let reason):
            say("at \(s(step)): \(s(reason))")
        case .rollingBack(let steps, let because):
            say("rolling back (\(s(because))): \(steps.map(s).joined(separator: ", "))")
        case .finished(let report):
            say("run \(report.runID) \(report.outcome.name): \(s(report.outcome.detail))")
            if !report.changed.isEmpty { say("changed by this run: \(report.changed.map(s).joined(separator: ", "))") }
            if !report.possiblyChanged.isEmpty {
                say("may have changed (failed part-way): \(report.possiblyChanged.map(s).joined(separator: ", "))")
            }
            if !report.rolledBack.isEmpty { say("rolled back: \(report.rolledBack.map(s).joined(separator: ", "))") }
        }
    }

    func output(_ step: String, _ chunk: ArraySlice<UInt8>) {
        var buffer = pendingLine[step, default: []]
        buffer.append(contentsOf: chunk)
        while let newline = buffer.firstIndex(of: 0x0A) {
            say("  | " + s(String(decoding: buffer[..<newline], as: UTF8.self)))
            buffer.removeSubrange(...newline)
        }
        if buffer.count > 4096 {
            say("  | " + s(String(decoding: buffer, as: UTF8.self)))
            buffer = []
        }
        pendingLine[step] = buffer
    }

    private func flush(_ step: String) {
        if let rest = pendingLine.removeValue(forKey: step), !rest.isEmpty {
            say("  | " + s(String(decoding: rest, as: UTF8.self)))
        }
    }

    /// One line to standard output; a failed write (a closed terminal) is ignored, never fatal.
    private func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + written, bytes.count - written) }
            if n <= 0 { return }
            written += n
        }
    }
}

extension TextReporter {
    /// Reports one file's diagnostics.
    func reportOne(_ file: FileReport) {
        var reporter = self
        reporter.report(file)
    }
}
