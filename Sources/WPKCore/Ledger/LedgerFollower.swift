/// A ledger's folded state kept across readings: a new reading whose records extend the ones
/// already folded (same record at the same place, so by the hash chain the same prefix) folds only
/// the records appended since; anything else (a shorter or rewritten ledger) folds from the start.
/// What a long-running reader such as `wpk review` keeps, so a change costs the new records only.
public struct LedgerFollower: Sendable {
    /// The records of the last reading.
    public private(set) var records: [LedgerRecord] = []
    /// Those records folded.
    public private(set) var state = LedgerState(records: [])
    /// How many records the last `follow` folded (all of them, or only the new ones).
    public private(set) var lastFolded = 0

    /// Nothing read yet.
    public init() {}

    /// Takes a new reading's verified records, folding only what is new when they extend the last ones.
    public mutating func follow(_ newRecords: [LedgerRecord]) {
        let known = state.recordCount
        if known > 0, newRecords.count >= known, newRecords[known - 1].hash == state.head {
            for record in newRecords[known...] { state.apply(record) }
            // Appended, not replaced: the records kept are the same, and freeing them all only to
            // keep equal copies would cost more than the fold saved.
            records.append(contentsOf: newRecords[known...])
            lastFolded = newRecords.count - known
        } else {
            state = LedgerState(records: newRecords)
            records = newRecords
            lastFolded = newRecords.count
        }
    }
}
