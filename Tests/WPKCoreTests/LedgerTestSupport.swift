import Foundation

@testable import WPKCore

/// A fresh private directory (mode 0700, from mkdtemp) removed when the value is dropped.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/wpk-ledger-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

enum LedgerFixtures {
    static let alice = Operator(uid: 1001, name: "alice", groups: ["sre"])
    static let bob = Operator(uid: 1002, name: "bob", groups: ["sre"])
    static let carol = Operator(uid: 1003, name: "carol", groups: ["dev"])
    /// Same account as alice under another name (an alias in the password file).
    static let aliceAlias = Operator(uid: 1001, name: "alice2", groups: ["sre"])

    static let playbookDigest = "sha256:" + String(repeating: "a", count: 64)
    static let planDigest = "sha256:" + "3f2a9c1b7d4e" + String(repeating: "b", count: 52)
    static let otherPlanDigest = "sha256:" + String(repeating: "c", count: 64)
    static let planPrefix = "3f2a9c1b7d4e"
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func subject(
        approvals: Int = 1, gate: GateRequirement? = GateRequirement(required: true, approvals: 1),
        safety: SafetySettings = SafetySettings(approvalsRequired: 1, approvalTimeoutSeconds: 600, author: "carol"),
        planDigest: String = planDigest, run: String? = nil, step: String = "migrate"
    ) -> GateSubject {
        var safety = safety
        safety.approvalsRequired = max(safety.approvalsRequired, approvals)
        return GateSubject(
            playbook: "db-failover", playbookDigest: playbookDigest, planDigest: planDigest,
            step: step, gate: gate, safety: safety, run: run)
    }

    /// Lines of a ledger file.
    static func lines(_ path: String) -> [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    static func write(lines: [String], to path: String) throws {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    /// A ledger with `count` run-event records from alternating operators.
    static func filledLedger(in dir: TemporaryDirectory, count: Int) throws -> Ledger {
        let ledger = Ledger(path: dir.file("ledger.jsonl"))
        for i in 1...count {
            try ledger.append(
                RecordDraft(type: .stepFinished, run: "run-1", step: "step-\(i)", reason: "ok \(i)"),
                operator: i % 2 == 0 ? alice : bob, now: t0.addingTimeInterval(Double(i)))
        }
        return ledger
    }

    /// The directory holding the test bundle, where SwiftPM also puts the `ledger-stress` helper.
    static var helperPath: String {
        let bundleDir = Bundle.main.bundleURL.deletingLastPathComponent().path
        for candidate in [bundleDir + "/ledger-stress", Bundle.main.bundlePath + "/ledger-stress"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.path + "/.build/debug/ledger-stress"
    }
}
