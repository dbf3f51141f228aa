import Foundation
import Testing

@testable import WPKCore

/// The process layer of `wpk run`, on real `/bin/sh` processes.
@Suite struct RunProcessTests {
    let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]

    func shell(_ script: String, timeout: Double = 20, grace: Double = 0.5, cap: Int = 1 << 20) -> ProcessSpec {
        ProcessSpec(
            arguments: ["sh", "-c", script], environment: environment, timeoutSeconds: timeout,
            gracePeriodSeconds: grace, outputCap: cap)
    }

    @Test func capturesOutputOfBothStreamsAndItsDigest() {
        var streamed: [UInt8] = []
        let outcome = StepProcess.run(shell("echo out; echo err >&2; exit 0")) { streamed.append(contentsOf: $0) }
        #expect(outcome.succeeded)
        #expect(outcome.ending == .exited(code: 0))
        #expect(String(decoding: outcome.output, as: UTF8.self) == "out\nerr\n")
        #expect(streamed == outcome.output)
        #expect(outcome.outputDigest == ContentDigest.sha256(Array("out\nerr\n".utf8)))
        #expect(outcome.leftoverProcessesStopped == false)
    }

    @Test(arguments: [(1, false), (3, false), (0, true)])
    func reportsTheExitCode(code: Int32, succeeded: Bool) {
        let outcome = StepProcess.run(shell("exit \(code)"))
        #expect(outcome.ending == .exited(code: code))
        #expect(outcome.succeeded == succeeded)
    }

    @Test func runsInItsOwnProcessGroupWithStandardInputClosed() {
        // Field 5 of /proc/PID/stat is the process group; reading stdin gets end-of-file at once.
        let outcome = StepProcess.run(shell("cut -d' ' -f5 /proc/$$/stat; cat; echo done"))
        let lines = String(decoding: outcome.output, as: UTF8.self).split(separator: "\n")
        #expect(lines.first.flatMap { Int32($0) } == outcome.pid)
        #expect(lines.last == "done")
    }

    @Test func aStepInheritsNoDescriptorBeyondItsStandardStreams() {
        let inheritable = open("/dev/null", O_RDONLY)  // no O_CLOEXEC, as a parent's descriptors may be
        defer { close(inheritable) }
        #expect(inheritable > 2)
        let outcome = StepProcess.run(shell("ls /proc/$$/fd"))
        let descriptors = String(decoding: outcome.output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(descriptors == ["0", "1", "2"])
    }

    @Test func keepsOutputUpToTheCapAndDigestsAllOfIt() {
        let outcome = StepProcess.run(shell("head -c 100000 /dev/zero", cap: 1000))
        #expect(outcome.output.count == 1000)
        #expect(outcome.outputByteCount == 100_000)
        #expect(outcome.outputDigest == ContentDigest.sha256([UInt8](repeating: 0, count: 100_000)))
    }

    @Test func aMissingProgramDoesNotStart() {
        let outcome = StepProcess.run(ProcessSpec(arguments: ["wpk-no-such-program"], environment: environment, timeoutSeconds: 5))
        guard case .notStarted(let message) = outcome.ending else {
            Issue.record("started: \(outcome.ending)")
            return
        }
        #expect(message.contains("not found on PATH"))
        #expect(!outcome.succeeded)
    }

    @Test func theTimeoutSendsSIGTERMToTheWholeGroup() throws {
        let dir = TemporaryDirectory()
        let pids = dir.file("pids")
        // The child in the background must die with the leader: it is in the same group.
        let outcome = StepProcess.run(shell("sleep 60 & echo $! > \(pids); echo $$ >> \(pids); wait", timeout: 0.5))
        #expect(outcome.stop == .timedOut)
        #expect(outcome.ending == .signaled(SIGTERM))
        for pid in try recordedPids(pids) { #expect(!ProcessTable.isAlive(pid), "pid \(pid) survived") }
    }

    @Test func aStepThatIgnoresSIGTERMGetsSIGKILLAfterTheGracePeriod() {
        let outcome = StepProcess.run(shell("trap '' TERM; echo ready; while :; do sleep 0.05; done", timeout: 0.3, grace: 0.3))
        #expect(outcome.stop == .timedOut)
        #expect(outcome.ending == .signaled(SIGKILL))
        #expect(ProcessTable.liveMembers(ofGroup: outcome.pid!).isEmpty)
    }

    @Test func processesLeftInTheGroupAfterTheLeaderExitsAreStopped() throws {
        let dir = TemporaryDirectory()
        let pids = dir.file("pids")
        let outcome = StepProcess.run(shell("sleep 60 > /dev/null 2>&1 & echo $! > \(pids); exit 0"))
        #expect(outcome.ending == .exited(code: 0))
        #expect(outcome.leftoverProcessesStopped)
        for pid in try recordedPids(pids) { #expect(!ProcessTable.isAlive(pid), "pid \(pid) survived") }
    }

    @Test func anInterruptStopsTheStepAndEverythingItStarted() throws {
        let dir = TemporaryDirectory()
        let pids = dir.file("pids")
        let interrupt = RunInterrupt()
        let monitor = RunMonitor(ledger: Ledger(path: dir.file("ledger.jsonl")), run: "r1", interrupt: interrupt)
        let outcome = StepProcess.run(shell("sleep 60 & echo $! > \(pids); echo started; wait"), stopWatch: monitor) { chunk in
            if String(decoding: chunk, as: UTF8.self).contains("started") { interrupt.trigger("SIGINT") }
        }
        #expect(outcome.stop == .interrupted("SIGINT"))
        #expect(outcome.ending == .signaled(SIGTERM))
        for pid in try recordedPids(pids) { #expect(!ProcessTable.isAlive(pid), "pid \(pid) survived") }
    }

    @Test func aCancelledRecordWrittenByAnotherProcessStopsTheStep() throws {
        let dir = TemporaryDirectory()
        let ledger = Ledger(path: dir.file("ledger.jsonl"))
        try ledger.append(RecordDraft(type: .runStarted, run: "r1"), operator: LedgerFixtures.alice, now: Date())
        let monitor = RunMonitor(ledger: ledger, run: "r1", interrupt: nil)
        let helper = LedgerFixtures.helperPath
        // The helper appends records to the ledger from a separate process once the step has started.
        let outcome = StepProcess.run(shell("echo started; sleep 60"), stopWatch: monitor) { chunk in
            guard String(decoding: chunk, as: UTF8.self).contains("started") else { return }
            let cancel = Process()
            cancel.executableURL = URL(fileURLWithPath: helper)
            cancel.arguments = ["cancel", ledger.path, "r1", "wrong alert"]
            cancel.standardOutput = FileHandle.nullDevice
            try? cancel.run()
            cancel.waitUntilExit()
        }
        guard case .cancelled(let text) = outcome.stop else {
            Issue.record("not cancelled: \(String(describing: outcome.stop))")
            return
        }
        #expect(text.contains("wrong alert"))
        #expect(ProcessTable.liveMembers(ofGroup: outcome.pid!).isEmpty)
    }

    private func recordedPids(_ path: String) throws -> [pid_t] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
    }
}
