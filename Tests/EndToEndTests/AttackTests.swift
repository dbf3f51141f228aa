import Foundation
import Testing
import WPKCore

/// The attacks of issue 13 against the built binary, played by throwaway OS accounts: each must
/// be refused with a message that says why, and nothing of the playbook may run.
@Suite("Attacks of issue 13", .serialized, .enabled(if: canActAsRoot, needsRootComment))
struct AttackTests {
    /// A directory the account owns (mode 700) inside a sandbox, for its ledger and step state.
    func home(for account: TestAccount, in sandbox: RunSandbox, _ name: String) throws -> String {
        let path = sandbox.root.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(chown(path, account.uid, account.gid) == 0 && chmod(path, 0o700) == 0)
        return path
    }

    // MARK: Attack 2: a policy any user can replace

    /// `WPK_POLICY` named a file the attacker chose (a root-owned one whose text they controlled,
    /// like `/proc/<pid>/comm`): the binary no longer has that variable, or any other way.
    @Test func aPolicyNamedByTheEnvironmentIsIgnored() throws {
        let sandbox = try RunSandbox(policy: "mode: manual\n")
        let attacker = try TestAccount()
        let own = try home(for: attacker, in: sandbox, "attacker")
        let permissive = sandbox.root.appendingPathComponent("permissive.yaml").path
        try Data("mode: auto\nmin_approvals: 1\n".utf8).write(to: URL(fileURLWithPath: permissive))
        chmod(permissive, 0o644)
        for named in [permissive, "/proc/self/comm", "/dev/stdin"] {
            let result = try runWPK(
                ["run", "--set", "state_dir=\(own)", RunSandbox.fixture("shell-steps")],
                environment: ["WPK_POLICY": named, "WPK_LEDGER": own + "/ledger.jsonl"],
                launch: WPKLaunch(policy: sandbox.policy, as: attacker))
            #expect(result.status == 1, "\(result.standardOutput)\(result.standardError)")
            #expect(
                result.standardOutput.contains("auto mode is not allowed by /etc/wpk/policy.yaml (manual mode)"), "\(result.standardOutput)"
            )
            #expect(!FileManager.default.fileExists(atPath: own + "/prepared"), "a step ran under a policy named by \(named)")
        }
    }

    /// A policy file root did not make safe refuses every run and approval, saying what to fix.
    @Test(arguments: [
        ("group-writable", "it is writable by group or others (mode 664); fix with: chmod go-w /etc/wpk/policy.yaml"),
        ("foreign", "owned by uid"),
        ("symlink", "it is a symbolic link"),
        ("fifo", "it is not a regular file"),
    ])
    func anUnsafePolicyFileRefusesRunsAndApprovals(_ kind: String, _ message: String) throws {
        let sandbox = try RunSandbox(policy: "mode: auto\n")
        let attacker = try TestAccount()
        let policyPath = sandbox.policy.directory.appendingPathComponent("policy.yaml").path
        switch kind {
        case "group-writable": chmod(policyPath, 0o664)
        case "foreign": chown(policyPath, attacker.uid, attacker.gid)
        case "symlink":
            let elsewhere = sandbox.root.appendingPathComponent("elsewhere.yaml").path
            try FileManager.default.moveItem(atPath: policyPath, toPath: elsewhere)
            symlink(elsewhere, policyPath)
        default:
            unlink(policyPath)
            mkfifo(policyPath, 0o644)
        }
        let run = try sandbox.wpk(["run", "--set", "state_dir=\(sandbox.state)", RunSandbox.fixture("shell-steps")])
        #expect(run.status == 1)
        #expect(
            (run.standardOutput + run.standardError).contains("the machine policy /etc/wpk/policy.yaml cannot be trusted"),
            "\(run.standardOutput)\(run.standardError)")
        #expect((run.standardOutput + run.standardError).contains(message), "\(run.standardOutput)\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/prepared"))
        let fingerprint = try #require(
            try planJSON(RunSandbox.fixture("shell-gated"), set: ["state_dir=\(sandbox.state)"], in: sandbox)["fingerprint"]?.stringValue)
        let approve = try sandbox.wpkAsApprover([
            "approve", RunSandbox.fixture("shell-gated"), "--set", "state_dir=\(sandbox.state)",
            "--step", "change", "--plan", fingerprint,
        ])
        #expect(approve.status == 1)
        #expect(approve.standardError.contains("cannot be trusted") && approve.standardError.contains(message), "\(approve.standardError)")
    }

    // MARK: Attack 3: a rejection undone by truncation

    /// A team ledger (made by `wpk approvals init`): one member approves, another rejects; the
    /// approver, who can write the ledger, cuts the rejection off. The append-only attribute stops
    /// the cut; on a file system without it the starter's wpk remembers the head it verified and
    /// refuses the shortened ledger as rolled back, and the change never runs.
    @Test func aRejectionCutFromTheTeamLedgerIsRefusedAsRolledBack() throws {
        let sandbox = try RunSandbox()
        let team = try TestGroup()
        let starter = try TestAccount(groups: [team.name])
        let approver = try TestAccount(groups: [team.name])
        let rejecter = try TestAccount(groups: [team.name])
        let ledger = sandbox.root.appendingPathComponent("wpk/ledger.jsonl").path
        try sandbox.policy.write("policy.yaml", "ledger: \(ledger)\n")
        let initialized = try runWPK(["approvals", "init", "--group", team.name], launch: sandbox.launch)
        #expect(initialized.status == 0, "\(initialized.standardOutput)\(initialized.standardError)")
        #expect(initialized.standardOutput.contains("mode 2770") && initialized.standardOutput.contains("mode 0660"))

        let work = try home(for: starter, in: sandbox, "starter")
        chmod(work, 0o755)
        func asAccount(_ account: TestAccount, _ arguments: [String]) throws -> ProcessResult {
            let own = sandbox.root.appendingPathComponent("state-\(account.name)").path
            if !FileManager.default.fileExists(atPath: own) {
                try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: false)
                chown(own, account.uid, account.gid)
            }
            return try runWPK(
                arguments, environment: ["XDG_STATE_HOME": own, "HOME": own],
                launch: WPKLaunch(policy: sandbox.policy, as: account, groups: [team.gid]))
        }
        let playbook = RunSandbox.fixture("shell-gated")
        let inputs = ["--set", "state_dir=\(work)"]
        let fingerprint = try #require(try planJSON(playbook, set: ["state_dir=\(work)"], in: sandbox)["fingerprint"]?.stringValue)
        let approved = try asAccount(approver, ["approve", playbook] + inputs + ["--step", "change", "--plan", fingerprint])
        #expect(approved.status == 0, "\(approved.standardError)")
        let rejected = try asAccount(
            rejecter, ["reject", playbook] + inputs + ["--step", "change", "--plan", fingerprint, "--reason", "not during the freeze"])
        #expect(rejected.status == 0, "\(rejected.standardError)")
        // --ledger cannot send the run elsewhere.
        let elsewhere = try asAccount(starter, ["run", "--ledger", work + "/mine.jsonl"] + inputs + [playbook])
        #expect(
            elsewhere.status == 1 && elsewhere.standardError.contains("names the team ledger \(ledger); --ledger cannot choose another"),
            "\(elsewhere.standardError)")
        let refused = try asAccount(starter, ["run"] + inputs + [playbook])
        #expect(
            refused.status == 1 && refused.standardOutput.contains("not during the freeze"),
            "\(refused.standardOutput)\(refused.standardError)")

        // The approver cuts everything after its approval (the first line).
        let lines = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map(String.init)
        let cut = try asAccount(approver, ["approvals", "verify"])  // the approver's own wpk reads it too
        #expect(cut.status == 0)
        let verifyText = try asAccount(starter, ["approvals", "verify"]).standardOutput
        let appendOnly = verifyText.contains("append-only attribute: set")
        let truncate = { () throws -> Int32 in
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            shell.arguments = [
                "--reuid=\(approver.uid)", "--regid=\(approver.gid)", "--groups=\(team.gid)", "/bin/sh", "-c",
                "head -n 1 \"$0\" > \"$0.new\" 2>/dev/null; cat \"$0.new\" > \"$0\"", ledger,
            ]
            try shell.run()
            shell.waitUntilExit()
            return shell.terminationStatus
        }
        if appendOnly {
            #expect(try truncate() != 0)
            #expect(
                try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").count == lines.count,
                "the append-only ledger was cut")
            // A file system without the attribute: root clears it, and the attacker tries again.
            let clear = Process()
            clear.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
            clear.arguments = ["-a", ledger]
            try clear.run()
            clear.waitUntilExit()
        } else {
            print("the append-only attribute is not available here: only the rolled-back check is exercised")
        }
        #expect(try truncate() == 0)
        #expect(try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").count == 1)
        let again = try asAccount(starter, ["run"] + inputs + [playbook])
        #expect(again.status == 1)
        #expect(again.standardError.contains("was rolled back: it ends at seq 1"), "\(again.standardOutput)\(again.standardError)")
        #expect(!FileManager.default.fileExists(atPath: work + "/changed"), "the change ran on the approval the rejection had overruled")
        let verify = try asAccount(starter, ["approvals", "verify"])
        #expect(verify.status == 1 && verify.standardError.contains("rolled back"), "\(verify.standardOutput)\(verify.standardError)")
    }

    // MARK: Attack 4: gates an author can switch off

    /// A manual playbook whose drain, delete and apply steps say `requires_approval: false`.
    static let ungatedPlaybook = """
        apiVersion: wpk/v1
        kind: WorkflowPackage
        metadata: {name: ungated, version: 1.0.0, author: attacker@example.com}
        spec:
          runtime:
            type: k8s
            k8s: {context: prod, namespace: web}
          safety: {mode: manual, approvals_required: 2}
          handlers:
            - {name: drain, action: drain, target: node/n1, requires_approval: false}
            - {name: delete, action: delete-pod, target: pod/web-0, requires_approval: false}
            - {name: apply, action: apply-manifest, target: deployment/web, params: {file: /dev/null}, requires_approval: false}
          validation: {permissions: [nodes:patch, pods/eviction:create, pods:delete, deployments:patch, deployments:create]}

        """

    /// Under a two-approval policy an account's playbook switched its gates off and all three
    /// steps ran. Now the floor (`gate: mutating`, the default) makes each opt-out an error for
    /// validate and run alike, and kubectl never starts; `gate: destructive` lets only the
    /// non-destructive apply opt out.
    @Test func gatesSwitchedOffByThePlaybookAreErrorsAndNothingRuns() throws {
        let sandbox = try RunSandbox(policy: "min_approvals: 2\n")
        let attacker = try TestAccount()
        let own = try home(for: attacker, in: sandbox, "attacker")
        let playbook = own + "/ungated.wpk.yaml"
        try Data(Self.ungatedPlaybook.utf8).write(to: URL(fileURLWithPath: playbook))
        chown(playbook, attacker.uid, attacker.gid)
        try sandbox.installStandIn("kubectl")
        let environment = sandbox.environment.merging([
            "WPK_LEDGER": own + "/ledger.jsonl", "WPK_ARGV_LOG": own + "/argv.log",
            "XDG_STATE_HOME": own, "HOME": own,
        ]) { $1 }
        let launch = WPKLaunch(policy: sandbox.policy, as: attacker)
        let validate = try runWPK(["validate", playbook], environment: environment, launch: launch)
        #expect(validate.status == 1)
        for (line, code) in [(10, "WPK328"), (11, "WPK328"), (12, "WPK330")] {
            #expect(
                validate.standardOutput.contains("ungated.wpk.yaml:\(line):") && validate.standardOutput.contains("error: ")
                    && validate.standardOutput.contains("[\(code)]"),
                "\(validate.standardOutput)")
        }
        #expect(
            validate.standardOutput.contains("the machine policy (gate: mutating) gates every step that changes state"),
            "\(validate.standardOutput)")
        // Schema-only validation is about the document, not the machine: no rule runs.
        let schemaOnly = try runWPK(["validate", "--schema-only", playbook], environment: environment, launch: launch)
        #expect(schemaOnly.status == 0, "\(schemaOnly.standardOutput)")

        let run = try runWPK(["run", playbook], environment: environment, launch: launch)
        #expect(run.status == 1)
        #expect(
            run.standardOutput.contains("[WPK330]") && run.standardOutput.contains("[WPK328]"), "\(run.standardOutput)\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: own + "/argv.log"), "kubectl ran")

        // gate: destructive: the apply may opt out, the drain and the delete may not.
        try sandbox.policy.write("policy.yaml", "min_approvals: 2\ngate: destructive\n")
        let loose = try runWPK(["validate", playbook], environment: environment, launch: launch)
        #expect(loose.status == 1)
        #expect(
            loose.standardOutput.components(separatedBy: "[WPK328]").count == 3 && !loose.standardOutput.contains("[WPK330]"),
            "\(loose.standardOutput)")
    }

    // MARK: Attack 6: approved content that changes afterwards

    /// A manual k8s playbook that applies a manifest after an approval; with `look`, a read
    /// before it (the stand-in kubectl stops there until the test lets it go).
    static func applyPlaybook(manifest: String, withLook: Bool) -> String {
        let look = withLook ? "    - {name: look, action: get, target: pods}\n" : ""
        let after = withLook ? ", depends_on: [look]" : ""
        return """
            apiVersion: wpk/v1
            kind: WorkflowPackage
            metadata: {name: apply-web, version: 1.0.0, author: ops@example.com}
            spec:
              runtime:
                type: k8s
                k8s: {context: test, namespace: shop}
              safety: {mode: manual, approvals_required: 1, approval_timeout: 5s, dry_run_first: false}
              handlers:
            \(look)    - {name: apply, action: apply-manifest, target: deployment/web, params: {file: \(manifest)}\(after)}
              validation: {permissions: [\(withLook ? "pods:list, " : "")deployments:patch, deployments:create]}

            """
    }

    /// A stand-in kubectl: records its argv and, for `get`, waits on a FIFO until the test lets it go.
    static let blockingKubectl = """
        #!/bin/sh
        { printf '%s\\0' "$(basename "$0")" "$@"; printf '\\036'; } >> "$WPK_ARGV_LOG"
        case " $* " in *" get "*) mkfifo "$WPK_PROBE_DIR/get.go"; : > "$WPK_PROBE_DIR/get.ready"; read ok < "$WPK_PROBE_DIR/get.go";; esac
        exit 0

        """

    /// Writes `text` to `path` by renaming a new file over it (a running script keeps its old inode).
    static func replace(_ path: String, with text: String, mode: mode_t = 0o644) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path + ".new"))
        chmod(path + ".new", mode)
        #expect(rename(path + ".new", path) == 0)
    }

    /// The files and environment of an attack-6 scene: a manifest, a kubeconfig, a stand-in kubectl first on PATH.
    struct ApplyScene {
        let sandbox: RunSandbox
        let manifest: String, kubeconfig: String, kubectl: String, probes: String
        var environment: [String: String]

        init(withLook: Bool) throws {
            sandbox = try RunSandbox(policy: "mode: manual\n")
            manifest = sandbox.root.appendingPathComponent("web.yaml").path
            kubeconfig = sandbox.root.appendingPathComponent("kubeconfig").path
            kubectl = sandbox.bin + "/kubectl"
            probes = sandbox.root.appendingPathComponent("probes").path
            try FileManager.default.createDirectory(atPath: probes, withIntermediateDirectories: false)
            try AttackTests.replace(manifest, with: "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n")
            try AttackTests.replace(kubeconfig, with: "apiVersion: v1\nkind: Config\ncurrent-context: test\n")
            try AttackTests.replace(kubectl, with: AttackTests.blockingKubectl, mode: 0o755)
            try Data(AttackTests.applyPlaybook(manifest: manifest, withLook: withLook).utf8).write(
                to: sandbox.root.appendingPathComponent("apply.wpk.yaml"))
            environment = sandbox.environment.merging(["KUBECONFIG": kubeconfig, "WPK_PROBE_DIR": probes, "WPK_KUBECTL": ""]) { $1 }
        }

        var playbook: String { sandbox.root.appendingPathComponent("apply.wpk.yaml").path }

        /// The plan's fingerprint, then an approval of `apply` by another account (uid 4242), both planned in `environment`.
        func approveApply() throws -> String {
            let plan = try runWPK(["plan", "--format", "json", playbook], environment: environment, launch: sandbox.launch)
            let fingerprint = try #require(
                try JSONValue.parse(Array(plan.standardOutput.utf8))["fingerprint"]?.stringValue,
                "\(plan.standardOutput)\(plan.standardError)")
            let approved = try runWPK(
                ["approve", playbook, "--step", "apply", "--plan", fingerprint], environment: environment,
                launch: WPKLaunch(policy: sandbox.policy, user: (uid_t(RunSandbox.approverUID), 0, [])))
            #expect(approved.status == 0, "\(approved.standardError)")
            return fingerprint
        }
    }

    /// Everything the apply depends on changed after the approval and before the run: the
    /// manifest's bytes, the kubectl binary, the kubeconfig, or the environment that finds them
    /// (WPK_KUBECTL, PATH, KUBECONFIG). The run's plan binds something else, so the approval does
    /// not count (the run says why) and the apply never runs.
    @Test(arguments: ["manifest", "kubectl binary", "kubeconfig file", "WPK_KUBECTL", "PATH", "KUBECONFIG"])
    func whatAnApprovalBindsCannotChangeBeforeTheRun(_ change: String) throws {
        var scene = try ApplyScene(withLook: false)
        let approved = try scene.approveApply()
        let elsewhere = scene.sandbox.root.appendingPathComponent("elsewhere").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
        switch change {
        case "manifest": try Self.replace(scene.manifest, with: "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 0}\n")
        case "kubectl binary": try Self.replace(scene.kubectl, with: Self.blockingKubectl + "# swapped\n", mode: 0o755)
        case "kubeconfig file": try Self.replace(scene.kubeconfig, with: "apiVersion: v1\nkind: Config\ncurrent-context: prod\n")
        case "WPK_KUBECTL":
            try Self.replace(elsewhere + "/kubectl", with: Self.blockingKubectl, mode: 0o755)
            scene.environment["WPK_KUBECTL"] = elsewhere + "/kubectl"
        case "PATH":
            try Self.replace(elsewhere + "/kubectl", with: Self.blockingKubectl, mode: 0o755)
            scene.environment["PATH"] = elsewhere + ":" + scene.environment["PATH"]!
        default:
            try Self.replace(elsewhere + "/kubeconfig", with: try String(contentsOfFile: scene.kubeconfig, encoding: .utf8))
            scene.environment["KUBECONFIG"] = elsewhere + "/kubeconfig"
        }
        let run = try runWPK(["run", scene.playbook], environment: scene.environment, launch: scene.sandbox.launch)
        #expect(run.status == 1)
        #expect(
            run.standardOutput.contains("does not count: it is for plan \(approved), not this run's plan"),
            "\(change): \(run.standardOutput)\(run.standardError)")
        #expect(run.standardOutput.contains("run") && run.standardOutput.contains("expired"), "\(run.standardOutput)")
        let ran = try scene.sandbox.recordedArgv()
        #expect(ran.isEmpty, "\(change): kubectl ran: \(ran)")
    }

    /// The same changes while the run is under way, after the approval counted: before the apply
    /// starts, the run binds again, stops as stale naming what changed, and the apply never runs.
    @Test(arguments: ["manifest", "kubectl binary", "kubeconfig file"])
    func whatAnApprovalBindsCannotChangeDuringTheRun(_ change: String) throws {
        let scene = try ApplyScene(withLook: true)
        _ = try scene.approveApply()
        let run = try BackgroundWPK(
            ["run", scene.playbook], environment: scene.environment, in: scene.sandbox.root, launch: scene.sandbox.launch)
        try waitUntil("the read step runs (\(run.output)\(run.errors))", timeout: 30) {
            FileManager.default.fileExists(atPath: scene.probes + "/get.ready")
        }
        let named: String
        switch change {
        case "manifest":
            try Self.replace(scene.manifest, with: "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 0}\n")
            named = "file \(scene.manifest) was"
        case "kubectl binary":
            try Self.replace(scene.kubectl, with: Self.blockingKubectl + "# swapped\n", mode: 0o755)
            named = "tool kubectl was \(scene.kubectl)"
        default:
            try Self.replace(scene.kubeconfig, with: "apiVersion: v1\nkind: Config\ncurrent-context: prod\n")
            named = "kubeconfig \(scene.kubeconfig) was"
        }
        let go = try #require(FileHandle(forWritingAtPath: scene.probes + "/get.go"))
        go.write(Data("go\n".utf8))
        try go.close()
        #expect(try run.finish(timeout: 30) == 1)
        #expect(
            run.output.contains("stale: stopped before step apply: a tool or file the plan binds changed since it was approved"),
            "\(run.output)")
        #expect(run.output.contains(named), "\(change): \(run.output)")
        let ran = try scene.sandbox.recordedArgv()
        #expect(ran.map { $0.dropFirst(3).first } == ["get"], "\(ran)")
    }

    // MARK: Attack 7: rollback steps that need approval ran without one

    /// The restart is approved by another account; the rollout check fails on purpose. Without
    /// `--include-rollback` the gated undo waits for its own approval (shown as waiting) and,
    /// with none before its deadline, never runs; with it, the approval covers the undo.
    @Test(arguments: [false, true]) func aGatedRollbackStepRunsOnlyOnAnApprovalThatIncludesIt(_ included: Bool) throws {
        let sandbox = try RunSandbox(policy: "mode: manual\n")
        try sandbox.installStandIn("kubectl")
        // `rollout status` fails: the rollout never gets ready.
        let kubectl = sandbox.bin + "/kubectl"
        try Data(
            (try String(contentsOfFile: kubectl, encoding: .utf8)).replacingOccurrences(
                of: "exit 0", with: "case \" $* \" in *\" status \"*) exit 1;; esac\nexit 0"
            ).utf8
        )
        .write(to: URL(fileURLWithPath: kubectl))
        let playbook = sandbox.root.appendingPathComponent("rollback.wpk.yaml").path
        try Data(
            (try String(contentsOfFile: RunSandbox.fixture("k8s-rollback"), encoding: .utf8))
                .replacingOccurrences(of: "approval_timeout: 30s", with: "approval_timeout: 4s").utf8
        ).write(to: URL(fileURLWithPath: playbook))
        let environment = sandbox.environment.merging(["KUBECONFIG": sandbox.root.appendingPathComponent("kubeconfig").path]) { $1 }
        let inputs = ["--set", "deployment=web"]
        let plan = try runWPK(["plan"] + inputs + [playbook], environment: environment, launch: sandbox.launch)
        #expect(
            plan.standardOutput.contains("rollback undo-restart waits for its own approval")
                && plan.standardOutput.contains("--include-rollback"), "\(plan.standardOutput)")
        let fingerprint = try #require(
            plan.standardOutput.split(separator: "\n").first { $0.hasPrefix("Fingerprint: ") }.map {
                String($0.dropFirst("Fingerprint: ".count))
            })
        let approver = WPKLaunch(policy: sandbox.policy, user: (uid_t(RunSandbox.approverUID), 0, []))
        let approved = try runWPK(
            ["approve", playbook] + inputs + ["--step", "restart", "--plan", fingerprint] + (included ? ["--include-rollback"] : []),
            environment: environment, launch: approver)
        #expect(approved.status == 0, "\(approved.standardError)")
        #expect(approved.standardOutput.contains("including rollback undo-restart") == included, "\(approved.standardOutput)")

        let run = try runWPK(["run"] + inputs + [playbook], environment: environment, launch: sandbox.launch)
        #expect(run.status == 1)
        let verbs = try sandbox.recordedArgv().map { $0.dropFirst(3).prefix(2).joined(separator: " ") }
        if included {
            #expect(verbs == ["rollout restart", "rollout status", "rollout undo"], "\(verbs)")
            #expect(
                run.standardOutput.contains("approved undo-restart by") && run.standardOutput.contains("rolled back: undo-restart"),
                "\(run.standardOutput)")
        } else {
            #expect(verbs == ["rollout restart", "rollout status"], "the undo ran without its own approval: \(verbs)")
            #expect(run.standardOutput.contains("waiting at undo-restart for 1 approval(s)"), "\(run.standardOutput)")
            #expect(run.standardOutput.contains("expired: no approval for step undo-restart before its deadline"), "\(run.standardOutput)")
        }
    }

    // MARK: Attack 8: a damaged ledger noticed only at the first gate

    /// The ledger is damaged before a run starts: nothing runs, not even the ungated first steps.
    @Test func aDamagedLedgerStopsTheRunBeforeItsFirstStep() throws {
        let sandbox = try RunSandbox()
        let starter = try TestAccount()
        let own = try home(for: starter, in: sandbox, "starter")
        let environment = ["WPK_LEDGER": own + "/ledger.jsonl", "XDG_STATE_HOME": own, "HOME": own]
        let launch = WPKLaunch(policy: sandbox.policy, as: starter)
        let first = try runWPK(
            ["run", "--set", "state_dir=\(own)", RunSandbox.fixture("shell-steps")], environment: environment, launch: launch)
        #expect(first.status == 0, "\(first.standardOutput)\(first.standardError)")
        #expect(first.standardError.contains("UNMANAGED: personal ledger \(own)/ledger.jsonl"))
        try FileManager.default.removeItem(atPath: own + "/prepared")
        // One byte inserted into the second record: it still parses, its hash no longer matches.
        var lines = try String(contentsOfFile: own + "/ledger.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = "{ " + lines[1].dropFirst()
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: own + "/ledger.jsonl"))
        let second = try runWPK(
            ["run", "--set", "state_dir=\(own)", RunSandbox.fixture("shell-steps")], environment: environment, launch: launch)
        #expect(second.status == 1)
        #expect(
            second.standardError.contains("is damaged") && second.standardError.contains("nothing was run"),
            "\(second.standardOutput)\(second.standardError)")
        #expect(!FileManager.default.fileExists(atPath: own + "/prepared"), "an ungated step ran on a damaged ledger")
    }
}
