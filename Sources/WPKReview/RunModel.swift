import Foundation
import WPKCore

/// One run in the Runs view, as an adapter summarizes it from the ledger.
public struct RunRow: Equatable, Sendable {
    public var id: String
    public var playbook: String
    /// Who started it: the signing principal when known, else the OS account.
    public var starter: String
    public var host: String
    public var tty: String
    /// The SSH client address, when the starter came in over SSH.
    public var source: String
    /// How it was started (`cli`, `webhook`, ...), when the record says; empty otherwise.
    public var startedBy: String
    /// `waiting`, `running`, `succeeded`, `failed`, `cancelled`, `outcome-unknown`, ...
    public var state: String
    /// The gated step it waits at, when waiting.
    public var gate: String
    public var approvals: Int
    public var approvalsNeeded: Int
    /// When it began to wait, and the gate's deadline (nil when not waiting).
    public var waitingSince: Date?
    public var deadline: Date?
    /// The input values the run was planned with (`name=value`, secrets as references).
    public var plannedWith: String

    /// A row from its fields.
    public init(
        id: String, playbook: String, starter: String, host: String = "", tty: String = "", source: String = "",
        startedBy: String = "", state: String, gate: String = "", approvals: Int = 0, approvalsNeeded: Int = 0,
        waitingSince: Date? = nil, deadline: Date? = nil, plannedWith: String = ""
    ) {
        self.id = id
        self.playbook = playbook
        self.starter = starter
        self.host = host
        self.tty = tty
        self.source = source
        self.startedBy = startedBy
        self.state = state
        self.gate = gate
        self.approvals = approvals
        self.approvalsNeeded = approvalsNeeded
        self.waitingSince = waitingSince
        self.deadline = deadline
        self.plannedWith = plannedWith
    }

    /// Whether the run waits for an approval now.
    public var isWaiting: Bool { waitingSince != nil }
}

/// One step of an open run.
public struct RunStepView: Equatable, Sendable {
    public var handler: String
    public var isRollback: Bool
    /// `done`, `failed`, `running`, `waiting`, `unknown`, `not reached`.
    public var state: String
    /// The exact argument vectors an attempt runs.
    public var commands: [[String]]
    public var gateRequired: Bool
    public var gateApprovals: Int
    public var gateReasons: [String]
    /// The whole output's size, and its stored end as text (nil when the step printed nothing or did not run).
    public var outputBytes: Int?
    public var output: String?
    /// Why the output cannot be shown (it did not verify), when it cannot.
    public var outputProblem: String?

    /// A step from its fields.
    public init(
        handler: String, isRollback: Bool = false, state: String, commands: [[String]], gateRequired: Bool = false,
        gateApprovals: Int = 0, gateReasons: [String] = [], outputBytes: Int? = nil, output: String? = nil, outputProblem: String? = nil
    ) {
        self.handler = handler
        self.isRollback = isRollback
        self.state = state
        self.commands = commands
        self.gateRequired = gateRequired
        self.gateApprovals = gateApprovals
        self.gateReasons = gateReasons
        self.outputBytes = outputBytes
        self.output = output
        self.outputProblem = outputProblem
    }
}

/// Everything the run screen shows about one run.
public struct RunView: Equatable, Sendable {
    public var row: RunRow
    public var playbookDigest: String
    public var planDigest: String
    /// Input values (secrets as references); empty with `planProblem` when the stored plan did not verify.
    public var inputs: [(name: String, value: String)]
    public var steps: [RunStepView]
    /// Accounts whose approvals are live for the waiting gate.
    public var approvers: [String]
    /// Why the plan cannot be shown, when it cannot (then nothing may be approved from here).
    public var planProblem: String?

    /// A view from its fields.
    public init(
        row: RunRow, playbookDigest: String, planDigest: String, inputs: [(name: String, value: String)], steps: [RunStepView],
        approvers: [String] = [], planProblem: String? = nil
    ) {
        self.row = row
        self.playbookDigest = playbookDigest
        self.planDigest = planDigest
        self.inputs = inputs
        self.steps = steps
        self.approvers = approvers
        self.planProblem = planProblem
    }

    public static func == (a: RunView, b: RunView) -> Bool {
        a.row == b.row && a.playbookDigest == b.playbookDigest && a.planDigest == b.planDigest && a.steps == b.steps
            && a.approvers == b.approvers && a.planProblem == b.planProblem
            && a.inputs.elementsEqual(b.inputs) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The first 12 hex digits of the plan digest: what an operator reads and types.
    public var fingerprint: String { Plan.fingerprint(of: planDigest) }

    /// The step the run waits at, when it waits and its plan verified.
    public var waitingStep: RunStepView? {
        guard row.isWaiting, planProblem == nil else { return nil }
        return steps.first { $0.handler == row.gate && $0.state == "waiting" }
    }
}

/// One line of the run screen, laid out once when the run loads so each frame only draws.
public struct RunLine: Equatable, Sendable {
    public var text: String
    public var style: Style
    public var indent: Int
}

/// The run that is open, with its lines derived once.
public struct OpenRun: Sendable {
    public var view: RunView
    public var lines: [RunLine]

    /// Output lines kept per step on the screen (the stored tail can hold more; `wpk approvals show --format json` has all).
    static let maxOutputLines = 2_000

    /// The width the lines were laid out for.
    public var width: Int

    /// Lays the run out as lines for a screen `width` wide: inputs, then each step with its state,
    /// argv, gate and output. Commands, inputs and gate reasons wrap, so every argument is seen;
    /// an output line longer than the screen is cut (the whole tail is in `wpk approvals show`).
    public init(_ view: RunView, width: Int, asciiOnly: Bool = false) {
        self.view = view
        self.width = width
        var lines: [RunLine] = []
        func add(_ text: String, _ style: Style = .normal, indent: Int = 0) {
            lines.append(RunLine(text: text, style: style, indent: indent))
        }
        func wrapped(_ text: String, _ style: Style, indent: Int) {
            for (i, piece) in Screen.wrap(text, width: max(10, width - 2 - indent - 2), asciiOnly: asciiOnly).enumerated() {
                add(piece, style, indent: indent + (i == 0 ? 0 : 2))
            }
        }
        add("Inputs", .title)
        if let problem = view.planProblem {
            add("The run's stored plan cannot be shown: \(problem)", .error, indent: 2)
        } else if view.inputs.isEmpty {
            add("(none)", .dim, indent: 2)
        }
        for input in view.inputs { wrapped("\(input.name)=\(input.value)", .input, indent: 2) }
        add("")
        add("Steps", .title)
        for step in view.steps {
            let style: Style =
                switch step.state {
                case "done": .ok
                case "failed", "unknown": .error
                case "waiting": .danger
                case "running": .warning
                default: .dim
                }
            add("\(step.isRollback ? "rollback " : "")\(step.handler)  [\(step.state)]", style, indent: 2)
            if step.gateRequired {
                let reasons = step.gateReasons.isEmpty ? "" : ": " + step.gateReasons.joined(separator: "; ")
                wrapped("gate: \(step.gateApprovals) approval\(step.gateApprovals == 1 ? "" : "s")\(reasons)", .warning, indent: 4)
            }
            for argv in step.commands { wrapped("$ " + ShellQuote.join(argv), .input, indent: 4) }
            if let problem = step.outputProblem { add("output not shown: \(problem)", .error, indent: 4) }
            if let output = step.output {
                var outputLines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                if outputLines.last == "" { outputLines.removeLast() }
                let cut = max(0, outputLines.count - Self.maxOutputLines)
                add("output: \(step.outputBytes ?? 0) bytes" + (cut > 0 ? ", last \(Self.maxOutputLines) lines" : ""), .dim, indent: 4)
                for line in outputLines.dropFirst(cut) { add("| " + line, .normal, indent: 4) }
            }
        }
        self.lines = lines
    }
}

/// Which list the operator looks at when nothing is open.
public enum ListKind: Sendable, Equatable {
    case playbooks, runs
}

/// What an operator does to a whole run from its screen.
public enum RunAction: String, Sendable, Equatable {
    case approve, reject, cancel
}

extension RunView {
    /// The run screen's view of a run the core told in full.
    public init(_ detail: RunDetail, now: Date) {
        let row = RunRow(detail.overview, wait: detail.wait, inputs: (try? detail.plan.get())?.inputs ?? [], now: now)
        let steps = detail.steps.map { step in
            var output: String?
            var problem: String?
            switch step.output {
            case .success(let text)?: output = text
            case .failure(let failure)?: problem = failure.description
            case nil: break
            }
            return RunStepView(
                handler: step.handler, isRollback: step.isRollback, state: step.state.rawValue, commands: step.commands,
                gateRequired: step.gateRequired, gateApprovals: step.gateApprovals, gateReasons: step.gateReasons,
                outputBytes: step.outputBytes, output: output, outputProblem: problem)
        }
        var problem: String?
        if case .failure(let failure) = detail.plan { problem = failure.description }
        self.init(
            row: row, playbookDigest: detail.overview.history.playbookDigest ?? "", planDigest: detail.overview.history.planDigest ?? "",
            inputs: (try? detail.plan.get())?.inputs ?? [], steps: steps, approvers: detail.wait?.approvers ?? [], planProblem: problem)
    }
}

extension RunRow {
    /// A list row from the ledger's overview of a run.
    public init(_ overview: RunOverview, wait: RunDetail.Wait?, inputs: [(name: String, value: String)], now: Date) {
        let history = overview.history
        var since: Date?
        var deadline: Date?
        var gate = ""
        if case .waiting(let step, let waitingSince, let until) = overview.status {
            since = waitingSince
            deadline = until
            gate = step
        }
        self.init(
            id: history.id, playbook: history.playbook ?? "?", starter: history.starter.name, host: history.host ?? "",
            tty: history.starter.tty ?? "", source: history.starter.sshSource ?? "",
            startedBy: history.startedBy.map { $0.kind == .cli ? "cli" : "\($0.kind.rawValue) \($0.trigger)" } ?? "",
            state: overview.status.name, gate: gate,
            approvals: wait?.approvers.count ?? 0, approvalsNeeded: wait?.approvalsRequired ?? 0,
            waitingSince: since, deadline: deadline,
            plannedWith: RunRow.plannedText(inputs))
    }

    /// Input values as lists show what a run or a gate was planned with: `name=value name=value`.
    public static func plannedText(_ inputs: [(name: String, value: String)]) -> String {
        inputs.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }
}
