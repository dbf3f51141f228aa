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
            let result = try runWPK(["run", "--set", "state_dir=\(own)", RunSandbox.fixture("shell-steps")],
                                    environment: ["WPK_POLICY": named, "WPK_LEDGER": own + "/ledger.jsonl"],
                                    launch: WPKLaunch(policy: sandbox.policy, as: attacker))
            #expect(result.status == 1, "\(result.standardOutput)\(result.standardError)")
            #expect(result.standardOutput.contains("auto mode is not allowed by /etc/wpk/policy.yaml (manual mode)"), "\(result.standardOutput)")
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
        #expect((run.standardOutput + run.standardError).contains("the machine policy /etc/wpk/policy.yaml cannot be trusted"), "\(run.standardOutput)\(run.standardError)")
        #expect((run.standardOutput + run.standardError).contains(message), "\(run.standardOutput)\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.state + "/prepared"))
        let fingerprint = try #require(try planJSON(RunSandbox.fixture("shell-gated"), set: ["state_dir=\(sandbox.state)"], in: sandbox)["fingerprint"]?.stringValue)
        let approve = try sandbox.wpkAsApprover(["approve", RunSandbox.fixture("shell-gated"), "--set", "state_dir=\(sandbox.state)",
                                                 "--step", "change", "--plan", fingerprint])
        #expect(approve.status == 1)
        #expect(approve.standardError.contains("cannot be trusted") && approve.standardError.contains(message), "\(approve.standardError)")
    }
}
