import Foundation

extension LedgerBackend {
    /// Like `appendChecked`, for a record the operator signs: the record is decided and built
    /// from a verified reading, signed outside the lock (ssh-keygen may ask for a passphrase,
    /// and a prompt must not stop every other writer), then written only if the chain has not
    /// moved; otherwise it is decided and signed again on the new head. The signature covers
    /// seq, time and prev, so it cannot be moved to another place in this or any other ledger.
    public func appendSigned<T>(
        operator op: Operator, signer: any RecordSigner, clock: () -> Date = Date.init, attempts: Int = 5,
        _ decide: (LedgerReading, Date) -> (RecordDraft?, T)
    ) throws(LedgerError) -> (record: LedgerRecord?, outcome: T) {
        for _ in 0..<max(1, attempts) {
            let reading = try read()
            if let fault = reading.fault {
                throw LedgerError(.chainBroken(fault), "the ledger \(location) is damaged, no decision can be recorded: \(fault)")
            }
            let now = clock()
            let (draft, outcome) = decide(reading, now)
            guard let draft else { return (nil, outcome) }
            let unsigned = LedgerRecord(
                seq: reading.records.count + 1, time: now, draft: draft, operator: op, prev: reading.head,
                principal: signer.principal, key: signer.publicKey.fingerprint, signature: nil)
            let signature: String
            do {
                signature = try signer.sign(unsigned.signedContent)
            } catch {
                throw LedgerError(.signingFailed, "cannot sign the record, nothing was recorded: \(error)")
            }
            let record = LedgerRecord(
                seq: unsigned.seq, time: unsigned.time, draft: draft, operator: op, prev: unsigned.prev,
                principal: signer.principal, key: signer.publicKey.fingerprint, signature: signature)
            if try appendPrepared(record) { return (record, outcome) }
        }
        throw LedgerError(
            .io,
            "the ledger \(location) kept changing while the record was being signed (\(attempts) tries); nothing was recorded, try again")
    }
}
