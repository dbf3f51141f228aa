import ArgumentParser
import Foundation
import WPKCore
import WPKCurses
import WPKReview

/// `wpk review`: the terminal UI where an operator reads playbooks and approves or rejects gated steps.
struct Review: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Review playbooks and approve gated steps in a terminal UI.",
        discussion: """
            Keys: arrows or j/k move, Enter opens, Esc or Backspace goes back, Tab switches pane, \
            / filters, ? shows help, a approves the selected gated step, r rejects it, q quits. \
            w shows the Runs view (first when a run waits for approval); on an open run, a approves \
            the step it waits at, r rejects it, c cancels the run. \
            Without PATH: the current directory's playbooks, else the bundled examples/playbooks.
            """)

    @Option(
        help:
            "The approval ledger in single-user mode (default: $WPK_LEDGER, else under $XDG_STATE_HOME/wpk/); refused where the machine policy names a team ledger."
    )
    var ledger: String?

    @Flag(help: "Show everything but turn approve and reject off.")
    var readOnly = false

    @Flag(help: "Draw with ASCII only (automatic when the locale is not UTF-8).")
    var ascii = false

    @OptionGroup var planning: PlanningOptions

    @OptionGroup var signing: SigningOptions

    @Argument(help: "Playbook files, directories to search, or - for standard input.")
    var paths: [String] = []

    func run() throws {
        let arguments: [String]
        let files: [String]
        let missing: [String]
        if paths.isEmpty {
            (arguments, files, missing) = Self.defaultPlaybooks()
        } else {
            arguments = paths
            (files, missing) = Self.find(paths)
        }
        for path in missing { printError("wpk review: \(path): no such file or directory") }
        if !missing.isEmpty { throw ExitCode(2) }
        // Standard input is read before the terminal is taken, as it may be the playbook itself.
        let stdinBytes = arguments.contains("-") ? [UInt8](FileHandle.standardInput.readDataToEndOfFile()) : nil
        let ledgerFile = try LedgerOptions.chosen("wpk review", requested: ledger, policy: MachinePolicy.load())
        let backend = FileReviewBackend(
            files: files, standardInput: stdinBytes, ledger: ledgerFile,
            checker: try planning.checker(),
            inputs: try planning.inputs(),
            snapshots: LedgerSnapshotStore.standard(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory()))

        let terminal: CursesTerminal
        do {
            terminal = try CursesTerminal()
        } catch {
            printError("wpk review: \(error)")
            throw ExitCode(1)
        }
        terminal.wakeDescriptor = backend.wakeDescriptor
        backend.signing = signing
        backend.handOverTerminal = { body in terminal.withTerminalHandedOver(body) }
        let options = ReviewOptions(
            readOnly: readOnly, asciiOnly: ascii || !terminal.localeIsUTF8,
            unmanagedLedger: ledgerFile.isTeamLedger ? nil : ledgerFile.location)
        let final = ReviewRunner.run(device: terminal, backend: backend, options: options)
        terminal.restore()
        // After a dropped connection standard output may be gone too: a failed write is not a crash.
        try? FileHandle.standardOutput.write(contentsOf: Data(SessionSummary.text(final.decisions, asciiOnly: options.asciiOnly).utf8))
    }

    /// The files PATH arguments name (through the one `PlaybookFinder`), and the arguments that name nothing.
    static func find(_ arguments: [String]) -> (files: [String], missing: [String]) {
        var files: [String] = []
        var missing: [String] = []
        for input in PlaybookFinder(arguments) {
            switch input {
            case .file(let path): files.append(path)
            case .standardInput: files.append("-")
            case .unusable(let path, _): missing.append(path)
            case .fileNamedByBytes: missing.append(input.displayPath)
            case .notFollowed: continue
            }
        }
        return (files, missing)
    }

    /// The current directory's playbooks when it has any, else the bundled `examples/playbooks`.
    static func defaultPlaybooks() -> (arguments: [String], files: [String], missing: [String]) {
        let here = Self.find(["."])
        if !here.files.isEmpty { return (["."], here.files, []) }
        let bundled = defaultPaths()
        let found = Self.find(bundled)
        return (bundled, found.files, found.missing)
    }

    /// The bundled `examples/playbooks` found above the executable (a build directory inside the
    /// package) or in the package this was built from; else the current directory.
    static func defaultPaths() -> [String] {
        var candidates: [URL] = []
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("examples/playbooks"))
            directory.deleteLastPathComponent()
        }
        // Sources/wpk/Commands/Review.swift -> the package root.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent("examples/playbooks"))
        var isDirectory: ObjCBool = false
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory) && isDirectory.boolValue {
            return [candidate.path]
        }
        return ["."]
    }
}
