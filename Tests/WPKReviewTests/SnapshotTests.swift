import Testing
import WPKCore

@testable import WPKReview

/// A screen to snapshot: how to reach it through real events.
struct ScreenCase: CustomTestStringConvertible, Sendable {
    var name: String
    var make: @Sendable (Size) throws -> ReviewState
    var testDescription: String { name }
}

private let history = [
    HistoryRow(seq: 41, time: "2026-11-28T22:14:03Z", type: "approved", operatorName: "alice", step: "restart-deployment", reason: ""),
    HistoryRow(
        seq: 42, time: "2026-11-28T22:15:40Z", type: "run_started", operatorName: "wpk", step: "", reason: "",
        startedBy: StartedBy(kind: .alertmanager, trigger: "KubePodCrashLooping 5f8c0b7e2a1d3c4b", source: "127.0.0.1:40312").summary),
    HistoryRow(
        seq: 57, time: "2026-11-29T03:02:11Z", type: "rejected", operatorName: "bob", step: "restart-deployment",
        reason: "error rate already recovering"),
]

private func planState(_ size: Size, _ extra: [ReviewEvent] = [], options: ReviewOptions = ReviewOptions()) throws -> ReviewState {
    let state = try openState("restart-payments", pane: .plan, size: size, options: options, plan: samplePlan(), planDigest: sampleDigest)
    return run(state, [.key(.down)] + extra).0
}

@Suite("Review screens against golden files")
struct SnapshotTests {
    static let cases: [ScreenCase] = [
        ScreenCase(name: "list") { try listState($0) },
        ScreenCase(name: "list-reading") { size in
            let stubs = fixtureNames.map {
                PlaybookEntry(
                    path: "Fixtures/\($0).wpk.yaml", name: $0, runtime: "-", mode: "-", errors: 0, warnings: 0, pendingGates: nil,
                    waitingRuns: 0, summarized: false)
            }
            return run(ReviewState(size: size), [.listLoaded(stubs)]).0
        },
        ScreenCase(name: "list-filter") { run(try listState($0), [.key(.character("/"))] + typing("rest")).0 },
        ScreenCase(name: "overview") { try openState("restart-payments", size: $0) },
        ScreenCase(name: "diagnostics") { try openState("broken-indent", pane: .diagnostics, size: $0) },
        ScreenCase(name: "source-at-diagnostic") { run(try openState("broken-indent", pane: .diagnostics, size: $0), [.key(.enter)]).0 },
        ScreenCase(name: "plan") { try planState($0) },
        ScreenCase(name: "plan-unavailable") { try openState("restart-payments", pane: .plan, size: $0) },
        ScreenCase(name: "history") { try openState("restart-payments", pane: .history, size: $0, history: history) },
        ScreenCase(name: "help") { run(try listState($0), typing("?")).0 },
        ScreenCase(name: "approve-dialog") { try planState($0, [.key(.character("a"))] + typing("3f")) },
        // Issue 13: the dialog says which rollback step the approval does not include.
        ScreenCase(name: "approve-dialog-rollback") { size in
            var plan = samplePlan()
            plan[1].rollbackWaiting = ["undo-restart"]
            let state = try openState("restart-payments", pane: .plan, size: size, plan: plan, planDigest: sampleDigest)
            return run(state, [.key(.down), .key(.character("a"))] + typing("3f")).0
        },
        ScreenCase(name: "reject-dialog") { try planState($0, [.key(.character("r"))] + typing("wait for the sale to end")) },
        ScreenCase(name: "refused") {
            try planState($0, [.key(.character("a"))] + typing("3fa9") + [.decisionRefused("approvals are not available yet")])
        },
        ScreenCase(name: "read-only-plan") { try planState($0, options: ReviewOptions(readOnly: true)) },
        ScreenCase(name: "hostile-overview") { try openState("hostile-names", size: $0) },
        ScreenCase(name: "ascii-hostile-source") {
            try openState("hostile-names", pane: .source, size: $0, options: ReviewOptions(asciiOnly: true))
        },
        ScreenCase(name: "ascii-plan") { try planState($0, options: ReviewOptions(asciiOnly: true)) },
        ScreenCase(name: "runs") { try runsState($0) },
        ScreenCase(name: "run-waiting") { try runScreenState($0) },
        ScreenCase(name: "run-approve-dialog") { run(try runScreenState($0), [.key(.character("a"))] + typing("7c")).0 },
        ScreenCase(name: "run-cancel-dialog") { run(try runScreenState($0), [.key(.character("c"))] + typing("alert resolved")).0 },
        ScreenCase(name: "run-hostile-output") { try runScreenState($0, view: sampleRunView(output: hostileOutput())) },
        ScreenCase(name: "inputs-form") { size in
            try FormChecker(String(contentsOf: fixturesDirectory.appendingPathComponent("restart-payments.wpk.yaml"), encoding: .utf8))
                .formState(size, keys: typing("checkout") + [.key(.tab)] + typing("Checkout")).0
        },
        ScreenCase(name: "inputs-form-hostile") { size in
            try FormChecker(hostileInputsYAML).formState(size, keys: typing("-rf") + [.key(.down)] + typing("x")).0
        },
        ScreenCase(name: "run-hostile-output-end") {
            run(try runScreenState($0, view: sampleRunView(output: hostileOutput())), [.key(.end)]).0
        },
    ]

    @Test(arguments: cases, [Size(width: 80, height: 24), Size(width: 120, height: 40)])
    func screen(_ c: ScreenCase, size: Size) throws {
        try assertSnapshot(render(try c.make(size)), "\(c.name)-\(size)")
    }

    /// Under `LANG=C` or `--ascii` the terminal cannot draw anything else: every screen, every cell.
    @Test(arguments: cases)
    func asciiModeDrawsOnlyASCII(_ c: ScreenCase) throws {
        var state = try c.make(Size(width: 80, height: 24))
        state.options.asciiOnly = true
        let text = render(state).textDump()
        let offending = text.unicodeScalars.filter { !$0.isASCII }
        #expect(offending.isEmpty, "non-ASCII in ASCII mode: \(offending.map { "U+" + String($0.value, radix: 16) })")
    }

    @Test(arguments: [Size(width: 79, height: 24), Size(width: 80, height: 23), Size(width: 40, height: 10)])
    func tooSmall(size: Size) throws {
        let state = run(try listState(), [.resize(size)]).0
        let screen = render(state)
        try assertSnapshot(screen, "too-small-\(size)")
        #expect(screen.textDump().contains("terminal too small: need 80x24"))
    }

    @Test(arguments: [
        Size(width: 0, height: 0), Size(width: 1, height: 1), Size(width: 7, height: 3), Size(width: 80, height: 1),
        Size(width: 1, height: 80),
    ])
    func anyTerminalSizeRendersWithoutFault(size: Size) throws {
        let screens = [
            render(run(try listState(), [.resize(size)]).0),
            render(run(try planState(Size(width: 80, height: 24), [.key(.character("a"))]), [.resize(size)]).0),
        ]
        for screen in screens {
            #expect(screen.size == size)
            if size.width >= 30 && size.height >= 3 { #expect(screen.textDump().contains("terminal too small")) }
        }
    }

    @Test func aScreenRendersOnlyWhatChangesBetweenTwoAdjacentSelections() throws {
        // What the painter repaints on a cursor move: the rows whose cells differ. At 80 columns
        // the selected playbook's path is on the status line, so it changes too; at 120 it is a column.
        let before = render(try listState())
        let after = render(run(try listState(), [.key(.down)]).0)
        let changedRows = (0..<before.size.height).filter { row in (0..<80).contains { column in before[row, column] != after[row, column] }
        }
        #expect(changedRows == [Layout.listTop, Layout.listTop + 1, Layout.statusRow(before.size)])
        let wide = Size(width: 120, height: 40)
        let wideBefore = render(try listState(wide))
        let wideAfter = render(run(try listState(wide), [.key(.down)]).0)
        let wideChanged = (0..<40).filter { row in (0..<120).contains { column in wideBefore[row, column] != wideAfter[row, column] } }
        #expect(wideChanged == [Layout.listTop, Layout.listTop + 1])
    }
}
