import Foundation
import Testing

@testable import WPKCore

/// Sets or clears the append-only attribute with the real `chattr` (a peer to wpk's own ioctl).
@discardableResult
private func chattr(_ flag: String, _ path: String) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
    process.arguments = [flag, path]
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}

private let rootOrCI = getuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true"

@Suite("Which ledger: the team's, named by the policy, or a personal one")
struct LedgerChoiceTests {
    let home = "/home/alice"

    @Test func withoutATeamLedgerTheContractsPrecedenceHolds() throws {
        let policy = MachinePolicyStatus.loaded(.builtIn)
        let state = ["XDG_STATE_HOME": "/state"]
        #expect(try Ledger.chosen(by: policy, requested: "/x/l.jsonl", environment: state, home: home).get().path == "/x/l.jsonl")
        #expect(try Ledger.chosen(by: policy, requested: nil, environment: ["WPK_LEDGER": "/y.jsonl"], home: home).get().path == "/y.jsonl")
        let personal = try Ledger.chosen(by: policy, requested: nil, environment: state, home: home).get()
        #expect(personal.path == "/state/wpk/ledger.jsonl" && !personal.isTeamLedger)
        #expect(personal.managementNote.hasPrefix("UNMANAGED: personal ledger /state/wpk/ledger.jsonl"))
        #expect(personal.memory?.directories.first == "/state/wpk/heads")
        #expect(
            try Ledger.chosen(by: policy, requested: nil, environment: [:], home: home).get().memory?.directories.first
                == "/home/alice/.local/state/wpk/heads")
    }

    @Test func aTeamLedgerIsTheOnlyOneAndNothingElseMayChooseAnother() throws {
        let policy = MachinePolicyStatus.loaded(
            MachinePolicy(ledger: "/var/lib/wpk/ledger.jsonl", requireAppendOnly: true, source: "/etc/wpk/policy.yaml"))
        let team = try Ledger.chosen(by: policy, requested: nil, environment: [:], home: home).get()
        #expect(team.path == "/var/lib/wpk/ledger.jsonl" && team.isTeamLedger && team.requireAppendOnly)
        #expect(try Ledger.chosen(by: policy, requested: "/var/lib/wpk/ledger.jsonl", environment: [:], home: home).get().path == team.path)
        guard case .failure(let flag) = Ledger.chosen(by: policy, requested: "/tmp/mine.jsonl", environment: [:], home: home) else {
            Issue.record("--ledger chose another ledger")
            return
        }
        #expect(
            flag.kind == .policy
                && flag.message.contains(
                    "names the team ledger /var/lib/wpk/ledger.jsonl; --ledger cannot choose another (/tmp/mine.jsonl)")
        )
        guard
            case .failure(let variable) = Ledger.chosen(
                by: policy, requested: nil, environment: ["WPK_LEDGER": "/tmp/mine.jsonl"], home: home)
        else {
            Issue.record("WPK_LEDGER chose another ledger")
            return
        }
        #expect(variable.message.contains("WPK_LEDGER cannot choose another"))
        // Reading any file stays possible (approvals verify --ledger).
        let other = try Ledger.forReading("/tmp/copy.jsonl", policy: policy, environment: [:], home: home).get()
        #expect(other.path == "/tmp/copy.jsonl" && !other.isTeamLedger)
    }

    @Test func aPostgreSQLLedgerOrAnUntrustedPolicyIsRefusedClearly() {
        let postgres = MachinePolicyStatus.loaded(
            MachinePolicy(ledger: "postgresql://wpk@/wpk?host=/run/postgresql", source: "/etc/wpk/policy.yaml"))
        guard case .failure(let error) = Ledger.chosen(by: postgres, requested: nil, environment: [:], home: home) else {
            Issue.record("accepted")
            return
        }
        #expect(error.message.contains("names a PostgreSQL ledger, which this wpk cannot use yet"))
        let unsafe = MachinePolicyStatus.unsafe(path: "/etc/wpk/policy.yaml", reason: "it is a symbolic link")
        guard case .failure(let refused) = Ledger.chosen(by: unsafe, requested: nil, environment: [:], home: home) else {
            Issue.record("accepted")
            return
        }
        #expect(
            refused.message
                == "the machine policy /etc/wpk/policy.yaml cannot be trusted, so every approval and run is refused: it is a symbolic link")
    }
}

@Suite("Rollback: a ledger must extend every head this machine verified")
struct LedgerRollbackTests {
    typealias F = LedgerFixtures

    /// A ledger of `count` records whose heads are remembered in a directory of the test's own.
    private func remembering(_ dir: TemporaryDirectory, count: Int = 4) throws -> Ledger {
        var ledger = try F.filledLedger(in: dir, count: count)
        ledger.memory = LedgerHeadMemory(directories: [dir.file("heads")])
        #expect(try ledger.read().records.count == count)
        return ledger
    }

    private func rolledBack(_ ledger: Ledger) -> String? {
        do {
            _ = try ledger.read()
            return nil
        } catch {
            return error.kind == .rolledBack ? error.message : "other error: \(error.message)"
        }
    }

    @Test func removingTheLastRecordsIsRefusedNamingBothHeads() throws {
        let dir = TemporaryDirectory()
        let ledger = try remembering(dir)
        let lines = F.lines(ledger.path)
        let fourth = try #require(try ledger.read().records.last?.hash)
        try F.write(lines: Array(lines.prefix(2)), to: ledger.path)
        let message = try #require(rolledBack(ledger))
        #expect(message.contains("was rolled back: it ends at seq 2"), "\(message)")
        #expect(message.contains("verified it up to seq 4 (\(fourth.prefix(23)))"), "\(message)")
        // A decision cannot be recorded on it, nor a run event appended.
        #expect(throws: LedgerError.self) { try ledger.append(RecordDraft(type: .cancelled, run: "r"), operator: F.alice, now: F.t0) }
    }

    @Test func removingOnlyTheFinalNewlineIsRefusedAndTheRecordIsNotSetAside() throws {
        let dir = TemporaryDirectory()
        let ledger = try remembering(dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ledger.path))
        try bytes.dropLast().write(to: URL(fileURLWithPath: ledger.path))
        #expect(rolledBack(ledger)?.contains("it ends at seq 3") == true)
        do {
            _ = try ledger.appendChecked(operator: F.alice, now: F.t0) { _ in (RecordDraft(type: .cancelled, run: "r"), ()) }
            Issue.record("a decision was recorded on a rolled-back ledger")
        } catch {
            #expect(error.kind == .rolledBack)
        }
        #expect(throws: LedgerError.self) { try ledger.append(RecordDraft(type: .cancelled, run: "r"), operator: F.alice, now: F.t0) }
        // The cut record is still in the file: nothing was set aside or truncated.
        #expect(try Data(contentsOf: URL(fileURLWithPath: ledger.path)) == bytes.dropLast())
    }

    @Test func aRewrittenHistoryIsRefusedAsForked() throws {
        let dir = TemporaryDirectory()
        let ledger = try remembering(dir)
        // Rebuild the chain from record 3 on with other content: it verifies, but it is not what was seen.
        let records = try ledger.read().records
        let lines = F.lines(ledger.path)
        var rewritten = Array(lines.prefix(2))
        var prev = records[1].hash
        for seq in 3...5 {
            let record = LedgerRecord(
                seq: seq, time: F.t0, draft: RecordDraft(type: .stepFinished, run: "run-1", reason: "forged \(seq)"),
                operator: F.bob, prev: prev)
            rewritten.append(String(decoding: record.line.dropLast(), as: UTF8.self))
            prev = record.hash
        }
        try F.write(lines: rewritten, to: ledger.path)
        var plain = ledger
        plain.memory = nil
        #expect(try plain.read().isIntact)
        let message = try #require(rolledBack(ledger))
        #expect(message.contains("was rewritten: its record at seq 4"), "\(message)")
    }

    @Test func aReplacedOrEmptiedLedgerIsRefused() throws {
        let dir = TemporaryDirectory()
        let ledger = try remembering(dir)
        try Data().write(to: URL(fileURLWithPath: ledger.path))
        #expect(rolledBack(ledger)?.contains("was replaced or emptied") == true)
        try FileManager.default.removeItem(atPath: ledger.path)
        #expect(rolledBack(ledger)?.contains("it is now empty or missing") == true)
        var fresh = Ledger(path: ledger.path)
        try fresh.append(RecordDraft(type: .cancelled, run: "another ledger"), operator: F.carol, now: F.t0)
        fresh.memory = ledger.memory
        #expect(rolledBack(fresh)?.contains("its first record is now") == true)
    }

    @Test func aLedgerThatGrowsIsAcceptedAndRememberedAfterEveryWrite() throws {
        let dir = TemporaryDirectory()
        let ledger = try remembering(dir, count: 2)
        let written = try ledger.append(RecordDraft(type: .cancelled, run: "r"), operator: F.alice, now: F.t0)
        let id = try #require(try ledger.read().records.first?.hash)
        #expect(ledger.memory?.remembered(id: id, in: dir.file("heads"))?.seq == 3)
        // Cutting the record a write added (never read back by anyone) is noticed too.
        try F.write(lines: Array(F.lines(ledger.path).prefix(2)), to: ledger.path)
        #expect(rolledBack(ledger)?.contains("up to seq 3 (\(written.hash.prefix(23)))") == true)
    }

    @Test func aHeadFileSomeoneElseWroteCannotCrashOrRedirect() throws {
        let dir = TemporaryDirectory()
        let ledger = try remembering(dir, count: 2)
        let heads = dir.file("heads")
        for name in try FileManager.default.contentsOfDirectory(atPath: heads) {
            try Data("{\"seq\": \"x\", [".utf8).write(to: URL(fileURLWithPath: heads + "/" + name))
        }
        #expect(try ledger.read().records.count == 2)
    }
}

@Suite(
    "Team ledger file: init and the append-only attribute", .serialized,
    .enabled(if: rootOrCI, "needs root: it sets owners, groups and the append-only attribute"))
struct TeamLedgerFileTests {
    typealias F = LedgerFixtures

    /// A directory for one team ledger; clears the attribute first so it can be removed.
    final class TeamDirectory {
        let parent = TemporaryDirectory()
        var directory: String { parent.file("team") }
        var ledger: String { directory + "/ledger.jsonl" }
        deinit { chattr("-a", ledger) }
    }

    @Test func initCreatesTheDirectoryAndFileWithTheGroupModesAndAttribute() throws {
        let team = TeamDirectory()
        let report = try Ledger.setUpTeamFile(path: team.ledger, group: 4243)
        #expect(report.createdDirectory && report.createdFile)
        var info = stat()
        #expect(stat(team.directory, &info) == 0 && info.st_mode & 0o7777 == 0o2770 && info.st_uid == 0 && info.st_gid == 4243)
        #expect(stat(team.ledger, &info) == 0 && info.st_mode & 0o7777 == 0o660 && info.st_uid == 0 && info.st_gid == 4243)
        guard report.appendOnly else {
            let problem = report.appendOnlyProblem ?? "?"
            print("append-only attribute unavailable here (\(problem)); the append-only checks are skipped")
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "CI must support chattr +a: \(problem)")
            return
        }
        #expect(Ledger(path: team.ledger).appendOnlyAttribute() == true)
        #expect(truncate(team.ledger, 0) != 0 && errno == EPERM)
        // Again on an existing ledger: nothing is lost, the same settings hold.
        _ = try Ledger(path: team.ledger).append(RecordDraft(type: .cancelled, run: "r"), operator: F.alice, now: F.t0)
        let again = try Ledger.setUpTeamFile(path: team.ledger, group: 4243)
        #expect(!again.createdDirectory && !again.createdFile && again.appendOnly)
        #expect(try Ledger(path: team.ledger).read().records.count == 1)
    }

    @Test func initRefusesADirectoryThatHoldsOtherFiles() throws {
        let team = TeamDirectory()
        try FileManager.default.createDirectory(atPath: team.directory, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: team.directory + "/passwd"))
        #expect(throws: LedgerError.self) { try Ledger.setUpTeamFile(path: team.ledger, group: 0) }
        var info = stat()
        #expect(stat(team.directory, &info) == 0 && info.st_mode & 0o7777 != 0o2770)
    }

    @Test func requireAppendOnlyRefusesALedgerWithoutTheAttribute() throws {
        let dir = TemporaryDirectory()
        var ledger = try F.filledLedger(in: dir, count: 1)
        ledger.requireAppendOnly = true
        do {
            _ = try ledger.read()
            Issue.record("a ledger without the append-only attribute was read")
        } catch {
            #expect(
                error.message.contains(
                    "requires the append-only attribute on the ledger \(ledger.path), and it is not set; set it with: chattr +a \(ledger.path)"
                ))
        }
        var missing = Ledger(path: dir.file("none.jsonl"))
        missing.requireAppendOnly = true
        #expect(throws: LedgerError.self) { try missing.append(RecordDraft(type: .cancelled, run: "r"), operator: F.alice, now: F.t0) }
        #expect(!FileManager.default.fileExists(atPath: missing.path))
        guard chattr("+a", ledger.path) == 0 else {
            print("chattr +a failed here; the rest is skipped")
            #expect(ProcessInfo.processInfo.environment["CI"] == nil)
            return
        }
        defer { chattr("-a", ledger.path) }
        #expect(try ledger.read().records.count == 1)
    }

    /// A checkpoint of an append-only file is checked by the digest of its bytes like any other:
    /// the attribute does not vouch for them. Root may clear it and set it again, and a descriptor
    /// opened for writing before it was set still writes anywhere in the file.
    @Test func aCheckpointOfAnAppendOnlyFileIsStillCheckedByItsDigest() throws {
        let dir = TemporaryDirectory()
        let ledger = try F.filledLedger(in: dir, count: 5)
        // Opened for writing before the attribute is set, and kept.
        let early = open(ledger.path, O_RDWR | O_CLOEXEC)
        #expect(early >= 0)
        defer { close(early) }
        guard chattr("+a", ledger.path) == 0 else {
            print("chattr +a failed here; the append-only checkpoint test is skipped")
            #expect(ProcessInfo.processInfo.environment["CI"] == nil)
            return
        }
        defer { chattr("-a", ledger.path) }
        var follower = LedgerFollower()
        try follower.read(ledger)
        try ledger.append(RecordDraft(type: .cancelled, run: "run-1", reason: "done"), operator: F.alice, now: F.t0)
        try follower.read(ledger)
        let checkpoint = try #require(follower.checkpoint)
        #expect(follower.lastFolded == 1 && checkpoint.seq == 6)

        // A byte of record 2 changed through the early descriptor, the attribute still set.
        let lines = F.lines(ledger.path)
        let offset =
            lines[0].utf8.count + 1
            + (lines[1].range(of: "ok 2").map { lines[1].utf8.distance(from: lines[1].startIndex, to: $0.lowerBound) } ?? 0)
        let written = pwrite(early, "ok 7", 4, off_t(offset))
        print("a write into an append-only file through a descriptor opened before: \(written == 4 ? "done" : "refused")")
        if written == 4 {
            let continuation = try ledger.read(after: checkpoint)
            #expect(continuation.fromStart && continuation.reading.fault?.line == 2)
        }
        // Root clears the attribute, changes a byte, and sets it again on the same file.
        #expect(chattr("-a", ledger.path) == 0)
        var changed = F.lines(ledger.path)
        changed[2] = changed[2].replacingOccurrences(of: "ok 3", with: "ok 8")
        let handle = try #require(FileHandle(forWritingAtPath: ledger.path))
        try handle.write(contentsOf: Data((changed.joined(separator: "\n") + "\n").utf8))
        try handle.close()
        #expect(chattr("+a", ledger.path) == 0)
        let continuation = try ledger.read(after: checkpoint)
        #expect(continuation.fromStart, "the checkpoint was used on bytes that changed")
        #expect(continuation.reading.fault != nil)
    }

    /// An append-only ledger cannot be truncated: a crash's torn tail is closed off by a newline
    /// and a `torn_tail` record naming its digest, and the chain goes on from there.
    @Test func aTornTailOnAnAppendOnlyLedgerIsClosedOffAndTheChainGoesOn() throws {
        let dir = TemporaryDirectory()
        let ledger = try F.filledLedger(in: dir, count: 3)
        let torn = Array("{\"seq\":4,\"time\":\"2027-01-15T08:00:04Z\",\"ty".utf8)
        let handle = try #require(FileHandle(forWritingAtPath: ledger.path))
        handle.seekToEndOfFile()
        handle.write(Data(torn))
        try handle.close()
        guard chattr("+a", ledger.path) == 0 else {
            print("chattr +a failed here; the torn-tail test on an append-only ledger is skipped")
            #expect(ProcessInfo.processInfo.environment["CI"] == nil)
            return
        }
        defer { chattr("-a", ledger.path) }
        let appended = try ledger.append(RecordDraft(type: .cancelled, run: "r", reason: "after the crash"), operator: F.alice, now: F.t0)
        #expect(appended.seq == 5)
        let reading = try ledger.read()
        #expect(reading.isIntact && reading.tornTailBytes == 0)
        #expect(reading.records.map(\.draft.type) == [.stepFinished, .stepFinished, .stepFinished, .tornTail, .cancelled])
        #expect(reading.records[3].draft.outputDigest == ContentDigest.sha256(torn))
        let text = try String(contentsOfFile: ledger.path, encoding: .utf8)
        #expect(text.contains(String(decoding: torn, as: UTF8.self) + "\n"), "the torn bytes stay, as one line")
        // A decision goes through the full check on the same file.
        _ = try ledger.appendChecked(operator: F.bob, now: F.t0) { reading in
            (RecordDraft(type: .cancelled, run: "s"), reading.records.count)
        }
        #expect(try ledger.read().records.count == 6)
    }

    /// The excuse covers exactly the bytes it names: a damaged line with a `torn_tail` record of
    /// other bytes after it is damage.
    @Test func aTornTailRecordExcusesOnlyTheBytesItNames() throws {
        let dir = TemporaryDirectory()
        let ledger = try F.filledLedger(in: dir, count: 2)
        let head = try #require(try ledger.read().records.last)
        let excuse = LedgerRecord(
            seq: 3, time: F.t0, draft: RecordDraft(type: .tornTail, outputDigest: ContentDigest.sha256(Array("other".utf8))),
            operator: F.alice, prev: head.hash)
        var lines = F.lines(ledger.path)
        lines.append("{\"seq\":3,\"ty")
        lines.append(String(decoding: excuse.line.dropLast(), as: UTF8.self))
        try F.write(lines: lines, to: ledger.path)
        let reading = try ledger.read()
        #expect(reading.fault?.line == 3 && reading.records.count == 2)
        // With the right digest, the same shape verifies.
        let right = LedgerRecord(
            seq: 3, time: F.t0, draft: RecordDraft(type: .tornTail, outputDigest: ContentDigest.sha256(Array("{\"seq\":3,\"ty".utf8))),
            operator: F.alice, prev: head.hash)
        lines[lines.count - 1] = String(decoding: right.line.dropLast(), as: UTF8.self)
        try F.write(lines: lines, to: ledger.path)
        #expect(try ledger.read().isIntact && (try ledger.read().records.count) == 3)
    }
}
