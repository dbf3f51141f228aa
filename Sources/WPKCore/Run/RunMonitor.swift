import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Watches one run for a reason to stop (the edge's interrupt, or a `cancelled` record for it
/// in the ledger) and lets a gate sleep until the ledger changes, without a busy loop.
public final class RunMonitor: StopWatch {
    /// The ledger whose `cancelled` records stop the run.
    public let ledger: any LedgerBackend
    /// The run watched.
    public let run: String
    let interrupt: RunInterrupt?
    let slowPollSeconds: Double
    /// Made on first use, after the run's first record has created the ledger's directory.
    private lazy var watch: any LedgerChangeWatch = ledger.makeChangeWatch()

    /// How long a wait may go without re-reading the ledger: short while changes are not
    /// noticed as they happen (no inotify, the database connection down), a safety net otherwise.
    public var recheckSeconds: Double { watch.isLive ? 30 : slowPollSeconds }

    /// Watches `ledger` for changes about `run`.
    public init(ledger: any LedgerBackend, run: String, interrupt: RunInterrupt?, slowPollSeconds: Double = 2) {
        self.ledger = ledger
        self.run = run
        self.interrupt = interrupt
        self.slowPollSeconds = slowPollSeconds
    }

    /// The interrupt pipe and the ledger watch.
    public var wakeDescriptors: [Int32] {
        [interrupt?.descriptor, watch.descriptor].compactMap { $0 }.filter { $0 >= 0 }
    }

    /// An interrupt first, else a `cancelled` record for the run.
    public func stopReason() -> StopReason? {
        interruption() ?? cancellation()
    }

    /// The edge's interrupt alone, without reading the ledger (a gate learns of a cancellation
    /// from `settleGate`, which reads it anyway); drains pending change notifications.
    public func interruption() -> StopReason? {
        _ = watch.changed()
        return interrupt?.triggered.map(StopReason.interrupted)
    }

    /// The run's `cancelled` record, if someone wrote one (an unreadable ledger cancels nothing
    /// here: the run's own next append reports it).
    func cancellation() -> StopReason? {
        guard let reading = try? ledger.read(),
            let record = reading.records.last(where: { $0.draft.type == .cancelled && $0.draft.run == run })
        else { return nil }
        return .cancelled("cancelled by \(record.operatorName): \(record.draft.reason ?? "no reason given")")
    }

    /// Sleeps until the ledger changes, the interrupt trips, or `seconds` pass
    /// (capped at `recheckSeconds`); drains the change notifications it woke for.
    public func sleep(upTo seconds: Double) {
        let wait = max(0, min(seconds, recheckSeconds))
        var fds = wakeDescriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), Int32((wait * 1000).rounded(.up)))
        _ = watch.changed()
    }
}
