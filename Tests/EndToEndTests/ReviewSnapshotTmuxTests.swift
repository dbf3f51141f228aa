import Foundation
import Testing
import WPKCore

/// `wpk review` on a long ledger keeps a snapshot of what it folded, and a later session starts
/// from it: it must show everything written since, and never the snapshot's state once the
/// ledger's earlier bytes changed.
@Suite("wpk review starts from its snapshot of a long ledger (tmux)", .serialized)
struct ReviewSnapshotTmuxTests {
    static let playbook = "sha256:" + String(repeating: "e", count: 64)

    /// A run's records: four steps done, then a wait at `restart` until a day from now; a finished
    /// run is then cancelled.
    static func runDrafts(_ id: String, finished: Bool) -> [RecordDraft] {
        let plan = ContentDigest.sha256(Array(id.utf8))
        func draft(_ type: RecordType, step: String? = nil) -> RecordDraft {
            RecordDraft(type: type, run: id, playbook: "restart-unhealthy", playbookDigest: playbook, planDigest: plan, step: step)
        }
        var started = draft(.runStarted)
        // Another host: the review cannot look for the process, so the run stays waiting.
        started.pid = 4242
        started.host = "bastion-elsewhere"
        var drafts = [started]
        for step in ["pod-status", "rollout-history", "describe-pods", "collect-logs"] {
            drafts.append(draft(.stepStarted, step: step))
            var done = draft(.stepFinished, step: step)
            done.outcome = "succeeded"
            drafts.append(done)
        }
        var wait = draft(.waiting, step: "restart")
        wait.approvalsRequired = 1
        wait.expires = Date().addingTimeInterval(86_400)
        drafts.append(wait)
        if finished {
            var end = draft(.cancelled)
            end.reason = "not needed"
            drafts.append(end)
        }
        return drafts
    }

    /// `run-early` waiting, 120 cancelled runs (past the snapshot interval of 1,000 records), `run-late`
    /// waiting: 1,340 records.
    static func writeLongLedger(_ path: String) throws {
        var records: [LedgerRecord] = []
        let op = Operator(uid: Int(getuid()), name: "alice", tty: "/dev/pts/4", sshSource: "10.20.0.7")
        let drafts =
            runDrafts("run-early", finished: false) + (1...120).flatMap { runDrafts(String(format: "done-%04d", $0), finished: true) }
            + runDrafts("run-late", finished: false)
        let start = Date().addingTimeInterval(-3600)
        for (index, draft) in drafts.enumerated() {
            records.append(
                LedgerRecord(
                    seq: index + 1, time: start.addingTimeInterval(Double(index)), draft: draft, operator: op,
                    prev: records.last?.hash ?? LedgerRecord.genesis))
        }
        let bytes = records.reduce(into: [UInt8]()) { $0 += $1.line }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw E2EError("cannot write \(path)")
        }
    }

    /// The Runs view's rows (the lines under its header).
    static func rows(_ screen: String) -> [String] {
        let lines = screen.split(separator: "\n").map(String.init)
        guard let header = lines.firstIndex(where: { $0.contains("RUN") && $0.contains("APPR") }) else { return [] }
        return Array(lines[(header + 1)...])
    }

    @Test func aLaterSessionReadsOnFromItsSnapshotAndNeverShowsItOverChangedBytes() throws {
        let session = try TmuxSession(width: 120, height: 30)
        let ledgerPath = session.scratchFile("ledger.jsonl")
        let stateDirectory = session.scratchFile("state")
        try Self.writeLongLedger(ledgerPath)
        let review = try WPKLaunch().shellCommand(["review"]) + " examples/playbooks"
        let environment = "LANG=C.UTF-8 WPK_LEDGER=\(shellQuoted(ledgerPath)) XDG_STATE_HOME=\(shellQuoted(stateDirectory))"
        @discardableResult
        func runSession(_ number: Int, until what: String, then: () throws -> Void = {}, _ condition: (String) -> Bool) throws -> String {
            try session.type("clear; env \(environment) \(review); echo \"EXIT-\(number)=$?\"", enter: true)
            let screen = try session.waitFor(what, condition)
            try then()
            try session.type("q")
            try session.waitFor("session \(number) to end") { $0.contains("EXIT-\(number)=0") }
            return screen
        }

        // The first session reads the whole ledger and keeps a snapshot of it.
        try runSession(1, until: "both waiting runs, the longest wait first") { screen in
            let rows = Self.rows(screen)
            return rows.count > 2 && rows[0].contains("run-early") && rows[0].contains("waiting") && rows[1].contains("run-late")
                && rows[1].contains("waiting")
        }
        let snapshots = stateDirectory + "/wpk/snapshots"
        let kept = try FileManager.default.contentsOfDirectory(atPath: snapshots).filter { $0.hasSuffix(".snapshot") }
        #expect(kept.count == 1)
        let snapshotFile = snapshots + "/" + (kept.first ?? "")
        var info = stat()
        #expect(stat(snapshotFile, &info) == 0 && info.st_mode & 0o777 == 0o600 && info.st_uid == geteuid())
        let snapshotBytes = try Data(contentsOf: URL(fileURLWithPath: snapshotFile))
        let checkpoint = try #require(StoredLedgerSnapshot([UInt8](snapshotBytes))?.checkpoint)
        #expect(checkpoint.seq == 1_340)

        // Between the sessions another process cancels run-late and starts run-new, which waits.
        let ledger = Ledger(path: ledgerPath)
        var cancel = RecordDraft(type: .cancelled, run: "run-late", reason: "superseded")
        cancel.playbook = "restart-unhealthy"
        try ledger.append(cancel, operator: Operator.current(), now: Date())
        for draft in Self.runDrafts("run-new", finished: false) { try ledger.append(draft, operator: Operator.current(), now: Date()) }

        // The second session shows all of it: the records after the snapshot are read on from it.
        // A run opens (its screen needs every record, which the snapshot does not hold: they are
        // read meanwhile, or waited for).
        let openRun = {
            try session.press("Enter")
            try session.waitFor("run-early opened") { screen in
                screen.contains("run run-early  restart-unhealthy  waiting") && screen.contains("waiting at restart: 0/1 approvals")
            }
            try session.press("Escape")
        }
        try runSession(2, until: "run-new waiting and run-late cancelled", then: openRun) { screen in
            let rows = Self.rows(screen)
            return rows.count > 3 && rows[0].contains("run-early") && rows[1].contains("run-new") && rows[1].contains("waiting")
                && rows.contains { $0.contains("run-late") && $0.contains("cancelled") }
        }

        // A byte changed in a record the snapshot covers: the third session cannot read on from the
        // snapshot, reads the whole ledger, finds the damage and lists only the runs before it.
        var lines = try String(contentsOfFile: ledgerPath, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[99] = lines[99].replacingOccurrences(of: "\"alice\"", with: "\"alicf\"")
        try (lines.joined(separator: "\n") + "\n").write(toFile: ledgerPath, atomically: false, encoding: .utf8)
        let damaged = try runSession(3, until: "the damage said and the runs after it not listed") { screen in
            screen.contains("the ledger is damaged after record 99") && Self.rows(screen).first?.contains("run-early") == true
        }
        #expect(!damaged.contains("run-new") && !damaged.contains("run-late"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: snapshotFile)) == snapshotBytes, "a damaged ledger replaced the snapshot")
    }
}
