import Foundation
import Testing
import WPKCore

@testable import WPKReview

/// A terminal that replays scripted input and keeps every frame it is given.
final class ScriptedTerminal: TerminalDevice {
    var size: Size
    var script: [DeviceInput]
    var frames: [Screen] = []
    var timeouts: [Double?] = []

    init(size: Size = Size(width: 80, height: 24), script: [DeviceInput]) {
        self.size = size
        self.script = script
    }

    func nextInput(timeout: Double?) -> DeviceInput {
        timeouts.append(timeout)
        if script.isEmpty { return timeout == 0 ? .timeout : .closed }
        let input = script.removeFirst()
        if case .resize(let newSize) = input { size = newSize }
        return input
    }

    func draw(_ screen: Screen) { frames.append(screen) }
}

/// A backend over the test fixtures that records what it was asked to do.
final class FixtureBackend: ReviewBackend {
    var performed: [Effect] = []
    var pollInterval: Double?
    var changes: [Bool] = []
    /// When set, the list comes as names only and is read by `.summarize`, like the real backend.
    var namesFirst = false
    /// What the ledger holds about runs: the Runs view's rows and each run's screen.
    var runs: [RunRow] = []
    var runViews: [String: RunView] = [:]

    func perform(_ effect: Effect) -> [ReviewEvent] {
        performed.append(effect)
        let entries = (try? fixtureNames.map { try fixture($0).entry }) ?? []
        switch effect {
        case .loadList:
            guard namesFirst else { return [.listLoaded(entries)] }
            return [
                .listLoaded(
                    entries.map {
                        PlaybookEntry(
                            path: $0.path, name: String($0.path.split(separator: "/").last ?? ""), runtime: "-", mode: "-",
                            errors: 0, warnings: 0, pendingGates: nil, waitingRuns: 0, summarized: false)
                    })
            ]
        case .summarize(let paths): return [.entriesSummarized(entries.filter { paths.contains($0.path) })]
        case .loadDetail(let path):
            let name = fixtureNames.first { path.contains($0) } ?? ""
            guard let detail = try? fixture(name, plan: samplePlan(), planDigest: sampleDigest) else {
                return [.detailFailed(path: path, reason: "gone")]
            }
            return [.detailLoaded(detail)]
        case .approve: return [.decisionRefused("approvals are not available yet")]
        case .reject(let path, let step, let digest, let reason):
            return [
                .decisionRecorded(
                    Decision(kind: .rejected, playbook: "restart-payments-api", path: path, step: step, planDigest: digest, reason: reason))
            ]
        case .loadRuns: return [.runsLoaded(runs)]
        case .loadRun(let id): return [runViews[id].map { .runLoaded($0) } ?? .runFailed(id: id, reason: "no such run")]
        case .decideRun(let action, let run, let step, _, let digest, let reason):
            let kind: Decision.Kind = action == .approve ? .approved : action == .reject ? .rejected : .cancelled
            return [
                .decisionRecorded(
                    Decision(kind: kind, playbook: "restart-unhealthy", path: "run \(run)", step: step, planDigest: digest, reason: reason))
            ]
        case .checkInputs(let path, let values):
            // The real check on the fixture's real YAML.
            guard
                let checker = try? FormChecker(
                    String(contentsOf: fixturesDirectory.appendingPathComponent((path as NSString).lastPathComponent), encoding: .utf8))
            else {
                return [.inputsChecked(path: path, values: values, problems: [:], general: ["unreadable"])]
            }
            let check = InputCheck.check(checker.document, path: path, digest: checker.digest, inputs: values)
            return [.inputsChecked(path: path, values: values, problems: check.problems, general: check.general)]
        case .planWithInputs(let path, _): return perform(.loadDetail(path: path))
        case .quit: return []
        }
    }

    var ledgerPollInterval: Double? { pollInterval }
    func ledgerChanged() -> Bool { changes.isEmpty ? false : changes.removeFirst() }
}

@Suite("Review runner loop")
struct RunnerTests {
    @Test func aSessionOpensRejectsAndQuitsThroughTheLoop() {
        let keys: [Key] =
            [.down, .down, .enter, .tab, .tab, .tab, .down, .character("r")] + "too risky".map { .character($0) } + [
                .enter, .character("q"),
            ]
        let terminal = ScriptedTerminal(script: keys.map { .key($0) })
        let backend = FixtureBackend()
        let final = ReviewRunner.run(device: terminal, backend: backend, options: ReviewOptions())
        #expect(final.quitting)
        #expect(backend.performed.first == .loadList)
        #expect(
            backend.performed.contains(
                .reject(
                    path: "Fixtures/restart-payments.wpk.yaml", step: "restart-deployment", planDigest: sampleDigest, reason: "too risky")))
        #expect(final.decisions.map(\.reason) == ["too risky"])
        // One frame per input before quitting; the last shows the recorded rejection.
        #expect(terminal.frames.count == keys.count)
        #expect(terminal.frames.last?.rowText(Layout.statusRow(terminal.size)).contains("rejected: step restart-deployment") == true)
        // Without a ledger to watch the loop waits for input only; 0 is a look for input while
        // the background load of the runs waits (keys kept coming, so it never ran).
        #expect(terminal.timeouts.allSatisfy { $0 == nil || $0 == 0 }, "\(terminal.timeouts)")
    }

    @Test func aSignalOrAClosedTerminalEndsTheSession() {
        for input in [DeviceInput.terminate, .closed] {
            let terminal = ScriptedTerminal(script: [.key(.down), input, .key(.down)])
            let final = ReviewRunner.run(device: terminal, backend: FixtureBackend(), options: ReviewOptions())
            #expect(final.quitting)
            #expect(terminal.script == [.key(.down)], "nothing is read after the signal")
        }
    }

    @Test func ledgerPollingReloadsOnlyWhenTheLedgerChanged() {
        let backend = FixtureBackend()
        backend.pollInterval = 2
        backend.changes = [false, true]
        // The first quiet moment loads the runs (in the background, after the first frame); then
        // two polls, the second of which sees a change and reloads.
        let terminal = ScriptedTerminal(script: [.timeout, .timeout, .timeout, .timeout, .key(.character("q"))])
        _ = ReviewRunner.run(device: terminal, backend: backend, options: ReviewOptions())
        #expect(backend.performed == [.loadList, .loadRuns, .loadList, .loadRuns])
        #expect(terminal.timeouts.prefix(4) == [0, 2, 2, 0], "\(terminal.timeouts)")
    }

    @Test func theListShowsBeforeFilesAreReadAndKeysComeFirst() {
        let backend = FixtureBackend()
        backend.namesFirst = true
        let terminal = ScriptedTerminal(script: [.key(.down)])
        let final = ReviewRunner.run(device: terminal, backend: backend, options: ReviewOptions())
        // First frame: names only, before any file was read.
        #expect(terminal.frames.first?.textDump().contains("reading...") == true)
        #expect(terminal.frames.first?.textDump().contains("restart-payments") == true)
        // The waiting key was handled before the background read (the read came after it).
        #expect(backend.performed == [.loadList, .loadRuns, .summarize(paths: fixtureNames.map { "Fixtures/\($0).wpk.yaml" })])
        #expect(terminal.timeouts.prefix(2) == [0, 0])
        #expect(final.entries?.allSatisfy { $0.summarized } == true)
        #expect(final.selectedEntry?.name.hasPrefix("evil") == true)
        #expect(terminal.frames.last?.textDump().contains("reading...") == false)
    }

    @Test func aResizeRedrawsAtTheNewSize() {
        let terminal = ScriptedTerminal(script: [
            .resize(Size(width: 60, height: 20)), .resize(Size(width: 100, height: 30)), .key(.character("q")),
        ])
        _ = ReviewRunner.run(device: terminal, backend: FixtureBackend(), options: ReviewOptions())
        #expect(terminal.frames.map(\.size) == [Size(width: 80, height: 24), Size(width: 60, height: 20), Size(width: 100, height: 30)])
        #expect(terminal.frames[1].textDump().contains("terminal too small"))
        #expect(terminal.frames[2].rowText(Layout.listTop).contains("broken-indent"))
    }
}
