import Foundation
import Testing
import WPKCore

/// `wpk run` and `wpk cancel` as processes, on real playbooks, real shells and stand-in
/// `kubectl`/`docker` programs, with a second process acting on the ledger.
@Suite(.serialized, .enabled(if: canActAsRoot, needsRootComment)) struct RunCommandTests {
    /// Hex digits of a run id.
    static func isRunID(_ text: String) -> Bool { text.count == 16 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase } }

    /// Runs a fixture to its end; shell fixtures get the sandbox's state directory as `state_dir`.
    func run(_ fixture: String, _ sandbox: RunSandbox, set: [String]? = nil) throws -> ProcessResult {
        let inputs = set ?? ["state_dir=\(sandbox.state)"]
        return try sandbox.wpk(["run"] + inputs.flatMap { ["--set", $0] } + [RunSandbox.fixture(fixture)])
    }

    func finished(_ sandbox: RunSandbox, step: String, run: String) throws -> [LedgerRecord] {
        try sandbox.records().filter { $0.draft.run == run && $0.draft.type == .stepFinished && $0.draft.step == step }
    }

    @Test func shellStepsSucceedAndAFlakyIdempotentStepSucceedsOnItsRetry() throws {
        let sandbox = try RunSandbox()
        let result = try run("shell-steps", sandbox)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        let runID = String(result.standardOutput.prefix { $0 != "\n" })
        #expect(Self.isRunID(runID))
        #expect(
            try sandbox.types(of: runID) == [
                "run_started",
                "step_started", "step_finished",
                "step_started", "step_finished", "step_retried", "step_started", "step_finished",
                "step_started", "step_finished",
                "run_finished",
            ])
        let flaky = try finished(sandbox, step: "flaky", run: runID)
        #expect(flaky.map(\.draft.outcome) == ["failed", "succeeded"])
        #expect(flaky.map(\.draft.exitCode) == [1, 0])
        #expect(flaky.map(\.draft.attempt) == [1, 2])
        #expect(flaky.last?.draft.outputDigest == ContentDigest.sha256(Array("attempt 2\n".utf8)))
        #expect(flaky.allSatisfy { $0.draft.durationMilliseconds != nil })
        #expect(try String(contentsOfFile: sandbox.state + "/flaky", encoding: .utf8) == "2\n")
        #expect(try sandbox.records().last?.draft.outcome == "succeeded")
        #expect(result.standardOutput.contains("  | attempt 2"))
        // Typed by hand: started_by names the command line and this account.
        let started = try #require(try sandbox.records().first { $0.draft.run == runID && $0.draft.type == .runStarted })
        #expect(started.draft.startedBy?.kind == .cli)
        #expect(started.draft.startedBy?.trigger == "wpk run")
        #expect(started.draft.startedBy?.source.hasPrefix(started.operatorName) == true)
    }

    /// `--started-by` (what `wpk serve` passes) lands on `run_started`; a malformed one is a usage error.
    @Test func startedByIsRecordedAsGiven() throws {
        let sandbox = try RunSandbox()
        let origin = #"{"kind": "webhook", "trigger": "/hooks/restart", "source": "127.0.0.1:50000"}"#
        let result = try sandbox.wpk([
            "run", "--started-by", origin, "--set", "state_dir=\(sandbox.state)", RunSandbox.fixture("shell-steps"),
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let runID = String(result.standardOutput.prefix { $0 != "\n" })
        let started = try #require(try sandbox.records().first { $0.draft.run == runID && $0.draft.type == .runStarted })
        #expect(started.draft.startedBy == StartedBy(kind: .webhook, trigger: "/hooks/restart", source: "127.0.0.1:50000"))
        let bad = try sandbox.wpk(["run", "--started-by", #"{"kind": "pager"}"#, RunSandbox.fixture("shell-steps")])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("--started-by takes"))
    }

    @Test func aStepThatIsNotIdempotentIsNotRetriedAndATimeoutEndsTheRunWithNothingLeftRunning() throws {
        let sandbox = try RunSandbox()
        let result = try run("shell-failures", sandbox)
        #expect(result.status == 1)
        let runID = String(result.standardOutput.prefix { $0 != "\n" })
        // Declared 3 attempts, but not idempotent: one attempt; on_failure continue goes on.
        #expect(try String(contentsOfFile: sandbox.state + "/not-idempotent", encoding: .utf8) == "x\n")
        #expect(try finished(sandbox, step: "not-idempotent", run: runID).map(\.draft.outcome) == ["failed"])
        #expect(try finished(sandbox, step: "slow", run: runID).map(\.draft.outcome) == ["timed_out"])
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/never"))
        let slowPID = try #require(
            Int32(String(contentsOfFile: sandbox.state + "/slow.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!ProcessTable.isAlive(slowPID))
        #expect(try sandbox.records().last?.draft.outcome == "failed")
        #expect(!(try sandbox.types(of: runID).contains("step_retried")))
    }

    @Test func aFailedCheckRollsBackTheCompletedChangesInThePlansOrder() throws {
        let sandbox = try RunSandbox()
        let result = try run("shell-rollback", sandbox)
        #expect(result.status == 1)
        let plan = try planJSON(RunSandbox.fixture("shell-rollback"), set: ["state_dir=\(sandbox.state)"], in: sandbox)
        let planned = (plan["rollback"]?.arrayValue ?? []).compactMap { $0["handler"]?.stringValue }
        #expect(planned == ["undo-apply", "undo-prepare"])
        let journal = try String(contentsOfFile: sandbox.state + "/journal", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(journal == ["prepare", "apply", "check"] + planned)
        let runID = String(result.standardOutput.prefix { $0 != "\n" })
        #expect(try sandbox.types(of: runID).contains("rollback"))
        #expect(result.standardOutput.contains("rolled back: undo-apply, undo-prepare"))
    }

    @Test func kubernetesStepsRunExactlyThePlansArgumentVectors() throws {
        let sandbox = try RunSandbox()
        try sandbox.installStandIn("kubectl", output: "ok\n")
        let result = try run("k8s", sandbox, set: ["deployment=checkout"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        let plan = try planJSON(RunSandbox.fixture("k8s"), set: ["deployment=checkout"], in: sandbox)
        let planned = (plan["steps"]?.arrayValue ?? []).flatMap { step in
            (step["commands"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
        }
        #expect(planned.count == 3)
        #expect(planned.allSatisfy { $0.first == "kubectl" })
        #expect(try sandbox.recordedArgv() == planned)
    }

    @Test func dockerStepsRunExactlyThePlansArgumentVectors() throws {
        let sandbox = try RunSandbox()
        try sandbox.installStandIn("docker", output: "{}\n")
        let result = try run("docker", sandbox, set: ["container=web-1"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        let plan = try planJSON(RunSandbox.fixture("docker"), set: ["container=web-1"], in: sandbox)
        let planned = (plan["steps"]?.arrayValue ?? []).flatMap { step in
            (step["commands"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
        }
        #expect(planned.count == 3)
        #expect(try sandbox.recordedArgv() == planned)
    }

    @Test func aFailingStandInFailsTheStepWithItsExitCode() throws {
        let sandbox = try RunSandbox()
        try sandbox.installStandIn("docker", output: "Error: No such container\n", status: 7)
        let result = try run("docker", sandbox, set: ["container=web-1"])
        #expect(result.status == 1)
        let runID = String(result.standardOutput.prefix { $0 != "\n" })
        #expect(try finished(sandbox, step: "state", run: runID).map(\.draft.exitCode) == [7])
        #expect(try sandbox.recordedArgv().count == 1)
    }

    // MARK: Gates

    /// Starts the gated fixture (copied, so a test may edit it) and waits until it records `waiting`.
    func startGatedRun(_ sandbox: RunSandbox, playbook: String? = nil) throws -> (BackgroundWPK, String) {
        let path = playbook ?? RunSandbox.fixture("shell-gated")
        let wpk = try sandbox.background(["run", "--set", "state_dir=\(sandbox.state)", path])
        let runID = try wpk.runID()
        try waitUntil("run \(runID) waits") { try sandbox.types(of: runID).contains("waiting") }
        return (wpk, runID)
    }

    func fingerprint(_ sandbox: RunSandbox, run: String) throws -> String {
        let started = try #require(try sandbox.records().first { $0.draft.run == run && $0.draft.type == .runStarted })
        return Plan.fingerprint(of: try #require(started.draft.planDigest))
    }

    @Test func aWaitingRunIsApprovedByAnotherProcessAndContinues() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID) = try startGatedRun(sandbox)
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/changed"))
        let listed = try sandbox.wpk(["approvals", "list"])
        #expect(listed.standardOutput.contains("run \(runID) waiting at change"))
        let json = try JSONValue.parse(Array(try sandbox.wpk(["approvals", "list", "--format", "json"]).standardOutput.utf8))
        let listedRun = try #require(json["runs"]?.arrayValue?.first)
        #expect(listedRun["run"]?.stringValue == runID)
        #expect(listedRun["status"]?.stringValue == "waiting")
        #expect(listedRun["step"]?.stringValue == "change")
        #expect(listedRun["waited_seconds"]?.intValue != nil)
        let approval = try sandbox.wpkAsApprover([
            "approve", "--run", runID, "--step", "change", "--plan", try fingerprint(sandbox, run: runID),
        ])
        #expect(approval.status == 0, "\(approval.standardError)")
        #expect(try wpk.finish() == 0, "\(wpk.output)")
        #expect(FileManager.default.fileExists(atPath: sandbox.state + "/changed"))
        #expect(
            try sandbox.types(of: runID) == [
                "run_started", "waiting", "approved", "consumed", "step_started", "step_finished", "run_finished",
            ])
        #expect(wpk.output.contains("approved change by \(RunSandbox.approverUID)"))
    }

    @Test func aWaitingRunSleepsInsteadOfPolling() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID) = try startGatedRun(sandbox)
        // CPU time (utime + stime, in clock ticks) the waiting process uses over an observation
        // window: a busy loop burns about one tick per wall-clock tick; sleeping, almost none.
        func cpuTicks() throws -> Int {
            let stat = try String(contentsOfFile: "/proc/\(wpk.process.processIdentifier)/stat", encoding: .utf8)
            let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        }
        let before = try cpuTicks()
        usleep(1_500_000)
        let used = try cpuTicks() - before
        #expect(used < 30, "a waiting run used \(used) ticks of CPU in 1.5 s")
        _ = try sandbox.wpk(["cancel", runID, "--reason", "done watching"])
        #expect(try wpk.finish() == 1)
    }

    @Test func theReviewListShowsAWaitingRunFirstWithHowLongItWaited() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID) = try startGatedRun(sandbox)
        let session = try TmuxSession(width: 120, height: 30)
        let directory = packageRoot.appendingPathComponent("Tests/Fixtures/run").path
        try session.type(
            "env LANG=C.UTF-8 WPK_LEDGER=\(sandbox.ledger) \(try sandbox.launch.shellCommand(["review"])) \(directory); echo \"EXIT=$?\"",
            enter: true)
        // A run waits: the Runs view comes first, the run on its first row; w shows the playbooks.
        try session.waitFor("the Runs view with the waiting run first") { screen in
            let lines = screen.split(separator: "\n").map(String.init)
            guard let header = lines.firstIndex(where: { $0.contains("RUN") && $0.contains("APPR") }), header + 1 < lines.count else {
                return false
            }
            return lines[header + 1].contains(runID) && lines[header + 1].contains("waiting")
        }
        try session.type("w")
        let screen = try session.waitFor("the list with the waiting run") { screen in
            // The first playbook row (after the column titles) is the one with a run waiting.
            let lines = screen.split(separator: "\n").map(String.init)
            guard let header = lines.firstIndex(where: { $0.contains("NAME") && $0.contains("GATES") }), header + 1 < lines.count else {
                return false
            }
            let first = lines[header + 1]
            return first.contains("run-shell-gated") && first.contains("waiting ") && !screen.contains("reading...")
        }
        #expect(screen.split(separator: "\n").filter { $0.contains("waiting") }.count == 1, "\(screen)")
        try session.press("q")
        _ = try session.waitFor("the review to end") { $0.contains("EXIT=0") }
        _ = try sandbox.wpk(["cancel", runID, "--reason", "seen in the review"])
        #expect(try wpk.finish() == 1)
    }

    @Test func aRunWhosePlaybookIsEditedWhileItWaitsRefusesToContinue() throws {
        let sandbox = try RunSandbox()
        // Away from the ledger's directory, so only the approval (not the edit itself) wakes the run.
        let elsewhere = sandbox.root.appendingPathComponent("playbooks")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let copy = elsewhere.appendingPathComponent("gated.wpk.yaml").path
        let original = try String(contentsOfFile: RunSandbox.fixture("shell-gated"), encoding: .utf8)
        try Data(original.utf8).write(to: URL(fileURLWithPath: copy))
        let (wpk, runID) = try startGatedRun(sandbox, playbook: copy)
        let edited = original.replacingOccurrences(of: "echo changed", with: "echo changed differently")
        #expect(edited != original)
        try Data(edited.utf8).write(to: URL(fileURLWithPath: copy), options: .atomic)
        // An approval for the digests the run waits with may still arrive (or be refused when the
        // run has already noticed the edit); either way the run must not go on.
        _ = try sandbox.wpkAsApprover(["approve", "--run", runID, "--step", "change", "--plan", try fingerprint(sandbox, run: runID)])
        #expect(try wpk.finish() == 1)
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/changed"))
        let types = try sandbox.types(of: runID)
        #expect(!types.contains("consumed") && !types.contains("step_started"))
        #expect(try sandbox.records().last?.draft.outcome == "stale")
        #expect(wpk.output.contains("changed since the run started"))
    }

    @Test func anApprovalUsedByOneRunDoesNotCountForASecond() throws {
        let sandbox = try RunSandbox()
        let (first, firstID) = try startGatedRun(sandbox)
        // Approved for the plan of the file (not bound to a run).
        let approval = try sandbox.wpkAsApprover([
            "approve", RunSandbox.fixture("shell-gated"), "--set", "state_dir=\(sandbox.state)",
            "--step", "change", "--plan", try fingerprint(sandbox, run: firstID),
        ])
        #expect(approval.status == 0, "\(approval.standardError)")
        #expect(try first.finish() == 0)

        let (second, secondID) = try startGatedRun(sandbox)
        let state = LedgerState(records: try sandbox.records())
        let subject = try #require(state.waitingSubject(run: secondID, step: "change"))
        #expect(
            ApprovalPolicy.gateStatus(subject: subject, state: state, policy: .loaded(MachinePolicy(allowAutoMode: true)), now: Date())
                == .pending(have: 0, need: 1))
        #expect(try sandbox.types(of: secondID) == ["run_started", "waiting"])

        // Cancelled while it waits: the run ends, nothing of it is left running.
        let cancel = try sandbox.wpk(["cancel", secondID, "--reason", "replay test over"])
        #expect(cancel.status == 0, "\(cancel.standardError)")
        #expect(cancel.standardOutput.contains("it was waiting at change"))
        #expect(try second.finish() == 1)
        #expect(try sandbox.records().last { $0.draft.run == secondID }?.draft.outcome == "cancelled")
        #expect(!ProcessTable.isAlive(second.process.processIdentifier))
    }

    // MARK: Stopping a running step

    /// Starts the long fixture and waits until its script and its child are running.
    func startLongRun(_ sandbox: RunSandbox) throws -> (BackgroundWPK, String, [Int32]) {
        let wpk = try sandbox.background([
            "run", "--grace-period", "1", "--set", "state_dir=\(sandbox.state)", RunSandbox.fixture("shell-long"),
        ])
        let runID = try wpk.runID()
        var pids: [Int32] = []
        try waitUntil("the step and its child run") {
            pids = ((try? String(contentsOfFile: sandbox.state + "/pids", encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                Int32($0)
            }
            return pids.count == 2
        }
        #expect(pids.allSatisfy(ProcessTable.isAlive))
        return (wpk, runID, pids)
    }

    @Test func sigtermOnWpkRunStopsTheStepsProcessGroupAndRecordsTheInterruption() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID, pids) = try startLongRun(sandbox)
        kill(wpk.process.processIdentifier, SIGTERM)
        #expect(try wpk.finish() == 1)
        for pid in pids { #expect(!ProcessTable.isAlive(pid), "pid \(pid) survived") }
        #expect(try finished(sandbox, step: "long", run: runID).map(\.draft.outcome) == ["interrupted"])
        #expect(try sandbox.records().last?.draft.outcome == "interrupted")
    }

    @Test func wpkCancelStopsARunningStep() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID, pids) = try startLongRun(sandbox)
        let cancel = try sandbox.wpk(["cancel", runID, "--reason", "wrong alert"])
        #expect(cancel.status == 0, "\(cancel.standardError)")
        #expect(cancel.standardOutput.contains("it was running long"))
        #expect(cancel.standardOutput.contains("stopped: cancelled"))
        #expect(try wpk.finish() == 1)
        for pid in pids { #expect(!ProcessTable.isAlive(pid), "pid \(pid) survived") }
        #expect(try finished(sandbox, step: "long", run: runID).map(\.draft.outcome) == ["cancelled"])
        let cancelled = try #require(try sandbox.records().first { $0.draft.type == .cancelled })
        #expect(cancelled.draft.reason == "wrong alert")
    }

    @Test func afterACrashAStartedStepHasAnUnknownOutcomeAndIsNotRetried() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID, pids) = try startLongRun(sandbox)
        // SIGKILL cannot be caught: this is the crash. The step's own processes are cleaned up by the test.
        kill(wpk.process.processIdentifier, SIGKILL)
        _ = try wpk.finish()
        defer { for pid in pids { kill(pid, SIGKILL) } }
        #expect(try sandbox.types(of: runID) == ["run_started", "step_started"])
        let listed = try sandbox.wpk(["approvals", "list"])
        #expect(listed.standardOutput.contains("run \(runID) OUTCOME UNKNOWN for long"))
        // A new run of the same playbook warns, and nothing of the crashed run is retried.
        let again = try sandbox.background(["run", "--set", "state_dir=\(sandbox.state)", RunSandbox.fixture("shell-long")])
        let secondID = try again.runID()
        try waitUntil("the warning is printed") { again.errors.contains("outcome unknown for long") }
        _ = try sandbox.wpk(["cancel", secondID, "--reason", "test over"])
        #expect(try again.finish() == 1)
        #expect(try sandbox.types(of: runID) == ["run_started", "step_started"])
        let cancel = try sandbox.wpk(["cancel", runID, "--reason", "checked by hand"])
        #expect(cancel.status == 0)
        #expect(cancel.standardOutput.contains("its process is gone; outcome unknown for started steps: long"))
    }

    @Test func cancelRefusesAnUnknownOrEndedRunAndNeedsAReason() throws {
        let sandbox = try RunSandbox()
        #expect(try sandbox.wpk(["cancel", "0123456789abcdef", "--reason", "x"]).status == 1)
        #expect(try sandbox.wpk(["cancel", "0123456789abcdef"]).status == 2)
        let done = try run("shell-steps", sandbox)
        let runID = String(done.standardOutput.prefix { $0 != "\n" })
        let again = try sandbox.wpk(["cancel", runID, "--reason", "too late"])
        #expect(again.status == 1)
        #expect(again.standardError.contains("already ended (succeeded)"))
    }

    @Test func anAutoModePlaybookIsRefusedWhereTheMachineAllowsOnlyManualMode() throws {
        let sandbox = try RunSandbox(policy: "mode: manual\n")
        let result = try sandbox.wpk(["run", "--set", "state_dir=\(sandbox.state)", RunSandbox.fixture("shell-steps")])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("refused"))
        let runID = String(result.standardOutput.prefix { $0 != "\n" })
        #expect(try sandbox.types(of: runID) == ["run_started", "run_finished"])
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/prepared"))
    }

    @Test func anInvalidPlaybookDoesNotRunAndExits1() throws {
        let sandbox = try RunSandbox()
        // Without state_dir, a required input, the plan cannot be made.
        let result = try sandbox.wpk(["run", RunSandbox.fixture("shell-steps")])
        #expect(result.status == 1)
        #expect(!FileManager.default.fileExists(atPath: sandbox.ledger))
    }

    @Test func everyRunFixturePassesValidate() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Tests/Fixtures/run").path)
            .filter { $0.hasSuffix(".wpk.yaml") }.map { String($0.dropLast(".wpk.yaml".count)) }
        #expect(names.count > 10)
        let result = try runWPK(["validate"] + names.map(RunSandbox.fixture))
        #expect(result.status == 0, "\(result.standardOutput)")
    }
}
