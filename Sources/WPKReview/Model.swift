import WPKCore

/// One playbook in the list, as an adapter summarizes it.
public struct PlaybookEntry: Equatable, Sendable {
    public var path: String
    public var name: String
    public var runtime: String
    public var mode: String
    public var errors: Int
    public var warnings: Int
    /// Gated steps of the current plan still waiting for a decision; nil when unknown (no planner).
    public var pendingGates: Int?
    /// Runs of this playbook waiting for an approval right now (they sort first).
    public var waitingRuns: Int
    /// How long the run waiting longest has waited, in seconds (nil when none waits).
    public var longestWaitSeconds: Int?
    /// False while only the file's name is known: the list appears at once and fills in as files
    /// are read between frames.
    public var summarized: Bool
    /// The playbook's signature as checked; nil while unknown (not read yet, or not checked).
    public var signature: PlaybookSignatureCheck?
    /// The input values the newest pending gate of this file was planned with (`name=value, ...`),
    /// read from the plan stored with its decision; empty when none is pending or it has no inputs.
    public var plannedWith = ""

    /// An entry from its fields.
    public init(
        path: String, name: String, runtime: String, mode: String, errors: Int, warnings: Int, pendingGates: Int?, waitingRuns: Int,
        summarized: Bool = true, longestWaitSeconds: Int? = nil, signature: PlaybookSignatureCheck? = nil
    ) {
        self.summarized = summarized
        self.signature = signature
        self.longestWaitSeconds = longestWaitSeconds
        self.path = path
        self.name = name
        self.runtime = runtime
        self.mode = mode
        self.errors = errors
        self.warnings = warnings
        self.pendingGates = pendingGates
        self.waitingRuns = waitingRuns
    }
}

/// A titled group of label/value rows on the Overview pane.
public struct OverviewSection: Equatable, Sendable {
    public var title: String
    /// The rows, in document order.
    public var rows: [(label: String, value: String)]

    /// A section from its title and rows.
    public init(title: String, rows: [(label: String, value: String)]) {
        self.title = title
        self.rows = rows
    }

    /// Same title and rows (tuples are not Equatable, so rows compare field by field).
    public static func == (lhs: OverviewSection, rhs: OverviewSection) -> Bool {
        lhs.title == rhs.title && lhs.rows.elementsEqual(rhs.rows) { $0.label == $1.label && $0.value == $1.value }
    }
}

/// Where a gated step stands for the current playbook and plan digests.
public enum GateState: Equatable, Sendable {
    case notGated
    case pending
    /// Some approvals are in, fewer than the gate needs (a two-person rule half done).
    case partlyApproved(by: String, have: Int)
    case approved(by: String, at: String)
    case rejected(by: String, reason: String)
    /// A decision exists, but for an older plan digest: it no longer counts.
    case stale
}

/// One step of the plan, as the Plan pane and the approval dialog show it.
public struct PlanStepView: Equatable, Sendable {
    public var index: Int
    public var handler: String
    public var runtime: String
    /// The exact argument vectors, one command per element.
    public var commands: [[String]]
    public var fidelity: Fidelity
    public var mutating: Bool
    public var destructive: Bool
    /// What the step can reach (namespaces, hosts, containers), in words.
    public var blastRadius: String
    public var gateRequired: Bool
    public var gateApprovals: Int
    public var gateReason: String
    public var gateState: GateState
    /// The gated rollback steps that undo this step: an approval made here does not include them,
    /// so they wait for approvals of their own (`wpk approve --include-rollback` includes them).
    public var rollbackWaiting: [String] = []

    /// A step from the planner's fields and the ledger's gate state.
    public init(
        index: Int, handler: String, runtime: String, commands: [[String]], fidelity: Fidelity, mutating: Bool, destructive: Bool,
        blastRadius: String, gateRequired: Bool, gateApprovals: Int, gateReason: String, gateState: GateState
    ) {
        self.index = index
        self.handler = handler
        self.runtime = runtime
        self.commands = commands
        self.fidelity = fidelity
        self.mutating = mutating
        self.destructive = destructive
        self.blastRadius = blastRadius
        self.gateRequired = gateRequired
        self.gateApprovals = gateApprovals
        self.gateReason = gateReason
        self.gateState = gateState
    }
}

/// One ledger record about a playbook, as the History pane lists it.
public struct HistoryRow: Equatable, Sendable {
    public var seq: Int
    public var time: String
    public var type: String
    public var operatorName: String
    public var step: String
    public var reason: String
    /// On `run_started`: how the run was started (`webhook /hooks/x from 10.0.0.5:4711`).
    public var startedBy: String

    /// A row from a ledger record's fields.
    public init(seq: Int, time: String, type: String, operatorName: String, step: String, reason: String, startedBy: String = "") {
        self.seq = seq
        self.time = time
        self.type = type
        self.operatorName = operatorName
        self.step = step
        self.reason = reason
        self.startedBy = startedBy
    }
}

/// Everything the playbook view shows about one file.
public struct PlaybookDetail: Sendable {
    public var entry: PlaybookEntry
    public var overview: [OverviewSection]
    /// The file's exact bytes, for the Source pane.
    public var source: [UInt8]
    public var diagnostics: [Diagnostic]
    /// The plan's steps; nil when no plan exists (the playbook is invalid or no planner is available).
    public var plan: [PlanStepView]?
    /// `sha256:<hex>` of the plan, when there is one.
    public var planDigest: String?
    /// Why there is no plan, shown on the Plan pane.
    public var planNote: String
    public var history: [HistoryRow]
    /// Why the history is empty, when it cannot be read.
    public var historyNote: String
    /// The inputs the playbook declares, for the inputs form (`i`).
    public var inputs: [InputDeclaration] = []
    /// The values typed in the inputs form that the plan was made with (name to text); empty when
    /// the plan uses only `--set` values and defaults.
    public var inputValues: [String: String] = [:]

    /// A detail from what the adapter gathered.
    public init(
        entry: PlaybookEntry, overview: [OverviewSection], source: [UInt8], diagnostics: [Diagnostic], plan: [PlanStepView]?,
        planDigest: String?, planNote: String, history: [HistoryRow], historyNote: String,
        inputs: [InputDeclaration] = [], inputValues: [String: String] = [:]
    ) {
        self.inputs = inputs
        self.inputValues = inputValues
        self.entry = entry
        self.overview = overview
        self.source = source
        self.diagnostics = diagnostics
        self.plan = plan
        self.planDigest = planDigest
        self.planNote = planNote
        self.history = history
        self.historyNote = historyNote
    }

    /// The first 12 hex digits of the plan digest: what an operator reads and types.
    public var fingerprint: String? {
        guard let digest = planDigest else { return nil }
        let hex = digest.hasPrefix("sha256:") ? digest.dropFirst(7) : Substring(digest)
        return String(hex.prefix(12))
    }
}

/// A decision taken in this session, for the summary printed on exit.
public struct Decision: Equatable, Sendable {
    /// Approved or rejected.
    public enum Kind: String, Sendable { case approved, rejected, cancelled }
    public var kind: Kind
    public var playbook: String
    public var path: String
    public var step: String
    public var planDigest: String
    public var reason: String

    /// A decision from its fields.
    public init(kind: Kind, playbook: String, path: String, step: String, planDigest: String, reason: String) {
        self.kind = kind
        self.playbook = playbook
        self.path = path
        self.step = step
        self.planDigest = planDigest
        self.reason = reason
    }
}

extension PlanStepView {
    /// One step of a plan as the Plan pane and the approval dialog show it, with its gate's standing.
    public init(_ step: PlanStep, index: Int, plan: Plan, gateState: GateState) {
        let touched = plan.summary.targets.filter { $0.steps.contains(step.handler) }.map { "\($0.scope) \($0.target)" }
        self.init(
            index: index + 1, handler: step.handler, runtime: step.runtime.rawValue, commands: step.commands,
            fidelity: step.fidelity, mutating: step.mutating, destructive: step.destructive,
            blastRadius: touched.isEmpty ? (step.mutating ? step.scope : "read-only") : touched.joined(separator: ", "),
            gateRequired: step.gate.required, gateApprovals: step.gate.approvals, gateReason: step.gate.reason,
            gateState: gateState)
        rollbackWaiting = plan.gatedRollback(undoing: step.handler)
    }
}
