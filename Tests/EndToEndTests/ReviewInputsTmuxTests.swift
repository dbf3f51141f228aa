import Foundation
import Testing
import WPKCore

/// Inputs typed in `wpk review` and signing from it, in a real terminal: the inputs form checks
/// each value as it is typed and plans with them, a pre-approval binds to that plan; and a
/// passphrase-protected key is asked for with curses suspended, without echo, and the review
/// comes back.
@Suite("wpk review: the inputs form and signing in a real terminal", .serialized, .enabled(if: canActAsRoot, needsRootComment))
struct ReviewInputsTmuxTests {
    static let playbook = RunsReviewTmuxTests.playbook
    static let values = ["--set", "deployment=checkout", "--set", "app_label=checkout"]

    /// The plan `wpk plan --set` makes with the values: its digest and fingerprint.
    static func plannedWithValues(_ sandbox: RunSandbox) throws -> (digest: String, fingerprint: String) {
        let json = try JSONValue.parse(
            Array(
                try sandbox.wpk(["plan", "--format", "json", playbook] + values, environment: TmuxSession.bindingEnvironment).standardOutput
                    .utf8))
        return (try #require(json["plan_digest"]?.stringValue), try #require(json["fingerprint"]?.stringValue))
    }

    /// Moves the Plan pane's cursor (on the first step) to `restart`, the fifth step; keys are
    /// taken in order, so the moves need no waiting in between.
    static func selectRestart(_ session: TmuxSession) throws {
        try session.waitFor("the first step selected") { $0.contains("▶ 1      pod-status") }
        for _ in 0..<4 { try session.press("Down") }
        try session.waitFor("the restart step selected") { $0.contains("▶ 5      restart ") }
    }

    @Test func valuesTypedInTheFormAreCheckedThenPlannedAndTheApprovalBindsToThem() throws {
        let sandbox = try RunSandbox()
        let expected = try Self.plannedWithValues(sandbox)
        let session = try TmuxSession(width: 120, height: 40)
        let approver = WPKLaunch(policy: sandbox.policy, user: (uid_t(RunSandbox.approverUID), 0, []))
        try session.type(
            "env LANG=C.UTF-8 KUBECONFIG=\(TmuxSession.bindingEnvironment["KUBECONFIG"]!) WPK_LEDGER=\(sandbox.ledger) \(try approver.shellCommand(["review", Self.playbook])); echo \"EXIT=$?\"",
            enter: true)
        try session.waitFor("the list") { $0.contains("playbooks: 1 of 1") && $0.contains("restart-unhealthy") }
        try session.type("i")
        try session.waitFor("the form over both inputs") {
            $0.contains("Inputs for restart-unhealthy") && $0.contains("deployment  string  required") && $0.contains("app_label")
        }
        try session.type("Checkout")
        try session.waitFor("the pattern refusal as typed") {
            $0.contains("> Checkout") && $0.contains("refused: the value \"Checkout\" of input \"deployment\" does not match its pattern")
        }
        try session.press("Enter")
        try session.waitFor("Enter refused while a value does not fit") { $0.contains("fix the values marked as refused first") }
        for _ in 0..<8 { try session.press("BSpace") }
        try session.type("checkout")
        try session.press("Tab")
        try session.type("checkout")
        try session.waitFor("every value fits") { $0.contains("Every value fits") }
        try session.press("Enter")
        try session.waitFor("the plan made with the values") {
            $0.contains("[Plan (") && $0.contains("planned with deployment=checkout app_label=checkout")
        }
        try Self.selectRestart(session)
        #expect(try session.capture().contains("plan \(expected.fingerprint)"))
        try session.type("a")
        try session.waitFor("the approval dialog") {
            $0.contains("APPROVE this step?") && $0.contains("rollout restart deployment/checkout")
        }
        try session.type(String(expected.fingerprint.prefix(4)))
        try session.waitFor("the approval recorded") { $0.contains("approved: step restart") }

        // The decision names the digest of the plan made with exactly those values, and that
        // plan, with the values, is stored under it.
        let approval = try #require(try sandbox.records().last { $0.draft.type == .approved })
        #expect(
            approval.draft.planDigest == expected.digest && approval.draft.step == "restart"
                && approval.operatorUID == RunSandbox.approverUID)
        let stored = try Ledger(path: sandbox.ledger).artifacts.plan(digest: expected.digest).get()
        #expect(stored.inputs.map { "\($0.name)=\($0.value)" } == ["deployment=checkout", "app_label=checkout"])
        #expect(try sandbox.wpk(["approvals", "verify"]).status == 0)

        // The list says which values the pending gate was planned with.
        try session.press("Escape")
        try session.waitFor("the list with the planned values") {
            $0.contains("pending gate planned with deployment=checkout app_label=checkout")
        }
        try session.type("q")
        let end = try session.waitFor("the review to end") { $0.contains("EXIT=0") }
        #expect(end.contains("approved step restart of restart-unhealthy"))
    }

    /// Issue 13: signing a decision in the review with a passphrase-protected key (ssh-keygen -Y
    /// sign) hands the terminal to ssh-keygen: curses is suspended, the passphrase is not echoed,
    /// and the review's screen is drawn again afterwards.
    @Test func aKeyPassphraseIsAskedWithCursesSuspendedAndTheScreenComesBack() throws {
        guard FileManager.default.isExecutableFile(atPath: SignedDecisionEndToEndTests.keygen) else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "ssh-keygen must be present in CI")
            print("ssh-keygen not found: the passphrase test is skipped (apt-get install openssh-client)")
            return
        }
        let sandbox = try RunSandbox()
        let expected = try Self.plannedWithValues(sandbox)
        let keys = sandbox.root.appendingPathComponent("keys")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: false)
        chmod(keys.path, 0o700)
        let key = keys.appendingPathComponent("id_ed25519").path
        let made = try runProcess(
            SignedDecisionEndToEndTests.keygen, ["-q", "-t", "ed25519", "-N", "correct horse", "-C", "alice@example.com", "-f", key])
        try #require(made.status == 0, "\(made.output)")
        let command = try WPKLaunch(policy: sandbox.policy).shellCommand(["review", "--key", key] + Self.values + [Self.playbook])
        let session = try TmuxSession(width: 120, height: 40)
        try session.type(
            "env LANG=C.UTF-8 SSH_AUTH_SOCK= KUBECONFIG=\(TmuxSession.bindingEnvironment["KUBECONFIG"]!) WPK_LEDGER=\(sandbox.ledger) \(command); echo \"EXIT=$?\"",
            enter: true)
        try session.waitFor("the list") { $0.contains("playbooks: 1 of 1") }
        try session.press("Enter")
        try session.waitFor("the playbook") { $0.contains("[Overview]") }
        try session.press("Tab", "Tab", "Tab")
        try session.waitFor("the plan pane") { $0.contains("[Plan (") }
        try Self.selectRestart(session)
        try session.type("a")
        try session.waitFor("the approval dialog") { $0.contains("APPROVE this step?") }
        try session.type(String(expected.fingerprint.prefix(4)))
        // Curses is suspended: the shell's screen with ssh-keygen's prompt, no review on it.
        let prompt = try session.waitFor("ssh-keygen's passphrase prompt on the plain terminal") {
            $0.contains("passphrase") && !$0.contains(" REVIEW ") && !$0.contains("APPROVE this step?")
        }
        #expect(prompt.contains("Enter passphrase"), "\(prompt)")
        try session.type("correct horse")
        // Typed but not yet sent: a terminal that echoed would show it now.
        let typed = try session.capture()
        #expect(!typed.contains("correct horse"), "the passphrase was echoed: \(typed)")
        try session.press("Enter")
        let restored = try session.waitFor("the review drawn again with the decision") {
            $0.contains(" REVIEW ") && $0.contains("approved: step restart")
        }
        #expect(!restored.contains("correct horse") && !restored.contains("Enter passphrase"), "\(restored)")
        #expect(restored.contains("[Plan ("), "the review came back where it was: \(restored)")

        let record = try #require(try sandbox.records().last)
        #expect(record.draft.type == .approved && record.draft.planDigest == expected.digest)
        let publicText = try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let signers = try AllowedSigners(text: "\(record.principal ?? "?") \(publicText)\n", source: "test")
        #expect((try? SignerPolicy.verify(record, signers: signers).get()) == record.principal)
        try session.type("q")
        try session.waitFor("the review to end") { $0.contains("EXIT=0") }
    }
}
