import Foundation
import Testing
import WPKCore

/// `wpk approvals list|verify` run as the built binary on real ledger files.
@Suite("wpk approvals")
struct ApprovalsCommandTests {
    private struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private func wpk(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let result = try runWPK(arguments, environment: environment)
        return Result(status: result.status, stdout: result.standardOutput, stderr: result.standardError)
    }

    private func makeLedger() throws -> (directory: URL, ledger: Ledger) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-approvals-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let ledger = Ledger(path: directory.appendingPathComponent("ledger.jsonl").path)
        let alice = Operator(uid: 1001, name: "alice")
        let bob = Operator(uid: 1002, name: "bob\u{1B}[31m")
        let now = Date()
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let plan = "sha256:" + "0123456789ab" + String(repeating: "c", count: 52)
        let subject = GateSubject(
            playbook: "db-failover", playbookDigest: digest, planDigest: plan, step: "promote",
            gate: GateRequirement(required: true, approvals: 2), safety: SafetySettings(approvalsRequired: 2, author: "carol"))
        _ = try ledger.recordDecision(
            .approve, subject: subject, planPrefix: "0123456789ab", policy: .loaded(.builtIn), operator: alice, now: now)
        // Another playbook: a rejection is final for its whole plan, so it must not be this one.
        var other = subject
        other.playbook = "cache-flush"
        other.playbookDigest = "sha256:" + String(repeating: "e", count: 64)
        other.planDigest = "sha256:" + "fedcba987654" + String(repeating: "d", count: 52)
        other.step = "drain"
        _ = try ledger.recordDecision(
            .reject(reason: "wrong region\u{202E}"), subject: other, planPrefix: "fedcba987654",
            policy: .loaded(.builtIn), operator: bob, now: now)
        return (directory, ledger)
    }

    @Test func verifyExitsZeroOnAnIntactChainAndOneNamingTheFirstBadRecord() throws {
        let (directory, ledger) = try makeLedger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let intact = try wpk(["approvals", "verify", "--ledger", ledger.path])
        #expect(intact.status == 0)
        #expect(intact.stdout.contains("intact, 2 records"))

        var text = try String(contentsOfFile: ledger.path, encoding: .utf8)
        text = text.replacingOccurrences(of: "wrong region", with: "right region")
        try text.write(toFile: ledger.path, atomically: false, encoding: .utf8)
        let broken = try wpk(["approvals", "verify", "--format", "json"], environment: ["WPK_LEDGER": ledger.path])
        #expect(broken.status == 1)
        let report = try JSONValue.parse(Array(broken.stdout.utf8))
        #expect(report["intact"] == .bool(false))
        #expect(report["records"]?.intValue == 1)
        #expect(report["first_bad"]?["line"]?.intValue == 2)
        #expect(report["first_bad"]?["seq"]?.intValue == 2)
    }

    @Test func listShowsPendingFirstWithSanitizedNames() throws {
        let (directory, ledger) = try makeLedger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try wpk(["approvals", "list", "--ledger", ledger.path])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("PENDING") == true)
        #expect(lines.first?.contains("step promote plan 0123456789ab  1/2 approvals (alice)") == true)
        #expect(lines.last?.hasPrefix("REJECTED") == true)
        #expect(!text.stdout.contains("\u{1B}") && !text.stdout.contains("\u{202E}"))
        #expect(text.stdout.contains("bob\\x1b[31m") && text.stdout.contains("wrong region<U+202E>"))

        let json = try wpk(["approvals", "list", "--ledger", ledger.path, "--format", "json", "--step", "drain"])
        #expect(json.status == 0)
        let value = try JSONValue.parse(Array(json.stdout.utf8))
        let gates = try #require(value["gates"]?.arrayValue)
        #expect(gates.count == 1)
        #expect(gates.first?["status"]?.stringValue == "rejected")
        #expect(gates.first?["rejections"]?.arrayValue?.first?["reason"]?.stringValue == "wrong region\u{202E}")
    }

    @Test func worldWritableLedgerIsRefused() throws {
        let (directory, ledger) = try makeLedger()
        defer { try? FileManager.default.removeItem(at: directory) }
        chmod(ledger.path, 0o666)
        let result = try wpk(["approvals", "verify", "--ledger", ledger.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("writable by everyone"))
    }
}
