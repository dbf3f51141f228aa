import Foundation
import Testing
import WPKCore

/// What a run records of itself (its plan, its steps' output), and the commands that show it
/// to the approver: `wpk approvals show` and `wpk approve --run` without `--plan`.
@Suite(.serialized, .enabled(if: canActAsRoot, needsRootComment)) struct RunEvidenceCommandTests {
    static let playbook = packageRoot.appendingPathComponent("examples/playbooks/restart-unhealthy.wpk.yaml").path

    /// Starts `restart-unhealthy` for deployment `checkout` with a stand-in kubectl and waits until it waits at `restart`.
    func startWaitingRun(_ sandbox: RunSandbox) throws -> (BackgroundWPK, String) {
        try sandbox.installStandIn("kubectl", output: "NAME READY STATUS\ncheckout-7d9 0/1 CrashLoopBackOff\n")
        let wpk = try sandbox.background(["run", "--set", "deployment=checkout", "--set", "app_label=checkout", Self.playbook])
        let runID = try wpk.runID()
        try waitUntil("run \(runID) waits at restart", timeout: 30) {
            try sandbox.records().contains { $0.draft.run == runID && $0.draft.type == .waiting && $0.draft.step == "restart" }
        }
        return (wpk, runID)
    }

    @Test func approvalsShowPrintsInputsStepStatesArgvAndTheCollectedOutput() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID) = try startWaitingRun(sandbox)
        let text = try sandbox.wpk(["approvals", "show", runID])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("deployment=checkout"))
        #expect(text.standardOutput.contains("pod-status: done"))
        #expect(text.standardOutput.contains("restart: waiting"))
        #expect(text.standardOutput.contains("wait-healthy: not reached"))
        #expect(text.standardOutput.contains("| checkout-7d9 0/1 CrashLoopBackOff"))
        #expect(
            text.standardOutput.contains("$ kubectl --context=prod-eu-west-1 --namespace=checkout rollout restart deployment/checkout\n"))

        let json = try JSONValue.parse(Array(try sandbox.wpk(["approvals", "show", "--format", "json", runID]).standardOutput.utf8))
        #expect(json["inputs"]?["deployment"]?.stringValue == "checkout")
        #expect(json["waiting"]?["step"]?.stringValue == "restart")
        let steps = try #require(json["steps"]?.arrayValue)
        #expect(steps.compactMap { $0["state"]?.stringValue } == ["done", "done", "done", "done", "waiting", "not reached"])
        #expect(steps[0]["output_tail"]?.stringValue?.contains("CrashLoopBackOff") == true)

        // Nothing is recorded blind: without --plan the step and fingerprint are printed, exit 2.
        let before = try sandbox.records().count
        let preview = try sandbox.wpkAsApprover(["approve", "--run", runID, "--step", "restart"])
        #expect(preview.status == 2, "\(preview.standardError)\(preview.standardOutput)")
        let planDigest = try #require(json["plan_digest"]?.stringValue)
        #expect(preview.standardOutput.contains("fingerprint: \(Plan.fingerprint(of: planDigest))"))
        #expect(preview.standardOutput.contains("deployment=checkout"))
        #expect(
            preview.standardOutput.contains("$ kubectl --context=prod-eu-west-1 --namespace=checkout rollout restart deployment/checkout\n")
        )
        #expect(try sandbox.records().count == before)

        // Approved with the fingerprint: the run goes on and executes exactly the argv it showed.
        let approval = try sandbox.wpkAsApprover([
            "approve", "--run", runID, "--step", "restart", "--plan", Plan.fingerprint(of: planDigest),
        ])
        #expect(approval.status == 0, "\(approval.standardError)")
        #expect(try wpk.finish(timeout: 30) == 0, "\(wpk.output)\(wpk.errors)")
        let shown = try JSONValue.parse(Array(try sandbox.wpk(["approvals", "show", "--format", "json", runID]).standardOutput.utf8))
        let shownArgv = (shown["steps"]?.arrayValue ?? []).flatMap {
            ($0["commands"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
        }
        #expect(try sandbox.recordedArgv() == shownArgv)
        #expect((shown["steps"]?.arrayValue ?? []).allSatisfy { $0["state"]?.stringValue == "done" })
        #expect(try sandbox.wpk(["approvals", "verify"]).status == 0)
    }

    @Test func aChangedStoredPlanIsNotShown() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID) = try startWaitingRun(sandbox)
        let plans = sandbox.ledger + ".d/plans"
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: plans).first)
        let path = plans + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "deployment/checkout", with: "deployment/payments").utf8).write(
            to: URL(fileURLWithPath: path))
        let shown = try sandbox.wpk(["approvals", "show", runID])
        #expect(shown.status == 1)
        #expect(!shown.standardOutput.contains("payments"))
        #expect(shown.standardError.contains("does not match its digest"))
        _ = try sandbox.wpk(["cancel", runID, "--reason", "test over"])
        #expect(try wpk.finish() == 1)
    }
}
