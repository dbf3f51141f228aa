import Foundation
import Testing
import WPKCore

/// The paged operator's path, end to end: one account starts `restart-unhealthy`, which waits at
/// `restart`; another opens `wpk review` on the same ledger in a real terminal, finds the run
/// first, reads its inputs and the evidence its read-only steps collected, and approves it with
/// the fingerprint; the run finishes executing exactly the argv the screen showed.
@Suite("The Runs view in a real terminal, two accounts", .serialized, .enabled(if: canActAsRoot, needsRootComment))
struct RunsReviewTmuxTests {
    static let playbooks = packageRoot.appendingPathComponent("examples/playbooks").path
    static let playbook = playbooks + "/restart-unhealthy.wpk.yaml"

    /// Starts the run (as this process's account) and waits until it waits at `restart`.
    static func startWaitingRun(_ sandbox: RunSandbox) throws -> (BackgroundWPK, String) {
        try sandbox.installStandIn("kubectl", output: "NAME READY STATUS\ncheckout-7d9 0/1 CrashLoopBackOff\n")
        let wpk = try sandbox.background(["run", "--set", "deployment=checkout", "--set", "app_label=checkout", playbook])
        let runID = try wpk.runID()
        try waitUntil("run \(runID) waits at restart", timeout: 30) {
            try sandbox.records().contains { $0.draft.run == runID && $0.draft.type == .waiting && $0.draft.step == "restart" }
        }
        return (wpk, runID)
    }

    /// Drives the approver's review in `session` (already showing the Runs view) and checks the outcome.
    @discardableResult
    static func approveInReview(
        _ session: TmuxSession, sandbox: RunSandbox, wpk: BackgroundWPK, runID: String,
        approverUID: Int = RunSandbox.approverUID
    ) throws -> LedgerRecord {
        try session.waitFor("the Runs view with the waiting run first") { screen in
            let lines = screen.split(separator: "\n").map(String.init)
            guard let header = lines.firstIndex(where: { $0.contains("RUN") && $0.contains("APPR") }), header + 1 < lines.count else {
                return false
            }
            return lines[header + 1].contains(runID) && lines[header + 1].contains("restart") && lines[header + 1].contains("0/1")
        }
        try session.press("Enter")
        let shown = try session.waitFor("the run with its inputs and the collected pod status") {
            $0.contains("run \(runID)") && $0.contains("deployment=checkout") && $0.contains("| checkout-7d9 0/1 CrashLoopBackOff")
                && $0.contains("restart  [waiting]")
        }
        let fingerprint = Plan.fingerprint(of: try #require(try sandbox.records().first { $0.draft.run == runID }?.draft.planDigest))
        #expect(shown.contains("plan \(fingerprint)"))
        // The waiting step's commands, as the screen shows them (a wrapped command continues indented).
        try session.type("G")
        let bottom = try session.waitFor("the restart commands") { $0.contains("rollout restart deployment/checkout") }
        #expect(bottom.contains("$ kubectl --context=prod-eu-west-1 --namespace=checkout rollout restart deployment/checkout"))
        try session.type("a")
        try session.waitFor("the approval dialog") { $0.contains("APPROVE this run's step?") && $0.contains("deployment=checkout") }
        try session.type(String(fingerprint.prefix(4)))
        // No key is pressed after the approval: the screen follows the run to its end by itself.
        try session.waitFor("the run finished on screen", timeout: 30) { screen in
            screen.contains("run \(runID)  restart-unhealthy  succeeded") && screen.contains("restart  [done]")
                && !screen.contains("[waiting]")
        }
        let status = try? wpk.finish(timeout: 30)
        let state =
            (try? String(contentsOfFile: "/proc/\(wpk.process.processIdentifier)/status", encoding: .utf8))?.split(separator: "\n").prefix(
                3
            ).joined(separator: " ") ?? "gone"
        #expect(status == 0, "\(wpk.output)\(wpk.errors) process: \(state)")
        let json = try JSONValue.parse(Array(try sandbox.wpk(["approvals", "show", "--format", "json", runID]).standardOutput.utf8))
        let shownArgv = (json["steps"]?.arrayValue ?? []).flatMap {
            ($0["commands"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
        }
        #expect(try sandbox.recordedArgv() == shownArgv)
        #expect((json["steps"]?.arrayValue ?? []).compactMap { $0["state"]?.stringValue } == Array(repeating: "done", count: 6))
        let approval = try #require(try sandbox.records().first { $0.draft.run == runID && $0.draft.type == .approved })
        #expect(approval.operatorUID == approverUID)
        #expect(approval.draft.step == "restart")
        #expect(try sandbox.wpk(["approvals", "verify"]).status == 0)
        try session.type("q")
        let end = try session.waitFor("the review to end") { $0.contains("EXIT=0") }
        #expect(end.contains("approved step restart of restart-unhealthy (run \(runID))"))
        return approval
    }

    @Test func anotherAccountFindsTheWaitingRunReadsItsEvidenceAndApprovesIt() throws {
        let sandbox = try RunSandbox()
        let (wpk, runID) = try Self.startWaitingRun(sandbox)
        let session = try TmuxSession(width: 120, height: 40)
        let approver = WPKLaunch(policy: sandbox.policy, user: (uid_t(RunSandbox.approverUID), 0, []))
        try session.type(
            "env LANG=C.UTF-8 WPK_LEDGER=\(sandbox.ledger) \(try approver.shellCommand(["review", Self.playbooks])); echo \"EXIT=$?\"",
            enter: true)
        try Self.approveInReview(session, sandbox: sandbox, wpk: wpk, runID: runID)
    }

    /// The same through a real SSH hop: a throwaway sshd on loopback, key-only login for a
    /// throwaway account, `ssh -t` in the terminal. The approval records the SSH client address.
    @Test func anApproverComingInOverSSHApprovesTheRunFromTheRunsView() throws {
        if let missing = SSHServer.unavailable {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI must run the SSH test: \(missing)") }
            print("skipped: \(missing)")
            return
        }
        let sandbox = try RunSandbox()
        // The team directory belongs to a group the approver is in, as on a shared bastion.
        let team = try TestGroup()
        chown(sandbox.root.appendingPathComponent("team").path, 0, team.gid)
        let approver = try TestAccount(groups: [team.name], shell: "/bin/sh")
        let server = try SSHServer(for: approver)
        let (wpk, runID) = try Self.startWaitingRun(sandbox)
        let session = try TmuxSession(width: 120, height: 40)
        let remote =
            "env LANG=C.UTF-8 WPK_LEDGER=\(shellQuoted(sandbox.ledger)) \(shellQuoted(wpkBinary.path)) review \(shellQuoted(Self.playbooks))"
        try session.type("\(server.sshCommand(approver, remote: remote)); echo \"EXIT=$?\"", enter: true)
        let approval = try Self.approveInReview(session, sandbox: sandbox, wpk: wpk, runID: runID, approverUID: Int(approver.uid))
        #expect(approval.source == "127.0.0.1", "sshd log: \(server.log)")
        #expect(approval.tty?.hasPrefix("/dev/pts/") == true)
        #expect(approval.operatorName == approver.name)
    }
}
