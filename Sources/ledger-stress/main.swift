// A test helper: writes to a ledger from a separate process, so tests can run real concurrent
// writers, kill them mid-append, and act as a second operator on a waiting run. Not installed;
// not part of the contract.
//
//   ledger-stress append LEDGER COUNT TAG         append COUNT records (COUNT 0: until killed)
//   ledger-stress cancel LEDGER RUN REASON        write a `cancelled` record for RUN
//   ledger-stress approve LEDGER RUN STEP PREFIX [UID:NAME]
//                                                 approve the step RUN waits at, through
//                                                 `Ledger.recordDecision` as `wpk approve --run` does;
//                                                 UID:NAME acts as another account (tests run as one
//                                                 user, and a run's starter may not approve it)
//   ledger-stress approve-plan LEDGER RUN STEP PREFIX [UID:NAME]
//                                                 the same, for the plan RUN waits with but not bound
//                                                 to RUN (as `wpk approve FILE` records it)
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
case (6, "approve"), (7, "approve"), (6, "approve-plan"), (7, "approve-plan"):
    let ledger = Ledger(path: arguments[2])
    var approver = op
    if arguments.count == 7 {
        let parts = arguments[6].split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let uid = Int(parts[0]) else { fail("UID:NAME expected", code: 2) }
        approver = Operator(uid: uid, name: String(parts[1]))
    }
    do {
        guard var subject = LedgerState(records: try ledger.read().records).waitingSubject(run: arguments[3], step: arguments[4]) else {
            fail("run \(arguments[3]) is not waiting at \(arguments[4])")
        }
        if arguments[1] == "approve-plan" { subject.run = nil }
        switch try ledger.recordDecision(.approve, subject: subject, planPrefix: arguments[5],
                                         policy: MachinePolicy.load(environment: ProcessInfo.processInfo.environment),
                                         operator: approver, now: Date()) {
        case .recorded(let record): acknowledge(record)
        case .refused(let refusal): fail("refused: \(refusal)")
        }
    } catch {
        fail("\(error)")
    }
default:
    fail("usage: ledger-stress append LEDGER COUNT TAG | cancel LEDGER RUN REASON | approve[-plan] LEDGER RUN STEP PLAN_PREFIX [UID:NAME]", code: 2)
}
