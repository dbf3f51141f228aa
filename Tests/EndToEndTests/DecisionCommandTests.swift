import Foundation
import Testing

/// `wpk approve` and `wpk reject` as processes, on a real example and a private ledger.
@Suite("wpk approve and wpk reject")
struct DecisionCommandTests {
    let playbook = packageRoot.appendingPathComponent("examples/playbooks/restart-unhealthy.wpk.yaml").path
    let inputs = ["--set", "deployment=checkout", "--set", "app_label=checkout"]

    /// A ledger in a fresh private directory (wpk refuses world-writable ledger directories).
    func privateLedger() throws -> (directory: URL, environment: [String: String]) {
        let dir = try makeTemporaryDirectory()
        #expect(chmod(dir.path, 0o700) == 0)
        return (dir, ["WPK_LEDGER": dir.appendingPathComponent("ledger.jsonl").path])
    }

    func fingerprint(_ extra: [String] = []) throws -> String {
        let result = try runWPK(["plan", "--format", "json", playbook] + inputs + extra)
        #expect(result.status == 0, "\(result.standardError)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        return try #require(plan["fingerprint"] as? String)
    }

    @Test("an approval binds to the plan shown; a wrong or stale prefix, a second vote and an ungated step are refused")
    func approveFlow() throws {
        let (dir, env) = try privateLedger()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fp = try fingerprint()
        let wrong = try runWPK(["approve", playbook] + inputs + ["--step", "restart", "--plan", "0123456789ab"], environment: env)
        #expect(wrong.status == 1)
        #expect(wrong.standardError.contains("does not match the current plan"))

        let approved = try runWPK(["approve", playbook] + inputs + ["--step", "restart", "--plan", fp], environment: env)
        #expect(approved.status == 0, "\(approved.standardError)")
        #expect(approved.standardOutput.contains("approved step restart of restart-unhealthy (plan \(fp))"))

        let again = try runWPK(["approve", playbook] + inputs + ["--step", "restart", "--plan", fp], environment: env)
        #expect(again.status == 1)
        #expect(again.standardError.contains("already decided by you"))

        let ungated = try runWPK(["approve", playbook] + inputs + ["--step", "pod-status", "--plan", fp], environment: env)
        #expect(ungated.status == 1)
        #expect(ungated.standardError.contains("not a gated step"))

        // Other inputs make another plan: the prefix the operator saw no longer matches.
        let otherInputs = ["--set", "deployment=payments", "--set", "app_label=checkout"]
        let stale = try runWPK(["approve", playbook] + otherInputs + ["--step", "restart", "--plan", fp], environment: env)
        #expect(stale.status == 1)

        let list = try runWPK(["approvals", "list", "--format", "json"], environment: env)
        #expect(list.status == 0)
        #expect(list.standardOutput.contains("\"approved\""))
        let verify = try runWPK(["approvals", "verify"], environment: env)
        #expect(verify.status == 0)
        #expect(verify.standardOutput.contains("intact, 1 records"))
    }

    @Test("a rejection needs a reason (usage error without one) and is recorded with it")
    func rejectFlow() throws {
        let (dir, env) = try privateLedger()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fp = try fingerprint()
        #expect(try runWPK(["reject", playbook] + inputs + ["--step", "restart", "--plan", fp], environment: env).status == 2)
        let rejected = try runWPK(
            ["reject", playbook] + inputs + ["--step", "restart", "--plan", fp, "--reason", "error budget spent"], environment: env)
        #expect(rejected.status == 0, "\(rejected.standardError)")
        let ledger = try String(contentsOfFile: try #require(env["WPK_LEDGER"]), encoding: .utf8)
        #expect(ledger.contains("\"type\":\"rejected\""))
        #expect(ledger.contains("\"reason\":\"error budget spent\""))
        #expect(ledger.contains("\"plan_digest\":\"sha256:\(fp)"))
    }

    @Test("the author of a playbook cannot approve it")
    func selfApprovalIsRefused() throws {
        let (dir, env) = try privateLedger()
        defer { try? FileManager.default.removeItem(at: dir) }
        let me = String(cString: getpwuid(geteuid()).pointee.pw_name)
        let text = try exampleText("restart-unhealthy")
        let authored = text.replacingOccurrences(of: #"author: [^\n]+"#, with: "author: \(me)", options: .regularExpression)
        #expect(authored != text)
        let file = dir.appendingPathComponent("mine.wpk.yaml")
        try Data(authored.utf8).write(to: file)
        let plan = try runWPK(["plan", "--format", "json", file.path] + inputs)
        let fp = try #require(
            (try JSONSerialization.jsonObject(with: Data(plan.standardOutput.utf8)) as? [String: Any])?["fingerprint"] as? String)
        let result = try runWPK(["approve", file.path] + inputs + ["--step", "restart", "--plan", fp], environment: env)
        #expect(result.status == 1)
        #expect(result.standardError.lowercased().contains("author"), "\(result.standardError)")
    }
}
