import Foundation
import Testing
import WPKCore

@testable import WPKReview

/// The test fixtures directory.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
/// The golden screens directory.
let snapshotsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

/// The fixture names, in the order the list shows them.
let fixtureNames = ["broken-indent", "hostile-names", "restart-payments"]

/// A fixture read and summarized the way the real backend does: real bytes, the real YAML loader.
func fixture(_ name: String, plan: [PlanStepView]? = nil, planDigest: String? = nil, history: [HistoryRow] = []) throws -> PlaybookDetail {
    let path = "Fixtures/\(name).wpk.yaml"
    let bytes = [UInt8](try Data(contentsOf: fixturesDirectory.appendingPathComponent("\(name).wpk.yaml")))
    var document: Document?
    var diagnostics: [Diagnostic] = []
    do { document = try YAMLLoader.load(bytes) } catch { diagnostics.append(Diagnostic(error)) }
    // The signature checked for real: restart-payments is signed (the published test key of
    // Tests/Fixtures/signing) and that key is trusted; the other fixtures declare no signature.
    let signature = document.map {
        PlaybookSignatureVerifier.check(
            bytes: bytes, path: fixturesDirectory.appendingPathComponent("\(name).wpk.yaml").path, root: $0.root, trust: fixtureTrust)
    }
    let entry = PlaybookReader.entry(path: path, root: document?.root, diagnostics: diagnostics, fallbackName: name, signature: signature)
    return PlaybookDetail(
        entry: entry,
        overview: (signature.map { [PlaybookReader.signatureSection($0)] } ?? [])
            + (document.map { PlaybookReader.overview($0.root) } ?? []),
        source: bytes,
        diagnostics: diagnostics, plan: plan, planDigest: planDigest,
        planNote: "The planner is not available yet in this build.", history: history, historyNote: "")
}

/// Trust in the example key (`examples/keys/wpk-example.pub`), as a machine policy would set it.
let fixtureTrust: PlaybookSignatureTrust = {
    let keys = fixturesDirectory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
        "examples/keys")
    return PlaybookSignatureTrust(policy: MachinePolicy(trustedKeys: keys.path))
}()

/// The plan digest used with `samplePlan` (a made-up but well-formed SHA-256).
let sampleDigest = "sha256:3fa9c2e07b41d5a8e6f0c9b2a1d4e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"

/// The restart-payments plan as the planner will show it: a read-only check, a gated restart, a check.
func samplePlan(restartState: GateState = .pending) -> [PlanStepView] {
    [
        PlanStepView(
            index: 1, handler: "check-rollout-status", runtime: "k8s",
            commands: [["kubectl", "--context", "prod-eu-1", "-n", "payments", "rollout", "status", "deployment/payments-api"]],
            fidelity: .exact, mutating: false, destructive: false, blastRadius: "none (read-only)",
            gateRequired: false, gateApprovals: 0, gateReason: "", gateState: .notGated),
        PlanStepView(
            index: 2, handler: "restart-deployment", runtime: "k8s",
            commands: [["kubectl", "--context", "prod-eu-1", "-n", "payments", "rollout", "restart", "deployment/payments-api"]],
            fidelity: .exact, mutating: true, destructive: true, blastRadius: "deployment/payments-api in prod-eu-1/payments (all pods)",
            gateRequired: true, gateApprovals: 1, gateReason: "Restarts every payments-api pod in prod-eu-1", gateState: restartState),
        PlanStepView(
            index: 3, handler: "verify-error-rate", runtime: "shell",
            commands: [["curl", "-fsS", "--max-time", "10", "https://payments.internal/healthz"]],
            fidelity: .simulated, mutating: false, destructive: false, blastRadius: "none (read-only)",
            gateRequired: false, gateApprovals: 0, gateReason: "", gateState: .notGated),
    ]
}

/// Feeds events through the real update function, collecting every effect.
func run(_ state: ReviewState, _ events: [ReviewEvent]) -> (ReviewState, [Effect]) {
    var state = state
    var all: [Effect] = []
    for event in events {
        let (next, effects) = update(state, event)
        state = next
        all += effects
    }
    return (state, all)
}

/// Keys for a typed string.
func typing(_ text: String) -> [ReviewEvent] { text.map { .key(.character($0)) } }

/// The list of all fixtures loaded, at a size.
func listState(_ size: Size = Size(width: 80, height: 24), options: ReviewOptions = ReviewOptions()) throws -> ReviewState {
    let entries = try fixtureNames.map { try fixture($0).entry }
    return run(ReviewState(options: options, size: size), [.listLoaded(entries)]).0
}

/// A playbook opened from the list, with its detail loaded, on a pane.
func openState(
    _ name: String, pane: Pane = .overview, size: Size = Size(width: 80, height: 24), options: ReviewOptions = ReviewOptions(),
    plan: [PlanStepView]? = nil, planDigest: String? = nil, history: [HistoryRow] = []
) throws -> ReviewState {
    var state = try listState(size, options: options)
    let index = try #require(fixtureNames.firstIndex(of: name))
    let detail = try fixture(name, plan: plan, planDigest: planDigest, history: history)
    var events: [ReviewEvent] = Array(repeating: .key(.down), count: index) + [.key(.enter), .detailLoaded(detail)]
    events += Array(repeating: .key(.tab), count: pane.rawValue)
    state = run(state, events).0
    return state
}

/// Compares a screen with its golden file (grid text, then the style map); a mismatch names each
/// differing row. `WPK_RECORD_SNAPSHOTS=1` writes the golden file instead.
func assertSnapshot(_ screen: Screen, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let actual =
        "# \(screen.size) cursor \(screen.cursor.map { "\($0.row),\($0.column)" } ?? "none")\n"
        + screen.textDump() + "\n# styles\n" + screen.styleDump() + "\n"
    let file = snapshotsDirectory.appendingPathComponent("\(name).txt")
    if ProcessInfo.processInfo.environment["WPK_RECORD_SNAPSHOTS"] == "1" {
        try FileManager.default.createDirectory(at: snapshotsDirectory, withIntermediateDirectories: true)
        try actual.write(to: file, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
        Issue.record("no golden file \(file.path); run with WPK_RECORD_SNAPSHOTS=1 to record it", sourceLocation: sourceLocation)
        return
    }
    if expected == actual { return }
    let e = expected.components(separatedBy: "\n")
    let a = actual.components(separatedBy: "\n")
    var report = "screen \(name) differs from \(file.lastPathComponent) (WPK_RECORD_SNAPSHOTS=1 re-records):\n"
    for i in 0..<max(e.count, a.count) {
        let le = i < e.count ? e[i] : "<missing>"
        let la = i < a.count ? a[i] : "<missing>"
        if le != la { report += "  line \(i + 1)\n    expected |\(le)|\n    actual   |\(la)|\n" }
    }
    Issue.record(Comment(rawValue: report), sourceLocation: sourceLocation)
}
