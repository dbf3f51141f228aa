import Foundation
import FuzzSupport
import WPKCore

/// A private directory for the ledger file (wpk refuses world-writable ledger directories).
private let directory: String = {
    let path = NSTemporaryDirectory() + "wpk-fuzz-ledger-\(getpid())"
    mkdir(path, 0o700)
    return path
}()

private let writer = Operator(uid: 4242, name: "fuzz")

/// Ledger parsing and chain verification on arbitrary bytes, round-tripped: whatever the file
/// holds, reading never crashes; and when it verifies, one more append through the real path
/// must verify too, with one more record chained to the last.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = directory + "/ledger.jsonl"
    unlink(path)
    unlink(path + ".torn")
    FileManager.default.createFile(atPath: path, contents: Data(fuzzInput(data, size)), attributes: [.posixPermissions: 0o600])
    let ledger = Ledger(path: path)
    guard let before = try? ledger.read(), before.isIntact else { return 0 }
    guard
        let appended = try? ledger.append(
            RecordDraft(type: .cancelled, run: "fuzz-run", reason: "fuzz"), operator: writer,
            now: Date(timeIntervalSince1970: 1_800_000_000))
    else {
        return 0
    }
    let after: LedgerReading
    do { after = try ledger.read() } catch { preconditionFailure("ledger unreadable after an append: \(error)") }
    precondition(after.isIntact, "append broke the chain: \(String(describing: after.fault))")
    precondition(after.records.count == before.records.count + 1, "append lost or gained records")
    precondition(after.records.last?.hash == appended.hash, "the appended record is not the head")
    return 0
}

@main
enum FuzzLedger {
    static func main() { runFuzzer(fuzzOneInput) }
}
