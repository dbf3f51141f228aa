import Foundation

/// One gate as a list shows it: where it stands, who approved, what it needs.
public struct GateOverview: Sendable {
    /// Where a gate stands, in the order lists show them (pending first).
    public enum Status: String, Sendable, CaseIterable, Comparable {
        /// A run waits, or approvals are still short of what the gate needs.
        case pending
        /// Enough live approvals, not yet used by a run.
        case approved
        /// A run used the approvals.
        case consumed
        case rejected
        /// A run's wait ended at the deadline without enough approvals.
        case expired
        /// The playbook or its plan changed since: these decisions no longer apply.
        case stale
        /// Nothing live: approvals lapsed or runs ended.
        case closed

        private var rank: Int { Status.allCases.firstIndex(of: self)! }
        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
    }

    public var status: Status
    public var gate: GateHistory
    /// Distinct accounts whose approvals are live now.
    public var liveApprovers: [Operator]
    /// Approvals the gate needs, when a record said so.
    public var approvalsRequired: Int?
    /// Runs still waiting here.
    public var waitingRuns: [String]
}

extension LedgerState {
    /// Every gate with its status at `now`, pending first, then newest first.
    public func overview(at now: Date) -> [GateOverview] {
        let rows = gates.values.map { overview(of: $0, at: now) }
        return rows.sorted { a, b in
            a.status != b.status ? a.status < b.status : a.gate.lastSeq > b.gate.lastSeq
        }
    }

    /// One gate's status at `now`.
    public func overview(of gate: GateHistory, at now: Date) -> GateOverview {
        let live = gate.liveApprovers(at: now)
        let need = gate.approvalsRequired
        let waitingRuns = gate.waiting.map(\.run).filter { run in
            isWaiting(run: run, at: gate) && gate.waiting.last(where: { $0.run == run })?.deadline.map({ now < $0 }) ?? true
        }
        let status: GateOverview.Status
        let plan = PlanKey(playbookDigest: gate.key.playbookDigest, planDigest: gate.key.planDigest)
        if !gate.rejections.isEmpty || planRejections[plan] != nil {
            status = .rejected
        } else if isStale(gate) {
            status = .stale
        } else if !waitingRuns.isEmpty && live.count < (need ?? 1) {
            status = .pending
        } else if !live.isEmpty && live.count >= (need ?? 1) {
            status = .approved
        } else if !live.isEmpty {
            status = .pending
        } else if !gate.consumedRuns.isEmpty {
            status = .consumed
        } else if !gate.expiredRuns.isEmpty || !gate.waiting.isEmpty {
            status = gate.expiredRuns.isEmpty ? .closed : .expired
        } else {
            status = .closed
        }
        return GateOverview(
            status: status, gate: gate, liveApprovers: live, approvalsRequired: need, waitingRuns: Array(Set(waitingRuns)).sorted())
    }

    /// Where one step of the plan on screen stands: its gate's status; `.stale` when only decisions
    /// for other digests of the same playbook and step exist (the file or plan changed since); nil
    /// when nothing was ever decided about it.
    public func standing(of key: GateKey, playbook: String, at now: Date) -> GateOverview? {
        if let gate = gates[key] {
            var row = overview(of: gate, at: now)
            // Decisions on the digests being shown are never stale to the one showing them.
            if row.status == .stale { row.status = row.liveApprovers.count >= (row.approvalsRequired ?? 1) ? .approved : .pending }
            return row
        }
        let older = gates.values.filter {
            $0.playbook == playbook && $0.key.step == key.step && ($0.approvals.count + $0.rejections.count) > 0
        }
        guard let latest = older.max(by: { $0.lastSeq < $1.lastSeq }) else { return nil }
        return GateOverview(status: .stale, gate: latest, liveApprovers: [], approvalsRequired: latest.approvalsRequired, waitingRuns: [])
    }

    /// The rejection that closes a gate: its own, or one of the whole plan.
    public func rejection(of gate: GateHistory) -> RejectionEntry? {
        gate.rejections.last ?? planRejections[PlanKey(playbookDigest: gate.key.playbookDigest, planDigest: gate.key.planDigest)]
    }
}
