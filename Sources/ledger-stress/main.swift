// A test helper: appends records to a ledger from a separate process, so tests can run real
// concurrent writers and kill them mid-append. Not installed; not part of the contract.
//
//   ledger-stress append LEDGER COUNT TAG   append COUNT records (COUNT 0: until killed)
//
// After each append is acknowledged (written and fsynced) it prints `ack <seq> <hash>`.
import Foundation
import WPKCore

let arguments = CommandLine.arguments
guard arguments.count == 5, arguments[1] == "append", let count = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: ledger-stress append LEDGER COUNT TAG\n".utf8))
    exit(2)
}
let ledger = Ledger(path: arguments[2])
let tag = arguments[4]
let op = Operator.current()
// A long reason makes each line span several hundred bytes, so interleaving would show.
let filler = String(repeating: "\(tag)-", count: 40)
var index = 0
while count == 0 || index < count {
    index += 1
    let draft = RecordDraft(type: .stepFinished, run: tag, step: "step-\(index)", reason: "\(filler)\(index)")
    do {
        let record = try ledger.append(draft, operator: op, now: Date())
        FileHandle.standardOutput.write(Data("ack \(record.seq) \(record.hash)\n".utf8))
    } catch {
        FileHandle.standardError.write(Data("ledger-stress: \(error)\n".utf8))
        exit(1)
    }
}
