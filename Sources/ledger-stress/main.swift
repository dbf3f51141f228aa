// A test helper: writes to a ledger from a separate process, so tests can run real concurrent
// writers, kill them mid-append, and cancel a run from outside. Not installed; not part of the
// contract. LEDGER is a file, or a postgresql:// URL (its password, if any, from the file named
// by LEDGER_STRESS_PASSWORD_FILE).
//
//   ledger-stress append LEDGER COUNT TAG         append COUNT records (COUNT 0: until killed)
//   ledger-stress cancel LEDGER RUN REASON        write a `cancelled` record for RUN
//   ledger-stress hang LEDGER TAG                 append one record to a database ledger and stop
//                                                 inside the transaction, before COMMIT, until killed
//
// After each append is acknowledged (durable) it prints `ack <seq> <hash>`; `hang` prints
// `inserted <seq> <hash>` once its INSERT is done and the COMMIT not yet sent.
import Foundation
import WPKCore
import WPKPostgres

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("ledger-stress: \(message)\n".utf8))
    exit(code)
}

func acknowledge(_ record: LedgerRecord) {
    FileHandle.standardOutput.write(Data("ack \(record.seq) \(record.hash)\n".utf8))
}

let arguments = CommandLine.arguments
let op = Operator.current()

/// Appends through the backend `location` names: a file, or a postgresql:// database.
func appender(_ location: String) -> (RecordDraft) throws -> LedgerRecord {
    guard PostgresURL.isPostgres(location) else {
        let ledger = Ledger(path: location)
        return { try ledger.append($0, operator: op, now: Date()) }
    }
    do {
        let ledger = try PostgresLedger(url: location, passwordFile: ProcessInfo.processInfo.environment["LEDGER_STRESS_PASSWORD_FILE"])
        return { try ledger.append($0, operator: op, now: Date()) }
    } catch {
        fail("\(error)")
    }
}

switch (arguments.count, arguments.count > 1 ? arguments[1] : "") {
case (5, "append"):
    guard let count = Int(arguments[3]) else { fail("COUNT must be an integer", code: 2) }
    let append = appender(arguments[2])
    let tag = arguments[4]
    // A long reason makes each line span several hundred bytes, so interleaving would show.
    let filler = String(repeating: "\(tag)-", count: 40)
    var index = 0
    while count == 0 || index < count {
        index += 1
        let draft = RecordDraft(type: .stepFinished, run: tag, step: "step-\(index)", reason: "\(filler)\(index)", host: RunHost.name)
        do {
            acknowledge(try append(draft))
        } catch {
            fail("\(error)")
        }
    }
case (5, "cancel"):
    do {
        acknowledge(try appender(arguments[2])(RecordDraft(type: .cancelled, run: arguments[3], reason: arguments[4])))
    } catch {
        fail("\(error)")
    }
case (4, "hang"):
    guard let url = try? PostgresURL(parsing: arguments[2]) else { fail("hang needs a postgresql:// ledger", code: 2) }
    let password = ProcessInfo.processInfo.environment["LEDGER_STRESS_PASSWORD_FILE"].flatMap { try? PostgresPasswordFile.read($0) }
    let ledger = PostgresLedger(url: url, password: password) { record in
        FileHandle.standardOutput.write(Data("inserted \(record.seq) \(record.hash)\n".utf8))
        while true { pause() }
    }
    do {
        _ = try ledger.append(RecordDraft(type: .stepFinished, run: arguments[3], step: "never-committed"), operator: op, now: Date())
    } catch {
        fail("\(error)")
    }
    fail("the append returned although it should hang")
default:
    fail("usage: ledger-stress append LEDGER COUNT TAG | cancel LEDGER RUN REASON | hang URL TAG", code: 2)
}
