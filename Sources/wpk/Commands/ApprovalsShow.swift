import ArgumentParser
import Foundation
import WPKCore
import WPKReview

extension Approvals {
    /// `wpk approvals show RUN_ID`: one run's inputs, plan, step states and output tails.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show a run: its inputs, plan, step states and the end of each step's output.",
            discussion: """
                The plan is the one the run stored at its start, verified against the run's plan digest; \
                outputs are verified against the digests their records name. \
                Exit codes: 0 shown, 1 no such run, the ledger is damaged, or a stored plan or output does not verify.
                """)

        @OptionGroup var ledgerOptions: LedgerOptions
        @Option(help: "Output format: text or json.") var format: LedgerOutputFormat = .text
        @Argument(help: "The run id (`wpk run` prints it first).") var runID: String

        func run() throws {
            let ledger = try ledgerOptions.forReading("wpk approvals show")
            let reading: LedgerReading
            do { reading = try ledger.read() } catch {
                printError("wpk approvals show: \(DisplaySanitizer.sanitize(String(describing: error)))")
                throw ExitCode(1)
            }
            let now = Date()
            guard
                let detail = RunDetail.load(
                    run: runID, records: reading.records, state: LedgerState(records: reading.records),
                    artifacts: ledger.artifacts, now: now)
            else {
                printError(
                    "wpk approvals show: no run \(DisplaySanitizer.sanitize(runID)) in \(DisplaySanitizer.sanitize(ledger.location))")
                throw ExitCode(1)
            }
            switch format {
            case .text: writeOut(RunDetailOutput.text(detail, now: now))
            case .json: writeOut(RunDetailOutput.json(detail, now: now).serialized(.pretty) + "\n")
            }
            if let fault = reading.fault {
                printError(
                    "wpk approvals show: the ledger is damaged from \(DisplaySanitizer.sanitize(fault.description)); run `wpk approvals verify`"
                )
                throw ExitCode(1)
            }
            if case .failure(let problem) = detail.plan {
                printError("wpk approvals show: the run's plan cannot be shown: \(DisplaySanitizer.sanitize(problem.description))")
                throw ExitCode(1)
            }
            if detail.steps.contains(where: { if case .failure = $0.output { return true } else { return false } }) { throw ExitCode(1) }
        }
    }
}

/// Text and JSON for one run; every stored string is sanitized for the terminal.
enum RunDetailOutput {
    /// Most output lines of one step the text form prints (the JSON carries the whole stored tail).
    static let textTailLines = 20

    static func text(_ detail: RunDetail, now: Date) -> String {
        let s = DisplaySanitizer.sanitize
        let history = detail.overview.history
        var out = "run \(s(detail.id))  \(s(history.playbook ?? "?"))  \(detail.overview.status.name)\n"
        out +=
            "  playbook \(s(history.playbookDigest ?? "?"))\n  plan     \(s(history.planDigest ?? "?"))  fingerprint \(Plan.fingerprint(of: history.planDigest ?? ""))\n"
        out += "  started  \(RFC3339.format(history.startedAt)) by \(starterText(history))\n"
        if let wait = detail.wait {
            out += "  waiting at \(s(wait.step)) for \(ApprovalsOutput.duration(max(0, Int(now.timeIntervalSince(wait.since)))))"
            out += ", approvals \(wait.approvers.count)/\(wait.approvalsRequired)"
            if !wait.approvers.isEmpty { out += " (\(wait.approvers.map(s).joined(separator: ", ")))" }
            if let deadline = wait.deadline { out += ", deadline \(RFC3339.format(deadline))" }
            out += "\n"
        }
        switch detail.plan {
        case .failure(let problem):
            out += "plan: NOT SHOWN: \(s(problem.description))\n"
            return out
        case .success(let plan):
            out += "inputs:\n"
            if plan.inputs.isEmpty { out += "  (none)\n" }
            for input in plan.inputs { out += "  \(s(input.name))=\(s(input.value))\n" }
        }
        out += "steps:\n"
        for step in detail.steps {
            out += "  \(step.isRollback ? "rollback " : "")\(s(step.handler)): \(step.state.rawValue)"
            if let outcome = step.outcome, outcome != "succeeded" {
                out += " (\(s(outcome))\(step.exitCode.map { ", exit code \($0)" } ?? ""))"
            }
            if step.gateRequired {
                out +=
                    "  gate: \(step.gateApprovals) approval\(step.gateApprovals == 1 ? "" : "s")"
                    + (step.gateReasons.isEmpty ? "" : ": \(s(step.gateReasons.joined(separator: "; ")))")
            }
            out += "\n"
            for argv in step.commands { out += "    $ \(commandLine(argv))\n" }
            switch step.output {
            case nil: break
            case .failure(let problem)?: out += "    output: NOT SHOWN: \(s(problem.description))\n"
            case .success(let text)?:
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let shown = lines.suffix(textTailLines)
                out += "    output (\(step.outputBytes ?? 0) bytes\(lines.count > shown.count ? ", last \(shown.count) lines" : "")):\n"
                for line in shown { out += "    | \(s(String(line)))\n" }
            }
        }
        return out
    }

    /// One argv as a shell-like line people read (each argument quoted when it needs it).
    static func commandLine(_ argv: [String]) -> String {
        DisplaySanitizer.sanitize(ShellQuote.join(argv))
    }

    /// Who started the run and from where: account, uid, host, tty, SSH source.
    static func starterText(_ history: RunHistory) -> String {
        let s = DisplaySanitizer.sanitize
        var text = s(history.starter.name)
        if let uid = history.starter.uid { text += " (uid \(uid))" }
        if let host = history.host { text += " on \(s(host))" }
        if let tty = history.starter.tty { text += " tty \(s(tty))" }
        if let source = history.starter.sshSource { text += " from \(s(source))" }
        if let how = history.startedBy, how.kind != .cli { text += " (\(how.kind.rawValue) \(s(how.trigger)) from \(s(how.source)))" }
        return text
    }

    static func json(_ detail: RunDetail, now: Date) -> JSONValue {
        let history = detail.overview.history
        var members: [(key: String, value: JSONValue)] = [
            ("version", .int(1)),
            ("run", .string(detail.id)),
            ("status", .string(detail.overview.status.name)),
            ("playbook", .optional(history.playbook)),
            ("playbook_digest", .optional(history.playbookDigest)),
            ("plan_digest", .optional(history.planDigest)),
            ("started", .string(RFC3339.format(history.startedAt))),
            ("operator", .string(history.starter.name)),
            ("operator_uid", history.starter.uid.map(JSONValue.int) ?? .null),
            ("host", .optional(history.host)),
            ("tty", .optional(history.starter.tty)),
            ("source", .optional(history.starter.sshSource)),
            ("started_by", history.startedBy?.json ?? .null),
        ]
        if let wait = detail.wait {
            members.append(
                (
                    "waiting",
                    .object([
                        ("step", .string(wait.step)), ("since", .string(RFC3339.format(wait.since))),
                        ("deadline", .optional(wait.deadline.map(RFC3339.format))),
                        ("approvals_required", .int(wait.approvalsRequired)),
                        ("approvers", .array(wait.approvers.map(JSONValue.string))),
                    ])
                ))
        }
        switch detail.plan {
        case .success(let plan):
            members.append(("inputs", .object(plan.inputs.map { ($0.name, .string($0.value)) })))
            members.append(("plan", plan.json))
        case .failure(let problem):
            members.append(("plan_problem", .string(problem.description)))
        }
        members.append(
            (
                "steps",
                .array(
                    detail.steps.map { step in
                        var fields: [(key: String, value: JSONValue)] = [
                            ("handler", .string(step.handler)), ("rollback", .bool(step.isRollback)),
                            ("state", .string(step.state.rawValue)),
                            ("outcome", .optional(step.outcome)), ("attempts", .int(step.attempts)),
                            ("exit_code", step.exitCode.map(JSONValue.int) ?? .null),
                            ("commands", .array(step.commands.map { .array($0.map(JSONValue.string)) })),
                            ("output_bytes", step.outputBytes.map(JSONValue.int) ?? .null),
                            ("output_digest", .optional(step.outputDigest)),
                        ]
                        switch step.output {
                        case .success(let text)?: fields.append(("output_tail", .string(text)))
                        case .failure(let problem)?: fields.append(("output_problem", .string(problem.description)))
                        case nil: break
                        }
                        return .object(fields)
                    })
            ))
        return .object(members)
    }
}
