import Foundation

/// What a decision is about: one step of one exact plan of one exact playbook file.
public struct GateKey: Hashable, Sendable {
    public var playbookDigest: String
    public var planDigest: String
    public var step: String

    public init(playbookDigest: String, planDigest: String, step: String) {
        self.playbookDigest = playbookDigest
        self.planDigest = planDigest
        self.step = step
    }
}

/// One exact plan of one exact playbook file.
public struct PlanKey: Hashable, Sendable {
    public var playbookDigest: String
    public var planDigest: String
}

/// One `approved` record as policy sees it.
public struct ApprovalEntry: Sendable, Equatable {
    public var seq: Int
    public var approver: Operator
    public var time: Date
    /// When it stops counting (nil only on records without a window).
    public var expires: Date?
    /// The run it was given for, when approved with `--run`.
    public var run: String?
    public var approvalsRequired: Int?
    /// The run that used it, and the seq of the `consumed` record.
    public var consumedBy: (run: String?, seq: Int)?
    /// The record itself, whose signature policy checks before counting it.
    public var record: LedgerRecord? { storedRecord?.record }
    private var storedRecord: SharedRecord?

    init(
        seq: Int, approver: Operator, time: Date, expires: Date?, run: String?, approvalsRequired: Int?,
        consumedBy: (run: String?, seq: Int)? = nil, record: LedgerRecord?
    ) {
        self.seq = seq
        self.approver = approver
        self.time = time
        self.expires = expires
        self.run = run
        self.approvalsRequired = approvalsRequired
        self.consumedBy = consumedBy
        self.storedRecord = record.map(SharedRecord.init)
    }

    public static func == (a: ApprovalEntry, b: ApprovalEntry) -> Bool {
        a.seq == b.seq && a.consumedBy?.seq == b.consumedBy?.seq
    }

    /// Whether it can still count at `now`: not used by a run and not past its window.
    public func isLive(at now: Date) -> Bool {
        consumedBy == nil && (expires.map { now < $0 } ?? true)
    }
}

/// One `rejected` record.
public struct RejectionEntry: Sendable, Equatable {
    public var seq: Int
    public var rejecter: Operator
    public var time: Date
    public var reason: String
    public var run: String?
    /// The record itself, whose signature policy checks before it counts.
    public var record: LedgerRecord? { storedRecord?.record }
    private var storedRecord: SharedRecord?

    init(seq: Int, rejecter: Operator, time: Date, reason: String, run: String?, record: LedgerRecord?) {
        self.seq = seq
        self.rejecter = rejecter
        self.time = time
        self.reason = reason
        self.run = run
        self.storedRecord = record.map(SharedRecord.init)
    }
}

/// A record held by reference where histories keep one: they are copied whenever lists are
/// built or sorted, and a record is large (copying one copies every text it holds).
final class SharedRecord: Sendable, Equatable {
    let record: LedgerRecord

    static func == (a: SharedRecord, b: SharedRecord) -> Bool { a.record == b.record }

    init(_ record: LedgerRecord) {
        self.record = record
    }
}

/// A run waiting at a gate.
public struct WaitingEntry: Sendable, Equatable {
    public var run: String
    public var seq: Int
    public var since: Date
    public var deadline: Date?
    public var approvalsRequired: Int?
}

/// Everything the ledger says about one gate.
public struct GateHistory: Sendable {
    public var key: GateKey
    /// The playbook's `metadata.name`, when a record carried it.
    public var playbook: String?
    public var approvals: [ApprovalEntry] = []
    public var rejections: [RejectionEntry] = []
    /// Runs whose wait at this gate ended as `expired`, with the record's seq.
    public var expiredRuns: [String: Int] = [:]
    /// Runs that consumed approvals here, with the `consumed` record's seq.
    public var consumedRuns: [String: Int] = [:]
    public var waiting: [WaitingEntry] = []
    /// Seq of the newest record about this gate.
    public var lastSeq: Int = 0
    /// The most distinct approvals any record said the gate needs.
    public var approvalsRequired: Int? {
        (approvals.compactMap(\.approvalsRequired) + waiting.compactMap(\.approvalsRequired)).max()
    }

    /// Distinct accounts among approvals live at `now` (the informational count shown in lists;
    /// `ApprovalPolicy.gateStatus` applies the full rules for a run).
    public func liveApprovers(at now: Date) -> [Operator] {
        var seen = Set<String>()
        return approvals.filter { $0.isLive(at: now) && seen.insert($0.approver.identity).inserted }.map(\.approver)
    }
}

/// A run as the ledger tells it.
public struct RunHistory: Sendable {
    public var id: String
    public var starter: Operator
    public var playbook: String?
    public var playbookDigest: String?
    public var planDigest: String?
    public var startedAt: Date
    public var seq: Int
    /// `cancelled` or `run_finished`, when the run is over.
    public var ended: (type: RecordType, seq: Int, reason: String?)?
    /// The process and host of the `wpk run` (from `run_started`), to tell a live run from a crashed one.
    public var pid: Int?
    public var host: String?
    /// How the run was started (absent on records written before wpk recorded it).
    public var startedBy: StartedBy?
    /// Steps with a `step_started` and no `step_finished`: running now, or of unknown outcome
    /// when the run's process is gone (never retried automatically).
    public var openSteps: [String] = []
    /// Steps that finished successfully, in order.
    public var finishedSteps: [String] = []
    /// The `outcome` of its `run_finished` record.
    public var outcome: String?
    /// Seq of the newest record about the run.
    public var lastSeq: Int = 0
    /// The `run_started` record (its signature names the starter's principal).
    public var startRecord: LedgerRecord? {
        get { storedStartRecord?.record }
        set { storedStartRecord = newValue.map(SharedRecord.init) }
    }
    private var storedStartRecord: SharedRecord?

    init(
        id: String, starter: Operator, playbook: String?, playbookDigest: String?, planDigest: String?, startedAt: Date, seq: Int,
        pid: Int? = nil, host: String? = nil, startedBy: StartedBy? = nil
    ) {
        self.id = id
        self.starter = starter
        self.playbook = playbook
        self.playbookDigest = playbookDigest
        self.planDigest = planDigest
        self.startedAt = startedAt
        self.seq = seq
        self.pid = pid
        self.host = host
        self.startedBy = startedBy
    }
}

/// The ledger folded into what policy and lists need, in one pass over the records.
public struct LedgerState: Sendable {
    public private(set) var gates: [GateKey: GateHistory] = [:]
    public private(set) var runs: [String: RunHistory] = [:]
    /// For each playbook name, the digests of the newest record that named them: anything older
    /// is stale (the file or the plan changed since).
    public private(set) var latestDigests: [String: (playbookDigest: String, planDigest: String, seq: Int)] = [:]
    /// The first rejection of each plan (keyed by playbook and plan digest): a rejection is
    /// final for the whole plan, whichever step it named.
    public private(set) var planRejections: [PlanKey: RejectionEntry] = [:]
    /// Every rejection of each plan, in order: where signatures are required, the first one
    /// whose signature verifies is the one that counts.
    public private(set) var planRejectionHistory: [PlanKey: [RejectionEntry]] = [:]
    public private(set) var recordCount = 0
    public private(set) var head = LedgerRecord.genesis
    /// Whether this state was restored from a snapshot, which leaves out the records approvals,
    /// rejections and runs keep for their signatures: fit for lists, refused by `ApprovalPolicy`.
    public private(set) var lacksRecords = false
    /// Where each approval lives, so `consumed` records can mark them in O(1).
    private var approvalLocation: [Int: (key: GateKey, index: Int)] = [:]

    /// Folds records in order.
    public init(records: [LedgerRecord]) {
        for record in records { apply(record) }
    }

    /// A fold restored from its parts (a snapshot); what follows from them is derived again.
    init(
        restoring gates: [GateKey: GateHistory], runs: [String: RunHistory],
        latestDigests: [String: (playbookDigest: String, planDigest: String, seq: Int)],
        planRejectionHistory: [PlanKey: [RejectionEntry]], recordCount: Int, head: String
    ) {
        self.gates = gates
        self.runs = runs
        self.latestDigests = latestDigests
        self.planRejectionHistory = planRejectionHistory
        self.planRejections = planRejectionHistory.compactMapValues(\.first)
        self.recordCount = recordCount
        self.head = head
        self.lacksRecords = true
        for (key, gate) in gates {
            for (index, approval) in gate.approvals.enumerated() { approvalLocation[approval.seq] = (key, index) }
        }
    }

    /// Folds one more record.
    public mutating func apply(_ record: LedgerRecord) {
        recordCount += 1
        head = record.hash
        let draft = record.draft
        let writer = Operator(uid: record.operatorUID, name: record.operatorName, tty: record.tty, sshSource: record.source)
        if let name = draft.playbook, let playbookDigest = draft.playbookDigest, let planDigest = draft.planDigest {
            latestDigests[name] = (playbookDigest, planDigest, record.seq)
        }
        if let run = draft.run {
            if draft.type == .runStarted {
                var started = RunHistory(
                    id: run, starter: writer, playbook: draft.playbook, playbookDigest: draft.playbookDigest,
                    planDigest: draft.planDigest, startedAt: record.time, seq: record.seq,
                    pid: draft.pid, host: draft.host, startedBy: draft.startedBy)
                started.startRecord = record
                runs[run] = started
            }
            // One lookup, then changes in place through the index: `runs[run]?.field = ...` moved
            // the whole run (its start record included) out of the table and back for each field,
            // which was most of the fold's time.
            if let index = runs.index(forKey: run) { LedgerState.apply(draft, seq: record.seq, to: &runs.values[index]) }
        }
        guard let key = LedgerState.key(of: draft) else { return }
        let seq = record.seq
        // Mutate in place through the index: copying a gate out and back would copy its arrays on
        // every record and make folding quadratic; each lookup hashes two digests and a step name.
        let gateIndex: [GateKey: GateHistory].Index
        if let found = gates.index(forKey: key) {
            gateIndex = found
        } else {
            // A step's own events make no gate: only a decision, a wait, an expiry or a use of
            // approvals does (every gated step has one of those before it starts), so steps that
            // were never gated are not listed as gates, and a long ledger keeps one gate per wait.
            guard !LedgerState.stepEvents.contains(draft.type) else { return }
            gates[key] = GateHistory(key: key, playbook: draft.playbook)
            gateIndex = gates.index(forKey: key)!
        }
        gates.values[gateIndex].lastSeq = seq
        if gates.values[gateIndex].playbook == nil { gates.values[gateIndex].playbook = draft.playbook }
        switch draft.type {
        case .approved:
            approvalLocation[seq] = (key, gates.values[gateIndex].approvals.count)
            gates.values[gateIndex].approvals.append(
                ApprovalEntry(
                    seq: seq, approver: writer, time: record.time, expires: draft.expires,
                    run: draft.run, approvalsRequired: draft.approvalsRequired, record: record))
        case .rejected:
            let rejection = RejectionEntry(
                seq: seq, rejecter: writer, time: record.time, reason: draft.reason ?? "", run: draft.run, record: record)
            gates.values[gateIndex].rejections.append(rejection)
            let plan = PlanKey(playbookDigest: key.playbookDigest, planDigest: key.planDigest)
            if planRejections[plan] == nil { planRejections[plan] = rejection }
            planRejectionHistory[plan, default: []].append(rejection)
        case .expired:
            if let run = draft.run { gates.values[gateIndex].expiredRuns[run] = seq }
        case .waiting:
            if let run = draft.run {
                gates.values[gateIndex].waiting.append(
                    WaitingEntry(
                        run: run, seq: seq, since: record.time, deadline: draft.expires,
                        approvalsRequired: draft.approvalsRequired))
            }
        case .consumed:
            if let run = draft.run { gates.values[gateIndex].consumedRuns[run] = seq }
            for consumed in draft.consumes ?? [] {
                guard let location = approvalLocation[consumed], let holder = gates.index(forKey: location.key),
                    gates.values[holder].approvals[location.index].consumedBy == nil
                else { continue }
                gates.values[holder].approvals[location.index].consumedBy = (draft.run, seq)
            }
        default:
            break
        }
    }

    /// What a record about a run changes in its history.
    private static func apply(_ draft: RecordDraft, seq: Int, to run: inout RunHistory) {
        switch draft.type {
        case .cancelled, .runFinished:
            if run.ended == nil { run.ended = (draft.type, seq, draft.reason) }
            if draft.type == .runFinished { run.outcome = draft.outcome }
        case .stepStarted:
            if let step = draft.step { run.openSteps.append(step) }
        case .stepFinished:
            if let step = draft.step {
                if let index = run.openSteps.lastIndex(of: step) { run.openSteps.remove(at: index) }
                if draft.outcome == "succeeded" { run.finishedSteps.append(step) }
            }
        default:
            break
        }
        run.lastSeq = seq
    }

    /// Records of a step running, which belong to a gate only when the step has one.
    private static let stepEvents: Set<RecordType> = [.stepStarted, .stepFinished, .stepRetried, .rollback]

    /// The gate a record is about, when it names digests and a step.
    static func key(of draft: RecordDraft) -> GateKey? {
        guard let playbookDigest = draft.playbookDigest, let planDigest = draft.planDigest, let step = draft.step else { return nil }
        return GateKey(playbookDigest: playbookDigest, planDigest: planDigest, step: step)
    }

    /// Whether a newer record for the same playbook names other digests: the file or plan changed,
    /// so decisions on this gate no longer apply.
    public func isStale(_ gate: GateHistory) -> Bool {
        guard let name = gate.playbook, let latest = latestDigests[name] else { return false }
        return latest.playbookDigest != gate.key.playbookDigest || latest.planDigest != gate.key.planDigest
    }

    /// Whether the run is still waiting at the gate: it waited, has not ended, and neither
    /// consumed approvals nor expired there.
    public func isWaiting(run: String, at gate: GateHistory) -> Bool {
        // Through the index: `runs[run]?.ended` copied the whole history out to read one field.
        let ended = runs.index(forKey: run).map { runs.values[$0].ended != nil } ?? false
        return gate.waiting.contains { $0.run == run } && !ended && gate.consumedRuns[run] == nil && gate.expiredRuns[run] == nil
    }
}

extension LedgerState {
    /// What the ledger holds for a step as the operator sees it now: the gate of the current
    /// digests, and gates of the same playbook and step under older digests (shown as stale,
    /// never counted), newest first.
    public func decisions(for subject: GateSubject) -> (current: GateHistory?, stale: [GateHistory]) {
        let stale = gates.values.filter {
            $0.key.step == subject.step && $0.playbook == subject.playbook && $0.key != subject.key
        }.sorted { $0.lastSeq > $1.lastSeq }
        return (gates[subject.key], stale)
    }

    /// The subject of a run waiting at `step`, rebuilt from its `waiting` record, for
    /// `wpk approve --run RUN_ID` when the playbook file is not at hand. The author is unknown
    /// here, so an author's approval is not refused at this point; the run still discounts it
    /// when it settles the gate with its own plan.
    public func waitingSubject(run: String, step: String) -> GateSubject? {
        guard let history = runs[run], let playbookDigest = history.playbookDigest, let planDigest = history.planDigest else { return nil }
        let key = GateKey(playbookDigest: playbookDigest, planDigest: planDigest, step: step)
        guard let waiting = gates[key]?.waiting.last(where: { $0.run == run }) else { return nil }
        let required = waiting.approvalsRequired ?? 1
        let window = waiting.deadline.map { max(1, Int($0.timeIntervalSince(waiting.since))) } ?? 3600
        return GateSubject(
            playbook: gates[key]?.playbook ?? history.playbook ?? "", playbookDigest: playbookDigest, planDigest: planDigest,
            step: step, gate: GateRequirement(required: true, approvals: required),
            safety: SafetySettings(approvalsRequired: required, approvalTimeoutSeconds: window), run: run)
    }
}
