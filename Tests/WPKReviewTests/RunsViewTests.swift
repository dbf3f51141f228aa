import Foundation
import Testing
import WPKCore

@testable import WPKReview

/// The clock of the run fixtures: runs waited since before it.
let runsNow = Date(timeIntervalSince1970: 1_800_000_000)

/// The plan digest of the waiting restart-unhealthy run.
let runPlanDigest = "sha256:7c41d09e5fa2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"

/// Runs as the ledger lists them: two waiting (the longer wait listed second by the adapter), one running, two ended.
func sampleRuns() -> [RunRow] {
    [
        RunRow(
            id: "5be0c1d2e3f40718", playbook: "requeue-job", starter: "bob", host: "bastion-2", tty: "/dev/pts/4", state: "waiting",
            gate: "requeue", approvals: 0, approvalsNeeded: 2, waitingSince: runsNow.addingTimeInterval(-40),
            deadline: runsNow.addingTimeInterval(560), plannedWith: "job=nightly-export"),
        RunRow(
            id: "9f3a61c04b7e2d15", playbook: "restart-unhealthy", starter: "alice", host: "bastion-1", tty: "/dev/pts/3",
            source: "10.20.0.7", state: "waiting", gate: "restart", approvals: 0, approvalsNeeded: 1,
            waitingSince: runsNow.addingTimeInterval(-125), deadline: runsNow.addingTimeInterval(775),
            plannedWith: "deployment=checkout app_label=checkout"),
        RunRow(
            id: "0a1b2c3d4e5f6071", playbook: "backup-verify", starter: "wpk-serve", host: "bastion-1", startedBy: "schedule",
            state: "running"),
        RunRow(
            id: "1122334455667788", playbook: "scale-on-latency", starter: "carol", host: "bastion-1", tty: "/dev/pts/1", state: "succeeded"
        ),
        RunRow(id: "8877665544332211", playbook: "rotate-secret", starter: "alice", host: "bastion-1", state: "cancelled"),
    ]
}

/// The waiting restart-unhealthy run, opened: read-only steps done with their evidence, `restart` waiting.
func sampleRunView(output: (text: String, bytes: Int)? = nil) -> RunView {
    let kubectl = ["kubectl", "--context=prod-eu-west-1", "--namespace=checkout"]
    let podStatus =
        output?.text
        ?? "NAME                        READY   STATUS             RESTARTS\ncheckout-7d9f8c6b5-x2x9p    0/1     CrashLoopBackOff   14\ncheckout-7d9f8c6b5-q8w2n    1/1     Running            0\n"
    return RunView(
        row: sampleRuns()[1], playbookDigest: "sha256:" + String(repeating: "e", count: 64), planDigest: runPlanDigest,
        inputs: [("deployment", "checkout"), ("app_label", "checkout")],
        steps: [
            RunStepView(
                handler: "pod-status", state: "done", commands: [kubectl + ["get", "pods", "--selector=app=checkout", "--output=wide"]],
                outputBytes: output?.bytes ?? podStatus.utf8.count, output: podStatus),
            RunStepView(
                handler: "collect-logs", state: "done",
                commands: [kubectl + ["logs", "deployment/checkout", "--all-containers", "--previous", "--tail=500"]],
                outputBytes: 38, output: "panic: config key CHECKOUT_DB missing\n"),
            RunStepView(
                handler: "restart", state: "waiting",
                commands: [
                    kubectl + ["rollout", "restart", "deployment/checkout", "--dry-run=server"],
                    kubectl + ["rollout", "restart", "deployment/checkout"],
                ],
                gateRequired: true, gateApprovals: 1, gateReasons: ["requires_approval: true", "mutating step"]),
            RunStepView(
                handler: "wait-healthy", state: "not reached",
                commands: [kubectl + ["rollout", "status", "deployment/checkout", "--timeout=5m"]]),
        ])
}

/// Output no terminal may see as-is: escape sequences, bidirectional controls and a 10 MB line,
/// kept and sanitized by the real `OutputTail` the executor uses.
func hostileOutput() -> (text: String, bytes: Int) {
    var tail = OutputTail()
    tail.append(Array("before the long line\n".utf8))
    tail.append([UInt8](repeating: 0x41, count: 10 << 20) + [0x0A])
    tail.append(Array("\u{1B}]0;owned\u{07}\u{1B}[2J\u{1B}[31mred alert\u{1B}[0m\n".utf8))
    tail.append(Array("user \u{202E}nimda\u{202C} logged in\u{7F}\r\n".utf8))
    tail.append(Array("after the long line\n".utf8))
    return (String(decoding: tail.text, as: UTF8.self), tail.total)
}

/// The Runs view loaded at `runsNow`.
func runsState(_ size: Size = Size(width: 80, height: 24), options: ReviewOptions = ReviewOptions()) throws -> ReviewState {
    run(try listState(size, options: options), [.tick(runsNow), .runsLoaded(sampleRuns())]).0
}

/// The waiting run opened from the Runs view.
func runScreenState(_ size: Size = Size(width: 80, height: 24), view: RunView = sampleRunView(), options: ReviewOptions = ReviewOptions())
    throws -> ReviewState
{
    run(try runsState(size, options: options), [.key(.enter), .runLoaded(view)]).0
}

@Suite("The Runs view and the run screen")
struct RunsViewTests {
    @Test func aWaitingRunPutsTheRunsViewFirstWithTheLongestWaitOnTop() throws {
        let state = try runsState()
        #expect(state.context == .runs)
        #expect(state.runs?.map(\.id).prefix(2) == ["9f3a61c04b7e2d15", "5be0c1d2e3f40718"])
        #expect(state.selectedRun?.id == "9f3a61c04b7e2d15")
        // Only the first time: once the operator went to the playbooks, new loads leave them there.
        let back = run(state, [.key(.character("w")), .runsLoaded(sampleRuns())]).0
        #expect(back.context == .list)
        // Without a waiting run the playbooks stay first.
        let quiet = run(try listState(), [.runsLoaded(Array(sampleRuns().dropFirst(2)))]).0
        #expect(quiet.context == .list)
    }

    @Test func theCountdownFollowsTheClockAndTheRunnerTicksOnlyWhileOneShows() throws {
        let state = try runsState()
        #expect(render(state).textDump().contains("12m55s"))
        let later = run(state, [.tick(runsNow.addingTimeInterval(16))]).0
        #expect(render(later).textDump().contains("12m39s"))
        #expect(state.showsCountdown)
        #expect(!(try listState()).showsCountdown)
    }

    @Test func openingARunLoadsItAndApprovingTypesTheFingerprintForTheWaitingStep() throws {
        let list = try runsState()
        let (opened, effects) = run(list, [.key(.enter)])
        #expect(effects == [.loadRun(id: "9f3a61c04b7e2d15")])
        #expect(opened.context == .run)
        let loaded = run(opened, [.runLoaded(sampleRunView())]).0
        let (approving, none) = run(loaded, [.key(.character("a"))] + typing("7c4"))
        #expect(none.isEmpty)
        #expect(approving.overlay == .runAction(.approve, text: "7c4"))
        let (_, decided) = run(approving, typing("1"))
        #expect(
            decided == [
                .decideRun(
                    .approve, run: "9f3a61c04b7e2d15", step: "restart", playbookDigest: "sha256:" + String(repeating: "e", count: 64),
                    planDigest: runPlanDigest, reason: "")
            ])
        // A wrong character cancels; nothing is asked of the backend.
        let (wrong, nothing) = run(loaded, [.key(.character("a")), .key(.character("x"))])
        #expect(nothing.isEmpty && wrong.overlay == nil)
    }

    @Test func rejectAndCancelNeedAReason() throws {
        let loaded = try runScreenState()
        let (noReason, none) = run(loaded, [.key(.character("r")), .key(.enter)])
        #expect(none.isEmpty && noReason.overlay == .runAction(.reject, text: ""))
        let (_, rejected) = run(loaded, [.key(.character("r"))] + typing("wrong deployment") + [.key(.enter)])
        #expect(
            rejected == [
                .decideRun(
                    .reject, run: "9f3a61c04b7e2d15", step: "restart", playbookDigest: "sha256:" + String(repeating: "e", count: 64),
                    planDigest: runPlanDigest, reason: "wrong deployment")
            ])
        let (_, cancelled) = run(loaded, [.key(.character("c"))] + typing("alert resolved") + [.key(.enter)])
        #expect(cancelled.count == 1)
        if case .decideRun(.cancel, let id, _, _, _, let reason) = cancelled.first {
            #expect(id == "9f3a61c04b7e2d15" && reason == "alert resolved")
        } else {
            Issue.record("no cancel effect: \(cancelled)")
        }
    }

    @Test func theScreenFollowsTheRunAndADialogForAStepThatMovedOnCloses() throws {
        let approving = run(try runScreenState(), [.key(.character("a"))] + typing("7c")).0
        var movedOn = sampleRunView()
        movedOn.row.state = "running"
        movedOn.row.waitingSince = nil
        movedOn.row.gate = ""
        movedOn.steps[2].state = "running"
        let (after, effects) = run(approving, [.ledgerChanged])
        #expect(effects.contains(.loadRun(id: "9f3a61c04b7e2d15")))
        let followed = run(after, [.runLoaded(movedOn)]).0
        #expect(followed.overlay == nil)
        #expect(followed.status?.text.contains("moved on") == true)
        #expect(render(followed).textDump().contains("restart  [running]"))
        let (_, nothing) = run(followed, [.key(.character("a"))])
        #expect(nothing.isEmpty, "a run that does not wait cannot be approved")
    }

    @Test func readOnlyTurnsRunDecisionsOff() throws {
        let state = try runScreenState(options: ReviewOptions(readOnly: true))
        let (after, effects) = run(state, [.key(.character("a")), .key(.character("c"))])
        #expect(effects.isEmpty && after.overlay == nil)
    }

    @Test func hostileOutputReachesTheScreenOnlyAsVisibleEscapes() throws {
        let output = hostileOutput()
        #expect(output.text.utf8.count <= RunArtifacts.outputTailBytes + 64)
        #expect(output.bytes > 10 << 20)
        let state = try runScreenState(Size(width: 120, height: 40), view: sampleRunView(output: output))
        let scrolled = run(state, [.key(.end)]).0
        for screen in [render(state), render(scrolled)] {
            let text = screen.textDump()
            #expect(
                !text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || $0 == "\u{202E}" || $0 == "\u{202C}" || $0 == "\u{7F}" })
        }
        #expect(render(scrolled).textDump().contains("after the long line"))
    }
}

@Suite("Countdown wake-ups")
struct CountdownWakeTests {
    /// The runner sleeps until a countdown on screen changes its text: the next second below an
    /// hour, the next minute above, never while nothing counts down.
    @Test func theNextChangeIsTheNextSecondBelowAnHourAndTheNextMinuteAbove() throws {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let soon = now.addingTimeInterval(775.4)
        #expect(abs(try #require(RunsScreen.nextChange(of: soon, after: now)).timeIntervalSince(now) - 0.401) < 1e-6)
        let later = now.addingTimeInterval(2 * 3600 + 10 * 60 + 30.25)
        let change = try #require(RunsScreen.nextChange(of: later, after: now))
        #expect(abs(change.timeIntervalSince(now) - 30.251) < 1e-6)
        #expect(RunsScreen.countdown(until: later, now: change) != RunsScreen.countdown(until: later, now: now))
        #expect(RunsScreen.countdown(until: later, now: change.addingTimeInterval(-0.01)) == RunsScreen.countdown(until: later, now: now))
        #expect(RunsScreen.nextChange(of: now, after: now) == nil)
    }

    @Test func theStateAsksForAWakeOnlyForCountdownsOnScreen() throws {
        let state = try runsState()
        let change = try #require(state.nextCountdownChange)
        #expect(change > state.now && change.timeIntervalSince(state.now) <= 1.001)
        let backend = FixtureBackend()
        #expect(try #require(backend.wait(for: state, now: state.now)) <= 1.001)
        #expect(try listState().nextCountdownChange == nil)
        #expect(backend.wait(for: try listState(), now: state.now) == nil)
    }
}

@Suite("A ledger that cannot be read")
struct UnreadableLedgerTests {
    /// A ledger refused (rewritten, rolled back) or unreadable is never shown as an empty one.
    @Test(arguments: [Size(width: 80, height: 24), Size(width: 120, height: 40)])
    func theRunsViewSaysWhyNoRunsAreShown(size: Size) throws {
        let problem = "cannot read the ledger /srv/wpk/ledger.jsonl: it was rewritten after record 12"
        let state = run(try listState(size), [.runsLoaded([]), .ledgerProblem(problem), .key(.character("w"))]).0
        let text = render(state).textDump()
        #expect(text.contains("No runs shown: cannot read the ledger /srv/wpk/ledger.jsonl") && !text.contains("No runs in the ledger yet"))
        // With runs read up to a damaged record, the damage stays on the status line.
        let partial = run(try runsState(size), [.ledgerProblem("the ledger is damaged after record 40: bad hash")]).0
        #expect(render(partial).rowText(Layout.statusRow(size)).hasPrefix("the ledger is damaged after record 40"))
        #expect(run(partial, [.ledgerProblem(nil)]).0.ledgerProblem == nil)
    }
}
