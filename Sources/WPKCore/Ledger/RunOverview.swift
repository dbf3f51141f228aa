import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One run as lists show it: where it stands and since when.
public struct RunOverview: Sendable {
    /// Where a run stands.
    public enum Status: Sendable, Equatable {
        /// At a gate, waiting for approvals since the `waiting` record, until its deadline.
        case waiting(step: String, since: Date, deadline: Date?)
        /// Its process is alive and between or inside steps (`steps`: those started, not finished).
        case running(steps: [String])
        /// Its process is gone without a final record: started steps have an unknown outcome and
        /// are never retried automatically.
        case processGone(openSteps: [String])
        /// Over: the `run_finished` outcome, or `cancelled`.
        case ended(outcome: String)

        /// The short word lists print.
        public var name: String {
            switch self {
            case .waiting: "waiting"
            case .running: "running"
            case .processGone(let open): open.isEmpty ? "abandoned" : "outcome-unknown"
            case .ended(let outcome): outcome
            }
        }

        fileprivate var rank: Int {
            switch self {
            case .waiting: 0
            case .running: 1
            case .processGone: 2
            case .ended: 3
            }
        }
    }

    /// What the ledger says about the run.
    public var history: RunHistory
    /// Where it stands now.
    public var status: Status

    /// Seconds the run has waited at its gate at `now` (nil unless waiting).
    public func waitedSeconds(at now: Date) -> Int? {
        guard case .waiting(_, let since, _) = status else { return nil }
        return max(0, Int(now.timeIntervalSince(since)))
    }
}

extension LedgerState {
    /// Every run with its status at `now`: waiting runs first (longest wait first), then running,
    /// then runs whose process is gone, then ended runs, newest first. `processAlive` says
    /// whether a run's process still exists (nil when that cannot be known, e.g. another host).
    public func runOverview(at now: Date, processAlive: (RunHistory) -> Bool? = RunOverview.localProcessAlive) -> [RunOverview] {
        let waitingAt = waitingPlaces(at: now)
        let rows = runs.values.map { overview(of: $0, waiting: waitingAt[$0.id], processAlive: processAlive) }
        // The order is found on small keys: sorting the rows themselves moved every run's whole
        // history (its start record included) around, most of the time of a long list.
        let keys = rows.indices.map { index in
            let row = rows[index]
            var since = 0.0
            if case .waiting(_, let waitingSince, _) = row.status { since = waitingSince.timeIntervalSince1970 }
            return (rank: row.status.rank, since: since, lastSeq: row.history.lastSeq, index: index)
        }
        return keys.sorted { a, b in
            if a.rank != b.rank { return a.rank < b.rank }
            if a.since != b.since { return a.since < b.since }
            return a.lastSeq > b.lastSeq
        }.map { rows[$0.index] }
    }
}

extension LedgerState {
    /// One run's status at `now`.
    public func runOverview(of run: RunHistory, at now: Date, processAlive: (RunHistory) -> Bool? = RunOverview.localProcessAlive)
        -> RunOverview
    {
        overview(of: run, waiting: waitingPlaces(at: now, only: run.id)[run.id], processAlive: processAlive)
    }

    /// Where each run waits at `now` (its newest live wait), for every run or only `only`.
    private func waitingPlaces(at now: Date, only: String? = nil) -> [String: (step: String, since: Date, deadline: Date?)] {
        var waitingAt: [String: (step: String, since: Date, deadline: Date?)] = [:]
        for gate in gates.values {
            for entry in gate.waiting where (only == nil || entry.run == only) && isWaiting(run: entry.run, at: gate) {
                if let deadline = entry.deadline, now >= deadline { continue }
                if let known = waitingAt[entry.run], known.since > entry.since { continue }
                waitingAt[entry.run] = (gate.key.step, entry.since, entry.deadline)
            }
        }
        return waitingAt
    }

    private func overview(of run: RunHistory, waiting: (step: String, since: Date, deadline: Date?)?, processAlive: (RunHistory) -> Bool?)
        -> RunOverview
    {
        if let ended = run.ended {
            return RunOverview(history: run, status: .ended(outcome: ended.type == .cancelled ? "cancelled" : run.outcome ?? "finished"))
        }
        if processAlive(run) == false { return RunOverview(history: run, status: .processGone(openSteps: run.openSteps)) }
        if let waiting {
            return RunOverview(history: run, status: .waiting(step: waiting.step, since: waiting.since, deadline: waiting.deadline))
        }
        return RunOverview(history: run, status: .running(steps: run.openSteps))
    }
}

extension RunOverview {
    /// Whether the run's process is alive, when it ran on this host; nil for another host or a
    /// record without a pid.
    public static func localProcessAlive(_ run: RunHistory) -> Bool? {
        guard let pid = run.pid, let host = run.host, host == RunHost.name else { return nil }
        return ProcessTable.isAlive(Int32(pid))
    }
}

/// This machine's host name, as run records store it.
public enum RunHost {
    /// `gethostname`, or `localhost` when it fails.
    public static let name: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
