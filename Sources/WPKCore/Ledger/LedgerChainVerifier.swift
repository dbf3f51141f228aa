/// Verifies a ledger that arrives one record at a time (a database's rows) with exactly the
/// checks a file's lines get: each line's hash, seq and prev, the first fault stopping the chain.
public struct LedgerChainVerifier: Sendable {
    private var scanner = LedgerScanner()

    public init() {}

    /// Checks one record's exact bytes (canonical JSON, no newline); false once the chain is broken.
    @discardableResult
    public mutating func accept(line: [UInt8]) -> Bool {
        guard scanner.fault == nil else { return false }
        // Bytes with a newline inside never hash to their canonical form, so they fail as an edit.
        scanner.accept(line[...])
        return scanner.fault == nil
    }

    /// The records verified so far and the first fault.
    public func finish() -> LedgerReading { scanner.finish() }

    /// Checks one record on its own (its hash against its content), as the head of a chain is checked.
    public static func verify(line: [UInt8]) -> Result<LedgerRecord, LedgerRecordProblem> {
        LedgerScanner.verifyLine(line[...]).mapError { LedgerRecordProblem(message: $0.message, claimedSeq: $0.claimedSeq) }
    }
}

/// Why one record does not verify on its own.
public struct LedgerRecordProblem: Error, Sendable, Equatable {
    public var message: String
    public var claimedSeq: Int?
}
