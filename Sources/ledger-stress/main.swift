// A test helper: writes to a ledger from a separate process, so tests can run real concurrent
// writers, kill them mid-append, and cancel a run from outside. Not installed; not part of the
// contract.
//
//   ledger-stress append LEDGER COUNT TAG         append COUNT records (COUNT 0: until killed)
//   ledger-stress cancel LEDGER RUN REASON        write a `cancelled` record for RUN
//
// After each append is acknowledged (written and fsynced) it prints `ack <seq> <hash>`.
import Foundation
import WPKCore

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("ledger-stress: \(message)\n".utf8))
    exit(code)
}

func acknowledge(_ record: LedgerRecord) {
    FileHandle.standardOutput.write(Data("ack \(record.seq) \(record.hash)\n".utf8))
}

let arguments = CommandLine.arguments
let op = Operator.current()
switch (arguments.count, arguments.count > 1 ? arguments[1] : "") {
case (5, "append"):
    guard let count = Int(arguments[3]) else { fail("COUNT must be an integer", code: 2) }
    let ledger = Ledger(path: arguments[2])
    let tag = arguments[4]
    // A long reason makes each line span several hundred bytes, so interleaving would show.
    let filler = String(repeating: "\(tag)-", count: 40)
    var index = 0
    while count == 0 || index < count {
        index += 1
        let draft = RecordDraft(type: .stepFinished, run: tag, step: "step-\(index)", reason: "\(filler)\(index)")
        do {
            acknowledge(try ledger.append(draft, operator: op, now: Date()))
        } catch {
            fail("\(error)")
        }
    }
case (5, "cancel"):
    do {
        acknowledge(try Ledger(path: arguments[2]).append(RecordDraft(type: .cancelled, run: arguments[3], reason: arguments[4]),
                                                          operator: op, now: Date()))
    } catch {
        fail("\(error)")
    }
default:
    fail("usage: ledger-stress append LEDGER COUNT TAG | cancel LEDGER RUN REASON", code: 2)
}
