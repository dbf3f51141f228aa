import Testing
import WPKCore

@testable import WPKReview

@Suite("Review update function")
struct UpdateTests {
    let small = Size(width: 80, height: 24)

    @Test func listMovesAndClampsAtBothEnds() throws {
        var state = try listState()
        #expect(state.selectedEntry?.name == "broken-indent")
        state = run(state, [.key(.up)]).0
        #expect(state.listScroll.selected == 0)
        state = run(state, [.key(.character("j")), .key(.down), .key(.down), .key(.down)]).0
        #expect(state.listScroll.selected == 2)
        state = run(state, [.key(.character("k"))]).0
        #expect(state.selectedEntry?.name.hasPrefix("evil") == true)
        state = run(state, [.key(.character("g"))]).0
        #expect(state.listScroll.selected == 0)
        state = run(state, [.key(.end)]).0
        #expect(state.selectedEntry?.name == "restart-payments-api")
    }

    @Test func enterOpensTheSelectedPlaybookAndEscGoesBack() throws {
        let state = try listState()
        let (opened, effects) = run(state, [.key(.down), .key(.down), .key(.enter)])
        #expect(effects == [.loadDetail(path: "Fixtures/restart-payments.wpk.yaml")])
        #expect(opened.openPath == "Fixtures/restart-payments.wpk.yaml")
        #expect(opened.context == .playbook)
        let (back, backEffects) = run(opened, [.key(.escape)])
        #expect(backEffects.isEmpty)
        #expect(back.openPath == nil)
        #expect(back.selectedEntry?.name == "restart-payments-api", "going back keeps the selection")
        #expect(run(opened, [.key(.backspace)]).0.openPath == nil)
    }

    @Test func aDetailForAnotherPathIsIgnored() throws {
        let state = try run(listState(), [.key(.enter)]).0
        let other = try fixture("restart-payments")
        let after = run(state, [.detailLoaded(other)]).0
        #expect(after.open == nil, "a late answer for a playbook no longer open must not replace the view")
    }

    @Test func tabCyclesThroughAllPanesAndBackTabReturns() throws {
        var state = try openState("restart-payments")
        var seen: [Pane] = [state.pane]
        for _ in 0..<5 {
            state = run(state, [.key(.tab)]).0
            seen.append(state.pane)
        }
        #expect(seen == [.overview, .diagnostics, .source, .plan, .history, .overview])
        #expect(run(state, [.key(.backTab)]).0.pane == .history)
    }

    @Test func filterNarrowsByNameOrPathAndEscClears() throws {
        var state = try listState()
        state = run(state, [.key(.character("/"))] + typing("REST")).0
        #expect(state.editingFilter)
        #expect(state.shown.count == 1)
        #expect(state.selectedEntry?.name == "restart-payments-api")
        // Typed letters go to the filter, not to the key map: "q" must not quit while filtering.
        let (typedQ, effects) = run(state, typing("q"))
        #expect(effects.isEmpty && !typedQ.quitting && typedQ.filter == "RESTq" && typedQ.shown.isEmpty)
        state = run(state, [.key(.enter)]).0
        #expect(!state.editingFilter && state.filter == "REST")
        state = run(state, [.key(.escape)]).0
        #expect(state.filter.isEmpty && state.shown.count == 3)
        let byPath = run(try listState(), [.key(.character("/"))] + typing("indent")).0
        #expect(byPath.shown.count == 1 && byPath.selectedEntry?.name == "broken-indent")
    }

    @Test func unreadFilesAreReadInChunksAndFillInTheList() throws {
        let stubs = (0..<70).map {
            PlaybookEntry(
                path: "p\($0).wpk.yaml", name: "p\($0)", runtime: "-", mode: "-", errors: 0, warnings: 0, pendingGates: nil, waitingRuns: 0,
                summarized: false)
        }
        let (state, all) = run(ReviewState(size: small), [.listLoaded(stubs), .key(.down), .key(.down)])
        // The runs are asked for once, with the first list; the files are read in the background.
        #expect(all.first == .loadRuns)
        let effects = all.dropFirst()
        #expect(effects.map { if case .summarize(let paths) = $0 { paths.count } else { -1 } } == [32, 32, 6])
        #expect(effects.allSatisfy { $0.isBackground })
        var read = stubs[60]
        read.name = "restart"
        read.waitingRuns = 1
        read.summarized = true
        let after = run(state, [.entriesSummarized([read])]).0
        #expect(after.entries?.first?.name == "restart", "a run found waiting moves the playbook to the top")
        #expect(after.selectedEntry?.path == "p2.wpk.yaml", "the selection stays on the same playbook")
        #expect(ListScreen.validityText(stubs[0]).0 == "reading...")
    }

    @Test func runsWaitingForApprovalSortFirst() throws {
        var entries = try fixtureNames.map { try fixture($0).entry }
        entries[2].waitingRuns = 1
        let state = run(ReviewState(size: small), [.listLoaded(entries)]).0
        #expect(state.entries?.map(\.name).first == "restart-payments-api")
        #expect(state.entries?.dropFirst().map(\.name).first == "broken-indent", "the rest keep their order")
    }

    @Test func enterOnADiagnosticJumpsToItsSourceLine() throws {
        var state = try openState("broken-indent", pane: .diagnostics)
        let diagnostic = try #require(state.open?.diagnostics.first)
        let line = try #require(diagnostic.mark?.line)
        #expect(line == 12)
        state = run(state, [.key(.enter)]).0
        #expect(state.pane == .source)
        #expect(state.paneScroll[.source]?.selected == line - 1)
    }

    @Test func approvalNeedsTheFingerprintsFirstFourCharacters() throws {
        var state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        state = run(state, [.key(.down)]).0
        #expect(state.selectedStep?.handler == "restart-deployment")
        #expect(state.canDecide)
        state = run(state, [.key(.character("a"))]).0
        #expect(state.overlay == .approve(step: 1, typed: ""))
        let (partial, none) = run(state, typing("3fa"))
        #expect(none.isEmpty && partial.overlay == .approve(step: 1, typed: "3fa"))
        let (done, effects) = run(partial, typing("9"))
        #expect(effects == [.approve(path: "Fixtures/restart-payments.wpk.yaml", step: "restart-deployment", planDigest: sampleDigest)])
        #expect(done.overlay == nil)
        // Upper case hex is the same fingerprint.
        #expect(run(state, typing("3FA9")).1.count == 1)
    }

    @Test(arguments: [
        [Key.enter], [.character("y")], [.character("3"), .character("f"), .character("b")],
        [.escape], [.character("q")], [.character("3"), .enter],
    ])
    func anyOtherKeyCancelsTheApproval(keys: [Key]) throws {
        var state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        state = run(state, [.key(.down), .key(.character("a"))]).0
        let (after, effects) = run(state, keys.map { .key($0) } + typing("9"))
        #expect(effects.isEmpty, "nothing may be approved after a wrong key")
        #expect(after.overlay == nil)
        #expect(!after.quitting)
    }

    @Test func aPlanThatChangesUnderTheDialogClosesIt() throws {
        var state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        state = run(state, [.key(.down), .key(.character("a"))] + typing("3f")).0
        // The same plan reloaded (a ledger change elsewhere): the dialog stays, the typing too.
        let same = try fixture("restart-payments", plan: samplePlan(), planDigest: sampleDigest)
        let kept = run(state, [.detailLoaded(same)]).0
        #expect(kept.overlay == .approve(step: 1, typed: "3f"))
        // A new plan digest: the dialog closes, and finishing the old fingerprint approves nothing.
        let changed = try fixture("restart-payments", plan: samplePlan(), planDigest: "sha256:" + String(repeating: "0", count: 64))
        let closed = run(state, [.detailLoaded(changed)]).0
        #expect(closed.overlay == nil)
        #expect(closed.status?.text.contains("the plan changed") == true)
        #expect(run(closed, typing("a9")).1.isEmpty)
    }

    @Test func approveIsRefusedWhereItCannotApply() throws {
        // A step without a gate.
        var state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        state = run(state, [.key(.character("a"))]).0
        #expect(state.overlay == nil)
        #expect(state.status?.text.contains("has no gate") == true)
        // Not on the Plan pane.
        state =
            run(try openState("restart-payments", pane: .source, plan: samplePlan(), planDigest: sampleDigest), [.key(.character("a"))]).0
        #expect(state.overlay == nil && state.status?.text.contains("Plan pane") == true)
        // No plan yet: the backend's note is shown.
        state = run(try openState("restart-payments", pane: .plan), [.key(.character("r"))]).0
        #expect(state.overlay == nil && state.status?.text.contains("planner is not available") == true)
        // Read-only.
        state = try openState(
            "restart-payments", pane: .plan, options: ReviewOptions(readOnly: true), plan: samplePlan(), planDigest: sampleDigest)
        state = run(state, [.key(.down), .key(.character("a")), .key(.character("r"))]).0
        #expect(state.overlay == nil && !state.canDecide && state.status?.text.contains("read-only") == true)
    }

    @Test func rejectionNeedsAReason() throws {
        var state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        state = run(state, [.key(.down), .key(.character("r"))]).0
        #expect(state.overlay == .reject(step: 1, reason: ""))
        let (empty, noEffects) = run(state, typing("   ") + [.key(.enter)])
        #expect(noEffects.isEmpty && empty.overlay != nil && empty.status?.text.contains("reason is required") == true)
        let (typed, effects) = run(state, typing(" not during the sale x") + [.key(.backspace), .key(.backspace), .key(.enter)])
        #expect(
            effects == [
                .reject(
                    path: "Fixtures/restart-payments.wpk.yaml", step: "restart-deployment", planDigest: sampleDigest,
                    reason: "not during the sale")
            ])
        #expect(typed.overlay == nil)
        let (cancelled, none) = run(state, typing("abc") + [.key(.escape)])
        #expect(none.isEmpty && cancelled.overlay == nil)
    }

    @Test func decisionsAreKeptForTheSummaryAndReloadTheView() throws {
        let state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        let decision = Decision(
            kind: .approved, playbook: "restart-payments-api", path: "Fixtures/restart-payments.wpk.yaml",
            step: "restart-deployment", planDigest: sampleDigest, reason: "")
        let (after, effects) = run(state, [.decisionRecorded(decision)])
        #expect(after.decisions == [decision])
        #expect(effects == [.loadList, .loadRuns, .loadDetail(path: "Fixtures/restart-payments.wpk.yaml")])
        let (refused, none) = run(state, [.decisionRefused("the plan changed since it was shown")])
        #expect(none.isEmpty && refused.decisions.isEmpty)
        #expect(refused.status == StatusMessage("refused: the plan changed since it was shown", style: .error))
        #expect(SessionSummary.text(after.decisions).contains("approved step restart-deployment of restart-payments-api"))
    }

    @Test func aLedgerChangeReloadsListAndOpenPlaybook() throws {
        #expect(run(try listState(), [.ledgerChanged]).1 == [.loadList, .loadRuns])
        #expect(
            run(try openState("restart-payments"), [.ledgerChanged]).1 == [
                .loadList, .loadRuns, .loadDetail(path: "Fixtures/restart-payments.wpk.yaml"),
            ])
    }

    @Test func aTooSmallTerminalIgnoresKeysButQuitAndRecovers() throws {
        var state = try listState()
        state = run(state, [.resize(Size(width: 79, height: 24))]).0
        #expect(!state.fitsTerminal)
        state = run(state, [.key(.down), .key(.enter)]).0
        #expect(state.listScroll.selected == 0 && state.openPath == nil)
        state = run(state, [.resize(Size(width: 120, height: 40))]).0
        #expect(state.fitsTerminal)
        #expect(run(state, [.resize(Size(width: 80, height: 23)), .key(.character("q"))]).0.quitting)
    }

    @Test func quitComesFromQCtrlCAndSignalsEvenInsideDialogs() throws {
        #expect(run(try listState(), [.key(.character("q"))]).1 == [.quit])
        #expect(run(try listState(), [.terminate]).1 == [.quit])
        var state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        state = run(state, [.key(.down), .key(.character("r"))]).0
        let (typedQ, none) = run(state, typing("q"))
        #expect(none.isEmpty && typedQ.overlay == .reject(step: 1, reason: "q"), "q is text inside a reason")
        #expect(run(state, [.key(.interrupt)]).1 == [.quit])
    }

    @Test func theHintBarDropsWholeHintsByPriorityNeverRunningThemTogether() throws {
        let state = try openState("restart-payments", pane: .plan, plan: samplePlan(), planDigest: sampleDigest)
        let all = Frame.hintList(run(state, [.key(.down)]).0)
        #expect(all.map(\.text) == ["move", "back", "pane", "approve", "reject", "help", "quit"])
        for width in [80, 50, 30, 12] {
            var screen = Screen(size: Size(width: width, height: 1), asciiOnly: false)
            Frame.drawHints(run(state, [.key(.down)]).0, into: &screen)
            let shown = screen.rowText(0).trimmingTrailingSpaces
            let pieces = shown.components(separatedBy: "  ")
            // Every piece is one whole hint ("keys text"), in table order.
            let whole = all.map { "\($0.keys) \($0.text)" }
            #expect(pieces.allSatisfy { whole.contains($0) }, "\(width): \(shown)")
            #expect(pieces == whole.filter { pieces.contains($0) })
            if width == 30 {
                #expect(pieces.contains("q quit") && pieces.contains("? help") && !pieces.contains("Esc back"), "\(width): \(shown)")
            }
        }
    }

    @Test func helpOpensAndAnyKeyButScrollingClosesIt() throws {
        var state = try listState()
        state = run(state, typing("?")).0
        #expect(state.overlay == .help(top: 0))
        state = run(state, [.key(.down)]).0
        #expect(state.overlay == .help(top: 1))
        state = run(state, [.key(.escape)]).0
        #expect(state.overlay == nil && state.openPath == nil)
    }

    @Test func scrollingAHundredThousandLineSourceKeepsTheSelectionVisible() throws {
        let source = (1...100_000).map { "- name: handler-\($0)" }.joined(separator: "\n")
        let entry = PlaybookEntry(
            path: "big.wpk.yaml", name: "big", runtime: "shell", mode: "manual", errors: 0, warnings: 0, pendingGates: nil, waitingRuns: 0)
        let detail = PlaybookDetail(
            entry: entry, overview: [], source: Array(source.utf8), diagnostics: [], plan: nil, planDigest: nil, planNote: "", history: [],
            historyNote: "")
        var state = run(ReviewState(size: small), [.listLoaded([entry]), .key(.enter), .detailLoaded(detail), .key(.tab), .key(.tab)]).0
        state = run(state, [.key(.end)]).0
        #expect(state.paneScroll[.source]?.selected == 99_999)
        let screen = render(state)
        #expect(screen.rowText(Layout.statusRow(small) - 1).contains("- name: handler-100000"))
        state = run(state, [.key(.pageUp)]).0
        #expect(state.paneScroll[.source]?.selected == 99_999 - Layout.paneRows(.source, small))
    }
}
