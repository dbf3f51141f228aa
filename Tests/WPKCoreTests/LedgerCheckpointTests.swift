import Crypto
import Foundation
import Testing

@testable import WPKCore

/// A ledger that uses every field the fold keeps: runs started by hand and by triggers, steps with
/// outputs, waits, signed and unsigned approvals (one consumed after `split`), rejections, an
/// expiry, a cancellation, a pre-approval, a second version of the playbook and a future record type.
enum VariedLedger {
    static let split = 14

    static func records() -> [LedgerRecord] {
        var records: [LedgerRecord] = []
        let t0 = LedgerFixtures.t0
        let playbook = LedgerFixtures.playbookDigest
        let plan = LedgerFixtures.planDigest
        let alice = Operator(uid: 1001, name: "alice", tty: "/dev/pts/3", sshSource: "10.0.0.7")
        let bob = Operator(uid: 1002, name: "bob")
        func add(_ draft: RecordDraft, _ op: Operator, signed: Bool = false) {
            let seq = records.count + 1
            let time = t0.addingTimeInterval(Double(seq))
            let prev = records.last?.hash ?? LedgerRecord.genesis
            records.append(
                signed
                    ? LedgerRecord(
                        seq: seq, time: time, draft: draft, operator: op, prev: prev, principal: "bob@example.org",
                        key: "SHA256:abc", signature: "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----")
                    : LedgerRecord(seq: seq, time: time, draft: draft, operator: op, prev: prev))
        }
        func draft(_ type: RecordType, run: String?, step: String? = nil, plan: String = plan) -> RecordDraft {
            RecordDraft(type: type, run: run, playbook: "db-failover", playbookDigest: playbook, planDigest: plan, step: step)
        }
        var started = draft(.runStarted, run: "r1")
        started.pid = 4242
        started.host = "bastion-1"
        started.inputs = ["deployment"]
        started.startedBy = StartedBy(kind: .webhook, trigger: "/hooks/db", source: "10.1.2.3:5555")
        add(started, alice)  // 1
        add(draft(.stepStarted, run: "r1", step: "check"), alice)  // 2
        var finished = draft(.stepFinished, run: "r1", step: "check")
        finished.attempt = 1
        finished.outcome = "succeeded"
        finished.exitCode = 0
        finished.durationMilliseconds = 120
        finished.outputDigest = "sha256:" + String(repeating: "d", count: 64)
        finished.outputBytes = 5000
        finished.outputTail = "sha256:" + String(repeating: "e", count: 64)
        add(finished, alice)  // 3
        var wait = draft(.waiting, run: "r1", step: "migrate")
        wait.approvalsRequired = 2
        wait.expires = t0.addingTimeInterval(3600)
        add(wait, alice)  // 4
        var approval = draft(.approved, run: "r1", step: "migrate")
        approval.expires = t0.addingTimeInterval(3600)
        approval.approvalsRequired = 2
        approval.includesRollback = ["undo-migrate"]
        add(approval, bob, signed: true)  // 5
        var second = draft(.approved, run: nil, step: "migrate")
        second.expires = t0.addingTimeInterval(1800.5)
        add(second, LedgerFixtures.carol)  // 6
        var started2 = draft(.runStarted, run: "r2", plan: LedgerFixtures.otherPlanDigest)
        started2.startedBy = StartedBy.commandLine(alice)
        add(started2, alice)  // 7
        add(draft(.waiting, run: "r2", step: "migrate", plan: LedgerFixtures.otherPlanDigest), alice)  // 8
        var rejection = draft(.rejected, run: "r2", step: "migrate", plan: LedgerFixtures.otherPlanDigest)
        rejection.reason = "not during the sale"
        add(rejection, bob, signed: true)  // 9
        rejection.reason = "still no"
        add(rejection, LedgerFixtures.carol)  // 10
        var cancelled = draft(.cancelled, run: "r2", plan: LedgerFixtures.otherPlanDigest)
        cancelled.reason = "rejected"
        add(cancelled, alice)  // 11
        add(draft(.runStarted, run: "r3"), alice)  // 12
        add(draft(.waiting, run: "r3", step: "migrate"), alice)  // 13
        add(RecordDraft(type: .other("future_thing"), run: "r3", reason: "from a newer wpk"), alice)  // 14 = split
        var consumed = draft(.consumed, run: "r1", step: "migrate")
        consumed.consumes = [5, 6]
        add(consumed, alice)  // 15
        add(draft(.expired, run: "r3", step: "migrate"), alice)  // 16
        add(draft(.stepStarted, run: "r1", step: "migrate"), alice)  // 17
        var done = draft(.runFinished, run: "r1")
        done.outcome = "succeeded"
        done.changed = ["migrate"]
        add(done, alice)  // 18
        var newer = RecordDraft(
            type: .approved, playbook: "db-failover", playbookDigest: "sha256:" + String(repeating: "f", count: 64), planDigest: plan,
            step: "migrate")
        newer.expires = t0.addingTimeInterval(7200)
        add(newer, bob)  // 19
        return records
    }

    static func bytes(_ records: some Sequence<LedgerRecord>) -> [UInt8] {
        records.reduce(into: []) { $0 += $1.line }
    }

    static func append(_ records: some Sequence<LedgerRecord>, to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes(records)))
    }

    /// The state in the snapshot's exact encoding, so two folds compare field by field.
    static func encoding(_ state: LedgerState, _ checkpoint: LedgerCheckpoint) -> [UInt8] {
        LedgerSnapshot(checkpoint: checkpoint, state: state).encoded()
    }
}

@Suite("Reading a ledger file on from a checkpoint")
struct LedgerCheckpointTests {
    let records = VariedLedger.records()

    /// A ledger file of the first `count` records, read whole by a follower.
    func followedPrefix(_ count: Int, in dir: TemporaryDirectory, memory: LedgerHeadMemory? = nil) throws -> (Ledger, LedgerFollower) {
        var ledger = Ledger(path: dir.file("ledger.jsonl"))
        ledger.memory = memory
        try Data(VariedLedger.bytes(records.prefix(count))).write(to: URL(fileURLWithPath: ledger.path))
        var follower = LedgerFollower()
        try follower.read(ledger)
        return (ledger, follower)
    }

    @Test func onlyTheRecordsAfterTheCheckpointAreReadAndTheFoldIsTheSame() throws {
        let dir = TemporaryDirectory()
        let (ledger, firstFollower) = try followedPrefix(VariedLedger.split, in: dir)
        var follower = firstFollower
        let checkpoint = try #require(follower.checkpoint)
        #expect(checkpoint.seq == VariedLedger.split)
        #expect(checkpoint.offset == VariedLedger.bytes(records.prefix(VariedLedger.split)).count)
        #expect(checkpoint.prefixDigest == Array(SHA256.hash(data: VariedLedger.bytes(records.prefix(VariedLedger.split)))))
        #expect(checkpoint.lineOffsets.count == VariedLedger.split && checkpoint.lineOffsets.first == 0)

        try VariedLedger.append(records.dropFirst(VariedLedger.split), to: ledger.path)
        let continuation = try ledger.read(after: checkpoint)
        #expect(!continuation.fromStart)
        #expect(continuation.reading.records.map(\.seq) == Array(VariedLedger.split + 1...records.count))
        try follower.read(ledger)
        #expect(follower.lastFolded == records.count - VariedLedger.split)
        #expect(follower.records.map(\.hash) == records.map(\.hash))

        // The same state and checkpoint as one whole reading of the final file.
        var whole = LedgerFollower()
        try whole.read(ledger, wholeChain: true)
        let end = try #require(whole.checkpoint)
        #expect(follower.checkpoint == end)
        let same = VariedLedger.encoding(follower.state, end) == VariedLedger.encoding(whole.state, end)
        #expect(same, "the state read on from the checkpoint differs from the whole fold")
        // The consumed record in the tail marked the approvals folded before the checkpoint.
        let gate = try #require(
            follower.state.gates[
                GateKey(playbookDigest: LedgerFixtures.playbookDigest, planDigest: LedgerFixtures.planDigest, step: "migrate")])
        #expect(gate.approvals.map { $0.consumedBy?.seq } == [15, 15])
    }

    @Test func nothingNewReadsNothing() throws {
        let dir = TemporaryDirectory()
        let (ledger, follower) = try followedPrefix(records.count, in: dir)
        let continuation = try ledger.read(after: follower.checkpoint)
        #expect(!continuation.fromStart && continuation.reading.records.isEmpty && continuation.checkpoint == follower.checkpoint)
    }

    /// Any byte before the checkpoint changed, even one that keeps every line well formed, makes
    /// the reading start over from the first record, which then reports the damage.
    @Test(arguments: [0, 3, VariedLedger.split - 1])
    func aChangeBeforeTheCheckpointIsReadFromTheStartAndFound(_ index: Int) throws {
        let dir = TemporaryDirectory()
        let (ledger, firstFollower) = try followedPrefix(VariedLedger.split, in: dir)
        var follower = firstFollower
        var lines = LedgerFixtures.lines(ledger.path)
        lines[index] = lines[index].replacingOccurrences(of: "\"alice\"", with: "\"alicf\"")
        try LedgerFixtures.write(lines: lines, to: ledger.path)
        try VariedLedger.append(records.dropFirst(VariedLedger.split), to: ledger.path)
        let continuation = try ledger.read(after: follower.checkpoint)
        #expect(continuation.fromStart)
        #expect(continuation.reading.fault?.line == index + 1)
        #expect(continuation.checkpoint == nil)
        try follower.read(ledger)
        #expect(follower.state.recordCount == index && follower.checkpoint == nil)
    }

    @Test func aLedgerCutBeforeTheCheckpointIsRefusedAsRolledBack() throws {
        let dir = TemporaryDirectory()
        let memory = LedgerHeadMemory(directories: [dir.file("heads")])
        let (ledger, firstFollower) = try followedPrefix(VariedLedger.split, in: dir, memory: memory)
        var follower = firstFollower
        let checkpoint = follower.checkpoint
        try Data(VariedLedger.bytes(records.prefix(VariedLedger.split - 2))).write(to: URL(fileURLWithPath: ledger.path))
        do {
            _ = try ledger.read(after: checkpoint)
            Issue.record("a ledger cut short was read")
        } catch {
            #expect(error.kind == .rolledBack)
        }
        #expect(throws: LedgerError.self) { try follower.read(ledger) }
        #expect(follower.checkpoint == nil, "a failed reading forgets the checkpoint")
    }

    /// A head remembered by another directory (the machine-wide one) inside the verified prefix is
    /// still compared, at its own line: the checkpoint does not skip the rollback check.
    @Test func aRememberedHeadInsideTheCheckpointIsStillCompared() throws {
        let dir = TemporaryDirectory()
        let mine = LedgerHeadMemory(directories: [dir.file("mine")])
        let (ledger0, follower) = try followedPrefix(VariedLedger.split, in: dir, memory: mine)
        // Elsewhere, seq 5 of this ledger was verified as another record: this file forked from it.
        LedgerHeadMemory(directories: [dir.file("shared")]).remember(
            path: ledger0.path, id: records[0].hash, seq: 5, hash: "sha256:" + String(repeating: "9", count: 64))
        var ledger = ledger0
        ledger.memory = LedgerHeadMemory(directories: [dir.file("mine"), dir.file("shared")])
        do {
            _ = try ledger.read(after: follower.checkpoint)
            Issue.record("a forked ledger was read on from the checkpoint")
        } catch {
            #expect(error.kind == .rolledBack)
            #expect(error.message.contains("seq 5"))
        }
        // And an agreeing remembered head inside the prefix is found equal.
        LedgerHeadMemory(directories: [dir.file("agree")]).remember(path: ledger0.path, id: records[0].hash, seq: 7, hash: records[6].hash)
        ledger.memory = LedgerHeadMemory(directories: [dir.file("mine"), dir.file("agree")])
        #expect(try !ledger.read(after: follower.checkpoint).fromStart)
    }

    @Test func aTornTailAfterTheCheckpointIsReportedNotRead() throws {
        let dir = TemporaryDirectory()
        let (ledger, follower) = try followedPrefix(VariedLedger.split, in: dir)
        var tail = VariedLedger.bytes([records[VariedLedger.split]])
        tail.removeLast(10)
        let handle = try #require(FileHandle(forWritingAtPath: ledger.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(tail))
        try handle.close()
        let continuation = try ledger.read(after: follower.checkpoint)
        #expect(!continuation.fromStart && continuation.reading.records.isEmpty)
        #expect(continuation.reading.tornTailBytes == tail.count && continuation.reading.isIntact)
        #expect(continuation.checkpoint == follower.checkpoint)
    }

    @Test func aDamagedRecordAfterTheCheckpointStopsTheReadingThere() throws {
        let dir = TemporaryDirectory()
        let (ledger, firstFollower) = try followedPrefix(VariedLedger.split, in: dir)
        var follower = firstFollower
        try VariedLedger.append(records.dropFirst(VariedLedger.split), to: ledger.path)
        var lines = LedgerFixtures.lines(ledger.path)
        lines[VariedLedger.split + 1] = lines[VariedLedger.split + 1].replacingOccurrences(of: "\"alice\"", with: "\"mallory\"")
        try LedgerFixtures.write(lines: lines, to: ledger.path)
        let reading = try follower.read(ledger)
        #expect(reading.fault?.line == VariedLedger.split + 2)
        #expect(follower.state.recordCount == VariedLedger.split + 1 && follower.checkpoint == nil)
        #expect(throws: LedgerError.self) {
            try ledger.appendChecked(operator: LedgerFixtures.bob, now: Date()) { _ in (nil as RecordDraft?, ()) }
        }
    }
}

@Suite("Ledger snapshots")
struct LedgerSnapshotTests {
    let records = VariedLedger.records()

    func snapshot(of count: Int, in dir: TemporaryDirectory) throws -> (Ledger, LedgerSnapshot) {
        let ledger = Ledger(path: dir.file("ledger.jsonl"))
        try Data(VariedLedger.bytes(records.prefix(count))).write(to: URL(fileURLWithPath: ledger.path))
        var follower = LedgerFollower()
        try follower.read(ledger)
        return (ledger, try #require(follower.snapshot))
    }

    @Test func aSnapshotRestoresTheFoldAndReadsOnToTheSameState() throws {
        let dir = TemporaryDirectory()
        let (ledger, snapshot) = try snapshot(of: VariedLedger.split, in: dir)
        let bytes = snapshot.encoded()
        let restored = try #require(LedgerSnapshot(decoding: bytes))
        let reencoded = restored.encoded() == bytes
        #expect(reencoded, "decoding and encoding again changed the snapshot")
        #expect(restored.checkpoint == snapshot.checkpoint)

        try VariedLedger.append(records.dropFirst(VariedLedger.split), to: ledger.path)
        var resumed = LedgerFollower()
        try resumed.read(ledger, startingFrom: try #require(StoredLedgerSnapshot(bytes)))
        #expect(resumed.lastFolded == records.count - VariedLedger.split && !resumed.hasEveryRecord)
        #expect(resumed.records.map(\.seq) == Array(VariedLedger.split + 1...records.count))
        // Compared with the fold of the records as the file gives them back (times in whole seconds).
        let whole = LedgerState(records: try ledger.read().records)
        let end = try #require(resumed.checkpoint)
        let same = VariedLedger.encoding(resumed.state, end) == VariedLedger.encoding(whole, end)
        #expect(same, "the restored and read-on state differs from the whole fold")
        // What the screens derive agrees too.
        let now = LedgerFixtures.t0.addingTimeInterval(60)
        let overview = { (state: LedgerState) in
            state.runOverview(at: now, processAlive: { _ in nil }).map { "\($0.history.id) \($0.status)" }
        }
        #expect(overview(resumed.state) == overview(whole))
        // The records runs and approvals keep (for their signatures) are not in the snapshot: the
        // run started before it has none, the one after does. A reading of every record brings
        // them back with the whole record list.
        #expect(resumed.state.runs["r1"]?.startRecord == nil && resumed.state.lacksRecords)
        // Policy refuses such a state: without those records no signature can be checked.
        let status = ApprovalPolicy.gateStatus(
            subject: LedgerFixtures.subject(approvals: 2, run: "r1"), state: resumed.state, policy: .loaded(.builtIn),
            now: LedgerFixtures.t0)
        guard case .refused(.signersUnavailable) = status else {
            Issue.record("a state restored from a snapshot was judged by policy: \(status)")
            return
        }
        #expect(resumed.state.gates.values.flatMap(\.approvals).filter { $0.seq == 5 }.allSatisfy { $0.record == nil })
        try resumed.read(ledger, wholeChain: true)
        #expect(resumed.hasEveryRecord && resumed.records.map(\.hash) == records.map(\.hash) && !resumed.state.lacksRecords)
        #expect(resumed.state.runs["r1"]?.startRecord?.hash == records[0].hash)
        #expect(resumed.state.gates.values.flatMap(\.approvals).first { $0.seq == 5 }?.record?.signature != nil)
    }

    /// A snapshot of a file whose earlier bytes changed since is not used: the whole chain is
    /// read, and its damage reported.
    @Test func aSnapshotOfBytesThatChangedIsNotUsed() throws {
        let dir = TemporaryDirectory()
        let (ledger, snapshot) = try snapshot(of: VariedLedger.split, in: dir)
        try VariedLedger.append(records.dropFirst(VariedLedger.split), to: ledger.path)
        var lines = LedgerFixtures.lines(ledger.path)
        lines[2] = lines[2].replacingOccurrences(of: "\"succeeded\"", with: "\"failed\"")
        try LedgerFixtures.write(lines: lines, to: ledger.path)
        var resumed = LedgerFollower()
        let reading = try resumed.read(ledger, startingFrom: try #require(StoredLedgerSnapshot(snapshot.encoded())))
        #expect(reading.fault?.line == 3)
        #expect(resumed.hasEveryRecord && resumed.state.recordCount == 2 && resumed.checkpoint == nil)
        // Restored as it was, the same snapshot is read on from again.
        try Data(VariedLedger.bytes(records)).write(to: URL(fileURLWithPath: ledger.path))
        var again = LedgerFollower()
        try again.read(ledger, startingFrom: try #require(StoredLedgerSnapshot(snapshot.encoded())))
        #expect(!again.hasEveryRecord && again.lastFolded == records.count - VariedLedger.split)
    }

    /// The snapshot must keep every field the fold keeps (but the records kept for signatures): a
    /// field added to one of these types without being added to the snapshot would be lost on a
    /// restored start.
    @Test func theSnapshotCoversEveryStoredField() throws {
        let state = LedgerState(records: records)
        func labels(_ value: Any) -> [String] { Mirror(reflecting: value).children.compactMap(\.label) }
        let gate = try #require(state.gates.values.first { !$0.approvals.isEmpty })
        let run = try #require(state.runs["r1"])
        let expected: [(Any, [String])] = [
            (
                state,
                [
                    "gates", "runs", "latestDigests", "planRejections", "planRejectionHistory", "recordCount", "head",
                    "approvalLocation", "lacksRecords",
                ]
            ),
            (gate, ["key", "playbook", "approvals", "rejections", "expiredRuns", "consumedRuns", "waiting", "lastSeq"]),
            (gate.approvals[0], ["seq", "approver", "time", "expires", "run", "approvalsRequired", "consumedBy", "storedRecord"]),
            (
                RejectionEntry(seq: 1, rejecter: LedgerFixtures.bob, time: Date(), reason: "", run: nil, record: nil),
                ["seq", "rejecter", "time", "reason", "run", "storedRecord"]
            ),
            (WaitingEntry(run: "", seq: 1, since: Date()), ["run", "seq", "since", "deadline", "approvalsRequired"]),
            (
                run,
                [
                    "id", "starter", "playbook", "playbookDigest", "planDigest", "startedAt", "seq", "ended", "pid", "host", "startedBy",
                    "openSteps", "finishedSteps", "outcome", "lastSeq", "storedStartRecord",
                ]
            ),
            (LedgerFixtures.alice, ["uid", "name", "groups", "tty", "sshSource"]),
            (StartedBy.commandLine(LedgerFixtures.alice), ["kind", "trigger", "source"]),
        ]
        for (value, names) in expected {
            #expect(Set(labels(value)) == Set(names), "\(type(of: value)) has fields the snapshot does not know: update LedgerSnapshot")
        }
    }

    @Test func aDamagedSnapshotIsNeverUsed() throws {
        let dir = TemporaryDirectory()
        let bytes = try snapshot(of: records.count, in: dir).1.encoded()
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            #expect(LedgerSnapshot(decoding: Array(bytes.prefix(cut))) == nil)
        }
        for index in stride(from: 0, to: bytes.count, by: 5) {
            var flipped = bytes
            flipped[index] ^= 0x20
            #expect(LedgerSnapshot(decoding: flipped) == nil, "a changed byte at \(index) went unnoticed")
        }
    }

    /// Sections changed behind a recomputed digest (what only the account itself could write) are
    /// still read safely: refused, or read as some consistent snapshot, never a crash or a hang.
    @Test func changedSectionsWithAMatchingDigestAreReadSafely() throws {
        let dir = TemporaryDirectory()
        let bytes = try snapshot(of: records.count, in: dir).1.encoded()
        let magic = Array("wpk-ledger-snapshot-4\n".utf8).count
        let header = magic + 32 + 32 + 8
        let length = (0..<8).reduce(0) { $0 | Int(bytes[magic + 64 + $1]) << ($1 * 8) }
        var generator = SystemRandomNumberGenerator()
        for round in 0..<3000 {
            var sections = [Array(bytes[header..<(header + length)]), Array(bytes[(header + length)...])]
            let changed = round % 2
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<sections[changed].count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: sections[changed][index] = UInt8.random(in: 0...255, using: &generator)
                case 1: sections[changed].remove(at: index)
                default: sections[changed].insert(0xFF, at: index)
                }
            }
            let newLength = UInt64(sections[0].count)
            let forged =
                Array(bytes.prefix(magic)) + Array(SHA256.hash(data: sections[0])) + Array(SHA256.hash(data: sections[1]))
                + (0..<8).map { UInt8(truncatingIfNeeded: newLength >> ($0 * 8)) } + sections[0] + sections[1]
            if let read = LedgerSnapshot(decoding: forged) { #expect(read.isConsistent) }
        }
    }

    @Test func theStoreReadsOnlyThisAccountsPrivateSnapshot() throws {
        let dir = TemporaryDirectory()
        let (ledger, snapshot) = try snapshot(of: records.count, in: dir)
        let store = LedgerSnapshotStore(directory: dir.file("snapshots"))
        #expect(store.load(ledgerPath: ledger.path) == nil)
        #expect(store.save(snapshot, ledgerPath: ledger.path))
        #expect(store.load(ledgerPath: ledger.path)?.checkpoint == snapshot.checkpoint)
        #expect(store.load(ledgerPath: ledger.path)?.state() != nil)
        #expect(store.load(ledgerPath: ledger.path + ".other") == nil)
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: store.directory).first)
        let path = store.directory + "/" + file
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        chmod(path, 0o620)
        #expect(store.load(ledgerPath: ledger.path) == nil, "a snapshot others can write is not used")
        chmod(path, 0o600)
        if geteuid() == 0 {
            chown(path, 65534, 65534)
            #expect(store.load(ledgerPath: ledger.path) == nil, "another account's snapshot is not used")
            chown(path, 0, 0)
        }
        try FileManager.default.moveItem(atPath: path, toPath: path + ".real")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: path + ".real")
        #expect(store.load(ledgerPath: ledger.path) == nil, "a link is not followed")
    }

    @Test func aSnapshotOfAnotherStateIsRefused() throws {
        let dir = TemporaryDirectory()
        let (_, snapshot) = try snapshot(of: VariedLedger.split, in: dir)
        let other = LedgerSnapshot(checkpoint: snapshot.checkpoint, state: LedgerState(records: Array(records.prefix(3))))
        #expect(!other.isConsistent)
        #expect(LedgerSnapshot(decoding: other.encoded()) == nil)
        #expect(!LedgerSnapshotStore(directory: dir.file("s")).save(other, ledgerPath: dir.file("ledger.jsonl")))
    }
}

@Suite("What the fold keeps")
struct LedgerFoldTests {
    /// A step's own events make no gate: `wpk approvals list` lists gated steps, and a long ledger
    /// of runs keeps one gate per wait, not one per step. A gate's events still date it.
    @Test func onlyDecisionsWaitsExpiriesAndUsesMakeGates() throws {
        let records = VariedLedger.records()
        #expect(records.contains { $0.draft.type == .stepFinished && $0.draft.step == "check" })
        let state = LedgerState(records: records)
        #expect(Set(state.gates.keys.map(\.step)) == ["migrate"])
        let gate = try #require(
            state.gates[GateKey(playbookDigest: LedgerFixtures.playbookDigest, planDigest: LedgerFixtures.planDigest, step: "migrate")])
        #expect(gate.lastSeq == 17, "the step_started of the gated step is the gate's newest record")
    }
}
