import Foundation

/// A ledger's folded state kept across readings: a new reading whose records extend the ones
/// already folded (same record at the same place, so by the hash chain the same prefix) folds only
/// the records appended since; anything else (a shorter or rewritten ledger) folds from the start.
/// What a long-running reader such as `wpk review` keeps, so a change costs the new records only.
///
/// Where the backend keeps checkpoints (a ledger file), the follower reads on from the last one,
/// so only new records are parsed; it may also start from a snapshot saved by an earlier process,
/// and then holds only the records read since (`hasEveryRecord` is false until a whole reading).
public struct LedgerFollower: Sendable {
    /// The records read: the whole chain, or since the snapshot it started from.
    public private(set) var records: [LedgerRecord] = []
    /// Those records folded.
    public private(set) var state = LedgerState(records: [])
    /// How many records the last `follow` folded (all of them, or only the new ones).
    public private(set) var lastFolded = 0
    /// Where the next reading may start.
    public private(set) var checkpoint: LedgerCheckpoint?
    /// Whether `records` is the whole chain. False after a start from a snapshot, whose state
    /// also lacks the records its approvals, rejections and runs keep (their signatures): it
    /// serves lists, and `ApprovalPolicy` refuses it.
    public var hasEveryRecord: Bool { !state.lacksRecords }

    /// Nothing read yet.
    public init() {}

    /// The folded state and where it was folded to, to keep for the next process.
    public var snapshot: LedgerSnapshot? {
        checkpoint.map { LedgerSnapshot(checkpoint: $0, state: state) }.flatMap { $0.isConsistent ? $0 : nil }
    }

    /// Reads `ledger` on from the last checkpoint (or whole) and folds what is new; returns the
    /// reading (its fault, if any).
    @discardableResult
    public mutating func read(_ ledger: any LedgerBackend, wholeChain: Bool = false) throws(LedgerError) -> LedgerReading {
        let continuation: LedgerContinuation
        do {
            continuation = try ledger.read(after: wholeChain ? nil : checkpoint)
        } catch {
            checkpoint = nil
            throw error
        }
        follow(continuation)
        return continuation.reading
    }

    /// The first reading of a new process, starting from the snapshot an earlier one kept: the
    /// file is checked against the snapshot's checkpoint while its state is decoded (on another
    /// core), then only the records after it are folded, and `records` holds only those. When the
    /// file no longer starts with the checkpoint's bytes, the reading is of the whole chain and
    /// the snapshot is not used.
    @discardableResult
    public mutating func read(_ ledger: any LedgerBackend, startingFrom snapshot: StoredLedgerSnapshot) throws(LedgerError) -> LedgerReading
    {
        let decoding = BackgroundWork { snapshot.state() }
        let continuation: LedgerContinuation
        do {
            continuation = try ledger.read(after: snapshot.checkpoint)
        } catch {
            _ = decoding.result()
            checkpoint = nil
            throw error
        }
        let restored = decoding.result()
        if continuation.fromStart {
            follow(continuation)
            return continuation.reading
        }
        guard let restored else {
            // Intact bytes that do not decode to the checkpoint's fold: read the whole chain instead.
            return try read(ledger, wholeChain: true)
        }
        state = restored
        records = []
        follow(continuation)
        return continuation.reading
    }

    /// Takes a reading made after this follower's checkpoint (or a whole one).
    public mutating func follow(_ continuation: LedgerContinuation) {
        if continuation.fromStart {
            follow(continuation.reading.records)
        } else {
            for record in continuation.reading.records { state.apply(record) }
            records.append(contentsOf: continuation.reading.records)
            lastFolded = continuation.reading.records.count
        }
        checkpoint = continuation.checkpoint
    }

    /// Takes a new reading's verified records (the whole chain), folding only what is new when
    /// they extend the last ones.
    public mutating func follow(_ newRecords: [LedgerRecord]) {
        let known = state.recordCount
        // A state restored from a snapshot lacks the records its entries keep: folded again whole.
        if hasEveryRecord, known > 0, newRecords.count >= known, newRecords[known - 1].hash == state.head {
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
        checkpoint = nil
    }
}

/// A follower's first reading, made on a thread of its own (on from the snapshot an earlier
/// process kept for this ledger, when there is one), so a reader can go on starting meanwhile.
public final class PendingLedgerReading: Sendable {
    public typealias Outcome = (follower: LedgerFollower, reading: Result<LedgerReading, LedgerError>, snapshotSeq: Int?)
    private let work: BackgroundWork<Outcome>

    public init(_ ledger: any LedgerBackend, snapshots: LedgerSnapshotStore?) {
        work = BackgroundWork {
            var follower = LedgerFollower()
            let snapshot = snapshots?.load(ledgerPath: ledger.location)
            let reading = Result { () throws(LedgerError) in
                if let snapshot { return try follower.read(ledger, startingFrom: snapshot) }
                return try follower.read(ledger)
            }
            if case .failure = reading { follower = LedgerFollower() }
            // The snapshot's seq only when it was used: one that no longer held is no reason to wait
            // 1,000 records before keeping a new one.
            return (follower, reading, follower.hasEveryRecord ? nil : snapshot?.checkpoint.seq)
        }
    }

    /// Waits for the reading (call once): the follower, what the reading found or why it failed,
    /// and the seq of the snapshot it started from.
    public func result() -> Outcome { work.result() }

    /// Whether the reading is done (`result` will not wait).
    public var isFinished: Bool { work.isFinished }
}

/// One computation on a thread of its own, its result collected once.
private final class BackgroundWork<T: Sendable>: @unchecked Sendable {
    private var value: T?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> T) {
        Thread.detachNewThread { [self] in
            value = work()
            done.signal()
        }
    }

    /// Whether the result is there, without waiting (the signal taken to look is given back).
    var isFinished: Bool {
        guard done.wait(timeout: .now()) == .success else { return false }
        done.signal()
        return true
    }

    /// Waits for the result (the semaphore orders the thread's write before this read).
    func result() -> T {
        done.wait()
        return value!
    }
}
