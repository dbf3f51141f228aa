import Foundation
import Testing
import WPKCore

/// Signed decisions with the built binary, real ssh-keygen keys and real separate accounts.
@Suite("Signed decisions end to end", .serialized, .enabled(if: canActAsRoot, needsRootComment))
struct SignedDecisionEndToEndTests {
    static let keygen = "/usr/bin/ssh-keygen"

    /// A gated shell playbook needing `approvals` approvals, by `author`, in the sandbox (readable by every account).
    func playbook(in sandbox: RunSandbox, approvals: Int, author: String) throws -> String {
        let text = try String(contentsOfFile: RunSandbox.fixture("shell-gated"), encoding: .utf8)
            .replacingOccurrences(of: "approvals_required: 1", with: "approvals_required: \(approvals)")
            .replacingOccurrences(of: "author: fixture-author@example.com", with: "author: \(author)")
        let path = sandbox.root.appendingPathComponent("gated.wpk.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        return path
    }

    /// An ed25519 key made by ssh-keygen in a directory only `account` can read; returns the
    /// private key's path and the public key's text.
    func key(for account: TestAccount, in sandbox: RunSandbox) throws -> (path: String, publicText: String) {
        #expect(
            FileManager.default.isExecutableFile(atPath: Self.keygen) || ProcessInfo.processInfo.environment["CI"] == nil,
            "ssh-keygen must be present in CI")
        let dir = sandbox.root.appendingPathComponent("keys-\(account.name)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let path = dir + "/id_ed25519"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.keygen)
        process.arguments = ["-q", "-t", "ed25519", "-N", "", "-C", account.name, "-f", path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        for file in [dir, path, path + ".pub"] { chown(file, account.uid, account.gid) }
        chmod(dir, 0o700)
        let text = try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (path, text)
    }

    /// The `--plan` fingerprint a waiting run prints in its approve hint.
    func fingerprint(in output: String) -> String? {
        guard let range = output.range(of: "--plan ") else { return nil }
        return String(output[range.upperBound...].prefix { $0.isHexDigit })
    }

    /// wpk as `account` (group root, to write the sandbox's team ledger), without an SSH agent.
    func asAccount(_ account: TestAccount, _ arguments: [String], in sandbox: RunSandbox) throws -> ProcessResult {
        try runWPK(
            arguments, environment: sandbox.environment.merging(["SSH_AUTH_SOCK": "", "HOME": "/nonexistent"]) { $1 },
            launch: WPKLaunch(policy: sandbox.policy, as: account, groups: [0]))
    }

    /// Attack 1: an account with write access to the ledger appends approvals claiming other
    /// operators and recomputes the chain; under allowed_signers the run does not count them,
    /// says why, and the gated step never runs.
    @Test func forgedApprovalsDoNotOpenTheGate() throws {
        let sandbox = try RunSandbox(policy: "mode: auto\nmin_approvals: 2\nallowed_signers: /etc/wpk/allowed_signers\n")
        let alice = try TestAccount()
        let aliceKey = try key(for: alice, in: sandbox)
        try sandbox.policy.write("allowed_signers", "alice@example.com \(aliceKey.publicText)\n")
        let file = try playbook(in: sandbox, approvals: 2, author: "someone@example.com")
        let run = try BackgroundWPK(
            ["run", "--set", "state_dir=\(sandbox.state)", file],
            environment: sandbox.environment.merging(["SSH_AUTH_SOCK": "", "HOME": "/nonexistent"]) { $1 },
            in: sandbox.root, launch: sandbox.launch)
        let id = try run.runID()
        try waitUntil("the run waits at change") { run.output.contains("waiting at change") }
        // The forger: two approvals by other names, chain recomputed by the ledger code itself.
        let records = try sandbox.records()
        let waiting = try #require(records.last { $0.draft.type == .waiting && $0.draft.run == id })
        for (uid, name) in [(Int(alice.uid), alice.name), (4_000_000, "ghost")] {
            try Ledger(path: sandbox.ledger).append(
                RecordDraft(
                    type: .approved, run: id, playbook: waiting.draft.playbook, playbookDigest: waiting.draft.playbookDigest,
                    planDigest: waiting.draft.planDigest, step: "change", approvalsRequired: 2, expires: Date().addingTimeInterval(600)),
                operator: Operator(uid: uid, name: name), now: Date())
        }
        try waitUntil("the run says the forged approvals do not count") {
            run.output.components(separatedBy: "does not count: the record is not signed").count == 3
        }
        #expect(!run.output.contains("approved change"), "\(run.output)")
        #expect(try runWPK(["cancel", id, "--reason", "test over"], environment: sandbox.environment, launch: sandbox.launch).status == 0)
        #expect(try run.finish() == 1)
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/changed"), "the gated step ran on forged approvals")
        // The chain is intact (the forger recomputed it), but verify names the forged decisions.
        let verify = try sandbox.wpk(["approvals", "verify", "--ledger", sandbox.ledger])
        #expect(verify.status == 1)
        #expect(verify.standardError.contains("(approved by ghost) does not count: the record is not signed"), "\(verify.standardError)")
    }

    /// Issue 13, deliverable 9: a decision on the run's plan whose signature does not verify
    /// (signed over other bytes, or by a key allowed_signers no longer lists for its principal)
    /// stops the run before its first step, even though that step needs no approval.
    @Test(arguments: ["a signature over other bytes", "a key no longer listed"])
    func aDecisionWhoseSignatureDoesNotVerifyStopsTheRunBeforeItsFirstStep(_ how: String) throws {
        let sandbox = try RunSandbox(policy: "mode: auto\nallowed_signers: /etc/wpk/allowed_signers\n")
        let alice = try TestAccount()
        let bob = try TestAccount()
        let aliceKey = try key(for: alice, in: sandbox)
        let bobKey = try key(for: bob, in: sandbox)
        try sandbox.policy.write("allowed_signers", "alice@example.com \(aliceKey.publicText)\n")
        // shell-steps with its last step gated: `prepare`, the first, needs no approval.
        let text = try String(contentsOfFile: RunSandbox.fixture("shell-steps"), encoding: .utf8)
            .replacingOccurrences(of: "script: echo done\n", with: "script: echo done\n      requires_approval: true\n")
        let file = sandbox.root.appendingPathComponent("steps.wpk.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        chmod(file, 0o644)
        let inputs = ["--set", "state_dir=\(sandbox.state)"]
        let plan = try JSONValue.parse(Array(try sandbox.wpk(["plan", "--format", "json"] + inputs + [file]).standardOutput.utf8))
        let fingerprint = try #require(plan["fingerprint"]?.stringValue)
        if how == "a key no longer listed" {
            let approved = try asAccount(
                alice, ["approve", file] + inputs + ["--step", "finish", "--plan", fingerprint, "--key", aliceKey.path], in: sandbox)
            #expect(approved.status == 0, "\(approved.standardError)")
            // Root lists another key for alice@example.com: the recorded signature no longer verifies.
            try sandbox.policy.write("allowed_signers", "alice@example.com \(bobKey.publicText)\n")
        } else {
            // A ledger writer appends an approval whose SSHSIG is real but made over other bytes.
            struct OtherBytes: RecordSigner {
                let inner: SSHSigner
                var principal: String { inner.principal }
                var publicKey: SSHPublicKey { inner.publicKey }
                func sign(_ content: [UInt8]) throws(SigningError) -> String { try inner.sign(content + Array(" ".utf8)) }
            }
            let signer = OtherBytes(
                inner: SSHSigner(
                    principal: "alice@example.com", publicKey: try SSHPublicKey(openSSH: aliceKey.publicText),
                    keyPath: aliceKey.path, environment: ["SSH_AUTH_SOCK": ""]))
            let digest = try #require(plan["plan_digest"]?.stringValue)
            let playbookDigest = try #require(plan["playbook"]?["digest"]?.stringValue)
            _ = try Ledger(path: sandbox.ledger).appendSigned(operator: Operator(uid: Int(alice.uid), name: alice.name), signer: signer) {
                _, now in
                (
                    RecordDraft(
                        type: .approved, playbook: "run-shell-steps", playbookDigest: playbookDigest, planDigest: digest, step: "finish",
                        approvalsRequired: 1, expires: now.addingTimeInterval(600)), ()
                )
            }
        }
        let run = try sandbox.wpk(["run"] + inputs + [file], environment: ["SSH_AUTH_SOCK": "", "HOME": "/nonexistent"])
        #expect(run.status == 1)
        #expect(
            run.standardError.contains("carries a signature that does not verify") && run.standardError.contains("nothing was run"),
            "\(how): \(run.standardOutput)\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/prepared"), "\(how): the first step ran")
    }

    /// Two real approvers, each with their own key listed in allowed_signers, open a
    /// two-approval gate; their records carry their principals and verifying signatures.
    @Test func twoSignedApproversOpenTheGate() throws {
        let sandbox = try RunSandbox(policy: "mode: auto\nmin_approvals: 2\nallowed_signers: /etc/wpk/allowed_signers\n")
        let alice = try TestAccount()
        let bob = try TestAccount()
        let aliceKey = try key(for: alice, in: sandbox)
        let bobKey = try key(for: bob, in: sandbox)
        try sandbox.policy.write(
            "allowed_signers",
            "alice@example.com \(aliceKey.publicText)\nbob@example.com namespaces=\"wpk-decision\" \(bobKey.publicText)\n")
        let file = try playbook(in: sandbox, approvals: 2, author: "someone@example.com")
        let run = try BackgroundWPK(
            ["run", "--set", "state_dir=\(sandbox.state)", file],
            environment: sandbox.environment.merging(["SSH_AUTH_SOCK": "", "HOME": "/nonexistent"]) { $1 },
            in: sandbox.root, launch: sandbox.launch)
        let id = try run.runID()
        try waitUntil("the run waits at change") { run.output.contains("waiting at change") }
        let plan = try #require(fingerprint(in: run.output))
        // Without a key, an approval is refused before anything is written.
        let unsigned = try asAccount(alice, ["approve", "--run", id, "--step", "change", "--plan", plan], in: sandbox)
        #expect(unsigned.status == 1 && unsigned.standardError.contains("no signing key"), "\(unsigned.standardError)")
        let first = try asAccount(alice, ["approve", "--run", id, "--step", "change", "--plan", plan, "--key", aliceKey.path], in: sandbox)
        #expect(
            first.status == 0 && first.standardOutput.contains("signed by alice@example.com"),
            "\(first.standardOutput)\(first.standardError)")
        let second = try asAccount(bob, ["approve", "--run", id, "--step", "change", "--plan", plan, "--key", bobKey.path], in: sandbox)
        #expect(
            second.status == 0 && second.standardOutput.contains("signed by bob@example.com"),
            "\(second.standardOutput)\(second.standardError)")
        #expect(try run.finish() == 0, "\(run.output)\(run.errors)")
        #expect(FileManager.default.fileExists(atPath: sandbox.state + "/changed"))
        let approvals = try sandbox.records().filter { $0.draft.type == .approved && $0.draft.run == id }
        #expect(approvals.map(\.principal) == ["alice@example.com", "bob@example.com"])
        let signers = try AllowedSigners(
            text: "alice@example.com \(aliceKey.publicText)\nbob@example.com \(bobKey.publicText)\n", source: "t")
        for approval in approvals {
            #expect((try? SignerPolicy.verify(approval, signers: signers).get()) == approval.principal)
        }
    }

    /// Attack 2 (its last part): approver groups are the run's check too, not only `wpk approve`'s.
    /// A signed approval recorded while the policy named no approver groups does not open the gate
    /// for a run started after the policy restricted approvers to a group the approver is not in.
    @Test func theRunChecksApproverGroupsAgainWhateverTheApproverSaw() throws {
        let policyText = "mode: auto\nallowed_signers: /etc/wpk/allowed_signers\n"
        let sandbox = try RunSandbox(policy: policyText)
        let alice = try TestAccount()
        let approvers = try TestGroup()
        let aliceKey = try key(for: alice, in: sandbox)
        try sandbox.policy.write("allowed_signers", "alice@example.com \(aliceKey.publicText)\n")
        let file = try playbook(in: sandbox, approvals: 1, author: "someone@example.com")
        let fingerprint = try #require(try planJSON(file, set: ["state_dir=\(sandbox.state)"], in: sandbox)["fingerprint"]?.stringValue)
        let approved = try asAccount(
            alice,
            ["approve", file, "--set", "state_dir=\(sandbox.state)", "--step", "change", "--plan", fingerprint, "--key", aliceKey.path],
            in: sandbox)
        #expect(approved.status == 0, "\(approved.standardOutput)\(approved.standardError)")

        try sandbox.policy.write("policy.yaml", policyText + "approver_groups: [\(approvers.name)]\n")
        let run = try BackgroundWPK(
            ["run", "--set", "state_dir=\(sandbox.state)", file],
            environment: sandbox.environment.merging(["SSH_AUTH_SOCK": "", "HOME": "/nonexistent"]) { $1 },
            in: sandbox.root, launch: sandbox.launch)
        let id = try run.runID()
        try waitUntil("the run waits at change, alice's approval not counted") { run.output.contains("waiting at change") }
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/changed"))
        _ = try runWPK(["cancel", id, "--reason", "seen"], environment: sandbox.environment, launch: sandbox.launch)
        #expect(try run.finish() != 0, "\(run.output)\(run.errors)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/changed"))
    }

    /// Attack 9: the author `NAME@example.com` is the account `NAME` (unsigned, single-user
    /// signers) and the principal `NAME@example.com` (signed): neither may approve their own playbook.
    @Test func theAuthorCannotApproveUnderAnotherSpelling() throws {
        let account = try TestAccount()
        for signed in [false, true] {
            let policy = signed ? "mode: auto\nallowed_signers: /etc/wpk/allowed_signers\n" : "mode: auto\n"
            let sandbox = try RunSandbox(policy: policy)
            var keyArguments: [String] = []
            if signed {
                let ownKey = try key(for: account, in: sandbox)
                try sandbox.policy.write("allowed_signers", "\(account.name)@example.com \(ownKey.publicText)\n")
                keyArguments = ["--key", ownKey.path]
            }
            let file = try playbook(in: sandbox, approvals: 1, author: "\(account.name)@example.com")
            let fingerprint = try #require(try planJSON(file, set: ["state_dir=\(sandbox.state)"], in: sandbox)["fingerprint"]?.stringValue)
            let result = try asAccount(
                account,
                [
                    "approve", file, "--set", "state_dir=\(sandbox.state)", "--step", "change",
                    "--plan", fingerprint,
                ] + keyArguments, in: sandbox)
            #expect(result.status == 1, "signed: \(signed) \(result.standardOutput)")
            #expect(
                result.standardError.contains("is the author of this playbook (metadata.author \(account.name)@example.com)"),
                "signed: \(signed) \(result.standardError)")
            #expect(try sandbox.records().allSatisfy { $0.draft.type != .approved })
        }
    }
}

/// ssh-keygen asks for a key's passphrase on the operator's terminal while wpk signs.
@Suite("Signing on a real terminal (tmux)", .serialized)
struct SigningTerminalTests {
    @Test func aPassphraseIsAskedOnTheTerminalAndNotEchoed() throws {
        guard FileManager.default.isExecutableFile(atPath: SignedDecisionEndToEndTests.keygen) else {
            print("ssh-keygen not found: the passphrase test is skipped (apt-get install openssh-client)")
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "ssh-keygen must be present in CI")
            return
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(chmod(dir.path, 0o700) == 0)
        let key = dir.appendingPathComponent("key").path
        let made = try runProcess(SignedDecisionEndToEndTests.keygen, ["-q", "-t", "ed25519", "-N", "correct horse", "-f", key])
        try #require(made.status == 0, "\(made.output)")
        let playbook = packageRoot.appendingPathComponent("examples/playbooks/restart-unhealthy.wpk.yaml").path
        let inputs = ["--set", "deployment=checkout", "--set", "app_label=checkout"]
        // The plan binds kubectl and the kubeconfig as found: plan in the terminal's environment.
        let bound = ["PATH": "/usr/bin:/bin", "KUBECONFIG": dir.appendingPathComponent("kubeconfig").path]
        let plan = try runWPK(["plan", "--format", "json", playbook] + inputs, environment: bound)
        let fingerprint = try #require(try JSONValue.parse(Array(plan.standardOutput.utf8))["fingerprint"]?.stringValue)
        let ledger = dir.appendingPathComponent("ledger.jsonl").path
        let command = try WPKLaunch().shellCommand(
            ["approve", playbook] + inputs + ["--step", "restart", "--plan", fingerprint, "--key", key])

        let session = try TmuxSession(width: 160, height: 30)
        try session.type(
            "env WPK_LEDGER=\(shellQuoted(ledger)) KUBECONFIG=\(shellQuoted(bound["KUBECONFIG"]!)) \(command); echo EXIT=$?", enter: true)
        try session.waitFor("ssh-keygen's passphrase prompt") { $0.contains("passphrase") }
        try session.type("correct horse", enter: true)
        let screen = try session.waitFor("wpk approve to end") { $0.split(separator: "\n").contains { $0.hasPrefix("EXIT=") } }
        #expect(screen.split(separator: "\n").contains("EXIT=0") && screen.contains("signed by"), "\(screen)")
        #expect(!screen.contains("correct horse"), "the passphrase was echoed: \(screen)")
        let record = try #require(try Ledger(path: ledger).read().records.last)
        let publicText = try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let signers = try AllowedSigners(text: "\(record.principal ?? "?") \(publicText)\n", source: "test")
        #expect((try? SignerPolicy.verify(record, signers: signers).get()) == record.principal)
    }
}
