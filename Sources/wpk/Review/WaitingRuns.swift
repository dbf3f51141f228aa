import Foundation
import WPKCore
import WPKReview

/// Runs waiting for an approval, by playbook name, as the review list shows them: how many, and
/// how long the longest has waited (the list sorts those playbooks first, longest wait first).
struct WaitingRuns {
    private var byPlaybook: [String: (count: Int, longestSeconds: Int)] = [:]

    /// Read from the ledger now; empty when there is none or it cannot be read (the list still shows).
    init(ledgerPath: String?, now: Date = Date()) {
        let path = ledgerPath ?? Ledger.defaultPath(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory())
        let ledger = Ledger(path: path)
        guard ledger.exists, let records = try? ledger.read().records else { return }
        for run in LedgerState(records: records).runOverview(at: now) {
            guard let name = run.history.playbook, let waited = run.waitedSeconds(at: now) else { continue }
            let known = byPlaybook[name] ?? (0, 0)
            byPlaybook[name] = (known.count + 1, max(known.longestSeconds, waited))
        }
    }

    /// The entry with its playbook's waiting runs filled in.
    func apply(to entry: PlaybookEntry) -> PlaybookEntry {
        var entry = entry
        let waiting = byPlaybook[entry.name]
        entry.waitingRuns = waiting?.count ?? 0
        entry.longestWaitSeconds = waiting?.longestSeconds
        return entry
    }
}
