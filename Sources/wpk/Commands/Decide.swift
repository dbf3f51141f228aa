import ArgumentParser
import Foundation
import WPKCore

/// What `wpk approve` and `wpk reject` share: which gate, which plan the operator saw, which ledger.
struct DecisionArguments: ParsableArguments {
    @Argument(help: "The playbook file (omit with --run).")
    var file: String?

    @Option(name: .long, help: "Decide for a waiting run instead of a file.")
    var run: String?

    @Option(name: .long, help: "The gated step (handler name).")
    var step: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "At least the first 12 hex digits of the plan digest you were shown (`wpk plan` prints it). Without it, the step and its fingerprint are printed and nothing is recorded (exit 2).",
            valueName: "DIGEST_PREFIX"))
    var plan: String?

    @OptionGroup var planning: PlanningOptions

    @OptionGroup var ledger: LedgerOptions

    @OptionGroup var signing: SigningOptions

    func validate() throws {
        guard (file == nil) != (run == nil) else {
            throw ValidationError("give either a playbook FILE or --run RUN_ID")
        }
    }

    /// Records the verdict through the one approval policy; a refusal says why and exits 1.
    /// `includeRollback` makes an approval cover the gated rollback steps undoing the step.
    func record(_ verdict: Verdict, includeRollback: Bool = false) throws {
        let policy = MachinePolicy.load()
        let ledger = try self.ledger.chosen(verdict == .approve ? "wpk approve" : "wpk reject", policy: policy)
        let subject = try gateSubject(in: ledger)
        let undoing = try gatedRollbackSteps(undoing: subject, in: ledger)
        if includeRollback, undoing.isEmpty {
            printError(
                "refused: no gated rollback step undoes step \(DisplaySanitizer.sanitize(subject.step)), so --include-rollback has nothing to include; nothing was recorded"
            )
            throw ExitCode(1)
        }
        guard let plan else {
            // Nobody decides blind: show what the decision would bind to, record nothing.
            writeOut(try preview(subject, in: ledger))
            if !undoing.isEmpty {
                let names = undoing.map(DisplaySanitizer.sanitize).joined(separator: ", ")
                writeOut(
                    includeRollback
                        ? "includes rollback: \(names) (they run without approvals of their own)\n"
                        : "rollback: \(names) wait for approvals of their own; --include-rollback makes this approval cover them\n")
            }
            printError(
                "nothing was recorded: to decide, repeat with --plan \(Plan.fingerprint(of: subject.planDigest)) after reading the step above"
            )
            throw ExitCode(2)
        }
        let signer = try signing.signer(policy: policy, required: SignerPolicy.of(policy).requiresSignatures)
        let outcome: DecisionOutcome
        do {
            outcome = try ledger.recordDecision(
                verdict, subject: subject, planPrefix: plan,
                policy: policy,
                operator: Operator.current(), now: Date(), signer: signer, includesRollback: includeRollback ? undoing : nil)
        } catch {
            printError("wpk: \(DisplaySanitizer.sanitize(String(describing: error)))")
            throw ExitCode(1)
        }
        switch outcome {
        case .recorded(let record):
            let what = verdict == .approve ? "approved" : "rejected"
            let signed = record.principal.map { " signed by \(DisplaySanitizer.sanitize($0)) (\(record.key ?? "?"))" } ?? ""
            let included =
                record.draft.includesRollback.map { ", including rollback \($0.map(DisplaySanitizer.sanitize).joined(separator: ", "))" }
                ?? ""
            writeOut(
                "\(what) step \(DisplaySanitizer.sanitize(subject.step)) of \(DisplaySanitizer.sanitize(subject.playbook)) (plan \(Plan.fingerprint(of: subject.planDigest)))\(included); ledger record \(record.seq)\(signed)\n"
            )
        case .refused(let refusal):
            printError("refused: \(DisplaySanitizer.sanitize(refusal.description))")
            throw ExitCode(1)
        }
    }

    /// The step a decision would bind to, as the run stored it (for `--run`) or as planned now
    /// (for a file): its commands, the inputs and the fingerprint to give with `--plan`.
    private func preview(_ subject: GateSubject, in ledger: any LedgerBackend) throws -> String {
        let s = DisplaySanitizer.sanitize
        var out = "\(s(subject.playbook)) step \(s(subject.step))\(run.map { " of run \(s($0))" } ?? "")\n"
        out += "  playbook \(s(subject.playbookDigest))\n  plan     \(s(subject.planDigest))\n"
        let inputs: [(name: String, value: String)]
        let commands: [[String]]
        var bindings: PlanBindings?
        if run != nil {
            switch ledger.artifacts.plan(digest: subject.planDigest) {
            case .failure(let problem):
                printError("refused: the run's plan cannot be shown: \(s(problem.description)); nothing was recorded")
                throw ExitCode(1)
            case .success(let recorded):
                guard let step = recorded.step(named: subject.step) else {
                    printError("refused: the run's plan has no step \(s(subject.step)); nothing was recorded")
                    throw ExitCode(1)
                }
                inputs = recorded.inputs
                commands = recorded.executedCommands(of: step)
                bindings = recorded.bindings
            }
        } else {
            guard
                case .planned(let planned, _) = Planner.plan(
                    file.map { $0 == "-" ? .standardInput : .file($0) } ?? .standardInput,
                    inputs: try planning.inputs(), checker: try planning.checker()),
                let step = planned.step(named: subject.step)
            else { throw ExitCode(1) }
            inputs = planned.inputs.map { ($0.name, $0.value.substitutionText ?? "(none)") }
            commands = planned.dryRunFirst && !step.dryRunCommands.isEmpty ? step.dryRunCommands + step.commands : step.commands
            bindings = planned.bindings
        }
        out += "inputs:\n"
        if inputs.isEmpty { out += "  (none)\n" }
        for input in inputs { out += "  \(s(input.name))=\(s(input.value))\n" }
        out += "commands:\n"
        for argv in commands { out += "  $ \(RunDetailOutput.commandLine(argv))\n" }
        // The tools and files the approval binds (the run's own, for --run).
        if let bindings, !bindings.items.isEmpty {
            out += "bindings:\n"
            for binding in bindings.items { out += "  \(s(binding.summary))\n" }
        }
        out += "fingerprint: \(Plan.fingerprint(of: subject.planDigest))\n"
        return out
    }

    /// The gated rollback steps that undo the subject's step: from the run's stored plan for
    /// `--run`, else from the file planned now.
    private func gatedRollbackSteps(undoing subject: GateSubject, in ledger: any LedgerBackend) throws -> [String] {
        if run != nil {
            guard case .success(let recorded) = ledger.artifacts.plan(digest: subject.planDigest) else { return [] }
            return recorded.rollback.filter { $0.undoes == subject.step && $0.gateRequired }.map(\.handler)
        }
        guard
            case .planned(let planned, _) = Planner.plan(
                file.map { $0 == "-" ? .standardInput : .file($0) } ?? .standardInput,
                inputs: try planning.inputs(), checker: try planning.checker())
        else { return [] }
        return planned.rollback.filter { $0.undoes == subject.step && $0.gate.required }.map(\.handler)
    }

    /// The gate being decided: planned from the file now, or the one a run is waiting at.
    private func gateSubject(in ledger: any LedgerBackend) throws -> GateSubject {
        if let run {
            let reading: LedgerReading
            do { reading = try ledger.read() } catch {
                printError("wpk: \(DisplaySanitizer.sanitize(String(describing: error)))")
                throw ExitCode(1)
            }
            guard let subject = LedgerState(records: reading.records).waitingSubject(run: run, step: step) else {
                printError("refused: run \(DisplaySanitizer.sanitize(run)) is not waiting at step \(DisplaySanitizer.sanitize(step))")
                throw ExitCode(1)
            }
            return subject
        }
        let checker = try planning.checker()
        let path = file ?? "-"
        let outcome = Planner.plan(
            path == "-" ? .standardInput : .file(path),
            inputs: try planning.inputs(), checker: checker)
        guard case .planned(let plan, _) = outcome else {
            var reporter = TextReporter(colors: TerminalColors.forStandardOutput())
            reporter.report(outcome.report)
            printError("refused: the playbook has errors; nothing was recorded")
            throw ExitCode(1)
        }
        guard let planned = plan.step(named: step) else {
            let names = plan.steps.map(\.handler).joined(separator: ", ")
            printError(
                "refused: \(DisplaySanitizer.sanitize(plan.playbook.name)) has no step \(DisplaySanitizer.sanitize(step)); its steps are: \(DisplaySanitizer.sanitize(names))"
            )
            throw ExitCode(1)
        }
        return GateSubject(plan: plan, step: planned)
    }
}

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a gated step of the plan you reviewed.",
        discussion: """
            The approval binds to the playbook's exact bytes and the plan digest whose prefix you give; \
            a prefix that does not match the current plan is refused. Refusals say why (stale digest, \
            wrong plan prefix, self-approval, already decided by you, not a gated step, expired).
            Exit codes: 0 recorded, 1 refused, 2 usage error.
            """
    )

    @OptionGroup var decision: DecisionArguments

    @Flag(
        name: .long,
        help:
            "Cover the gated rollback steps that undo this step too (recorded and signed as includes_rollback); without it they wait for approvals of their own if they run."
    )
    var includeRollback = false

    func run() throws {
        try decision.record(.approve, includeRollback: includeRollback)
    }
}

struct Reject: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Reject a gated step with a reason; final for that plan digest.",
        discussion: "Exit codes: 0 recorded, 1 refused, 2 usage error (for example a missing --reason)."
    )

    @OptionGroup var decision: DecisionArguments

    @Option(name: .long, help: "Why (required).")
    var reason: String

    func run() throws {
        try decision.record(.reject(reason: reason))
    }
}
