/// How far a reader verified a ledger file: up to a record (its seq and hash) whose line ends at
/// `offset`, with the SHA-256 of every byte before that offset. A later reader whose file still
/// starts with those exact bytes knows the chain up to there without parsing it again, and reads
/// on from `offset` (`Ledger.read(after:)`).
public struct LedgerCheckpoint: Sendable, Equatable {
    /// The ledger's id: its first record's hash.
    public var ledgerID: String
    /// The last record verified, and its hash.
    public var seq: Int
    public var head: String
    /// Where that record's line ends (its newline included).
    public var offset: Int
    /// SHA-256 of the file's bytes before `offset`.
    public var prefixDigest: [UInt8]
    /// Where each record's line starts, by seq (`lineOffsets[seq - 1]`).
    public var lineOffsets: [Int]

    public init(ledgerID: String, seq: Int, head: String, offset: Int, prefixDigest: [UInt8], lineOffsets: [Int]) {
        self.ledgerID = ledgerID
        self.seq = seq
        self.head = head
        self.offset = offset
        self.prefixDigest = prefixDigest
        self.lineOffsets = lineOffsets
    }
}

/// A reading that may have started after a checkpoint.
public struct LedgerContinuation: Sendable {
    /// The records read (only those after the checkpoint unless `fromStart`) and the first fault.
    public var reading: LedgerReading
    /// Whether the reading is of the whole chain: there was no checkpoint, or it no longer held.
    public var fromStart: Bool
    /// Where the next reader may start; nil when the reading had a fault, or the backend keeps none.
    public var checkpoint: LedgerCheckpoint?

    public init(reading: LedgerReading, fromStart: Bool, checkpoint: LedgerCheckpoint?) {
        self.reading = reading
        self.fromStart = fromStart
        self.checkpoint = checkpoint
    }
}
