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
        let rows = gates.values.map { gate -> GateOverview in
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
            return GateOverview(status: status, gate: gate, liveApprovers: live, approvalsRequired: need, waitingRuns: Array(Set(waitingRuns)).sorted())
        }
        return rows.sorted { a, b in
            a.status != b.status ? a.status < b.status : a.gate.lastSeq > b.gate.lastSeq
        }
    }
}
