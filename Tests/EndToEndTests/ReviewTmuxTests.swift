import Foundation
import Testing

/// The fixtures the review is opened on (three playbooks: invalid, hostile names, realistic).
private let fixtures = "Tests/WPKReviewTests/Fixtures"

/// Starts `wpk review` in the pane the way an operator would, recording the terminal mode before
/// and after, so the test can check the shell gets its terminal back exactly as it was.
private func startReview(
    _ session: TmuxSession, environment: String = "LANG=C.UTF-8", arguments: String = fixtures,
    expecting listed: String = "playbooks: 3 of 3",
    launch: WPKLaunch = WPKLaunch()
) throws {
    let review = try launch.shellCommand(["review"])
    let before = session.scratchFile("stty-before")
    let after = session.scratchFile("stty-after")
    try session.type(
        "stty -a > \(before); env \(environment) \(review) \(arguments); echo \"EXIT=$?\"; stty -a > \(after); echo STTY-SAVED", enter: true
    )
    try session.waitFor("the playbook list") { $0.contains(listed) }
}

/// Waits for the review to end and checks the shell prompt and terminal mode are back.
@discardableResult
private func expectShellBack(_ session: TmuxSession, exit: String = "EXIT=0") throws -> String {
    let screen = try session.waitFor("the shell prompt after the review") { screen in
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: true)
        return lines.contains("STTY-SAVED") && lines.last.map { $0.hasPrefix("e2e$") } == true
    }
    #expect(screen.contains(exit), "exit status line missing: \(screen)")
    // The window size is not a mode: a test that resizes changes it on purpose.
    let size = /rows [0-9]+; columns [0-9]+;/
    let before = try String(contentsOfFile: session.scratchFile("stty-before"), encoding: .utf8).replacing(size, with: "")
    let after = try String(contentsOfFile: session.scratchFile("stty-after"), encoding: .utf8).replacing(size, with: "")
    #expect(!before.isEmpty)
    #expect(before == after, "stty -a differs after the review:\nbefore: \(before)\nafter: \(after)")
    return screen
}

@Suite("wpk review in a real terminal (tmux)", .serialized)
struct ReviewTmuxTests {
    /// Single-user mode says so on every screen; under a policy that names a team ledger the
    /// header does not, and `--ledger` cannot choose another.
    @Test(.enabled(if: canActAsRoot, needsRootComment))
    func theHeaderSaysWhenTheLedgerIsUnmanaged() throws {
        let unmanaged = try TmuxSession(width: 100, height: 30)
        try startReview(unmanaged, environment: "LANG=C.UTF-8 WPK_LEDGER=\(unmanaged.scratchFile("ledger.jsonl"))")
        #expect(try unmanaged.capture().split(separator: "\n").first?.contains("UNMANAGED") == true)
        try unmanaged.type("q")
        try expectShellBack(unmanaged)

        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = try TestPolicy("ledger: \(directory.path)/team/ledger.jsonl\n")
        let team = try TmuxSession(width: 100, height: 30)
        try startReview(team, launch: WPKLaunch(policy: policy))
        let header = try team.capture().split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.contains("playbooks: 3 of 3") && !header.contains("UNMANAGED"), "\(header)")
        try team.type("q")
        try expectShellBack(team)
        let refused = try runWPK(
            ["review", "--ledger", directory.path + "/mine.jsonl", packageRoot.appendingPathComponent(fixtures).path],
            launch: WPKLaunch(policy: policy))
        #expect(refused.status == 1 && refused.standardError.contains("--ledger cannot choose another"), "\(refused.standardError)")
    }

    @Test func openNavigateFilterResizeAndQuit() throws {
        let session = try TmuxSession(width: 100, height: 30)
        try startReview(session)
        // Open the realistic playbook and walk its panes.
        try session.press("Down", "Down")
        try session.waitFor("the third row selected") { $0.contains("▶ restart-payments-api") }
        try session.press("Enter")
        try session.waitFor("the overview") { $0.contains("[Overview]") && $0.contains("team-payments") }
        try session.press("Tab")
        // Without --set the plan lacks its two required inputs: the planner's findings are the diagnostics.
        try session.waitFor("the diagnostics pane") { $0.contains("[Diagnostics (2)]") && $0.contains("WPK401") }
        try session.press("Tab")
        try session.waitFor("the source pane") { $0.contains("[Source]") && $0.contains("  5  │   name: restart-payments-api") }
        try session.press("Tab")
        try session.waitFor("the plan pane saying why there is no plan") {
            $0.contains("[Plan (-)]") && $0.contains("required inputs are missing")
        }
        try session.type("a")
        try session.waitFor("approve refused without a plan") { $0.contains("no plan to approve") }
        // Esc goes back (and must feel instant: the 25 ms escape delay, not ncurses' default second).
        try session.press("Escape")
        try session.waitFor("the list again", timeout: 3) { $0.contains("playbooks: 3 of 3") }
        // Filter.
        try session.type("/bro")
        try session.waitFor("the filtered list") {
            $0.contains("playbooks: 1 of 3") && $0.contains("broken-indent") && !$0.contains("restart-payments-api")
        }
        try session.press("Enter", "Enter")
        try session.waitFor("the invalid playbook") { $0.contains("[Overview]") && $0.contains("Diagnostics (1)") }
        try session.press("Tab", "Enter")
        try session.waitFor("the source at the error line") { $0.contains("▶ 12 E│") && $0.contains("12: error:") }
        try session.press("Escape", "Escape")
        try session.waitFor("the filter cleared") { $0.contains("playbooks: 3 of 3") }
        // Resize below 80x24 and back.
        try session.resize(width: 60, height: 20)
        try session.waitFor("the too-small notice") { $0.contains("terminal too small: need 80x24") && $0.contains("now 60x20") }
        try session.resize(width: 120, height: 40)
        try session.waitFor("the list redrawn at 120x40") {
            $0.contains("playbooks: 3 of 3") && $0.contains("PATH") && !$0.contains("too small")
        }
        try session.type("?")
        try session.waitFor("the help screen") { $0.contains("Help: keys") && $0.contains("approve a gated step") }
        try session.press("Escape")
        try session.waitFor("help closed") { !$0.contains("Help: keys") }
        try session.type("q")
        let screen = try expectShellBack(session)
        #expect(screen.contains("wpk review: no decisions were made in this session."))
    }

    @Test(arguments: ["xterm-256color", "tmux-256color", "screen", "vt100", "linux"])
    func smokeUnderEachTerminalType(term: String) throws {
        let session = try TmuxSession(width: 80, height: 24)
        try startReview(session, environment: "LANG=C.UTF-8 TERM=\(term)")
        try session.press("Down", "Down", "Enter")
        try session.waitFor("the overview under \(term)") { $0.contains("[Overview]") && $0.contains("restart-payments-api") }
        try session.press("Tab", "Tab")
        try session.waitFor("the source under \(term)") { $0.contains("[Source]") && $0.contains("apiVersion: wpk/v1") }
        // The mouse stays the terminal's (selecting and copying text keeps working).
        #expect(
            try session.tmux("display-message", "-p", "-t", "e2e", "#{mouse_any_flag}").trimmingCharacters(in: .whitespacesAndNewlines)
                == "0")
        try session.press("C-c")
        try expectShellBack(session)
    }

    @Test func aTerminalThatCannotAddressTheCursorIsRefused() throws {
        let session = try TmuxSession(width: 100, height: 24)
        try session.type("env TERM=dumb \(try WPKLaunch().shellCommand(["review"])) \(fixtures); echo \"EXIT=$?\"", enter: true)
        try session.waitFor("the refusal") { $0.contains("terminal type \"dumb\" cannot move the cursor") && $0.contains("EXIT=1") }
    }

    @Test func noColorMeansNoColourSequences() throws {
        // Foreground/background colours (30-38, 40-48, 90-97, 100-107); 39 and 49 only reset to the
        // terminal's defaults, which tmux writes around every attribute change.
        let colourSGR = /\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m/
        // The control: the same screen with colour allowed does contain colour sequences.
        let coloured = try TmuxSession(width: 80, height: 24)
        try startReview(coloured, environment: "LANG=C.UTF-8 TERM=xterm-256color")
        let deadline = Date().addingTimeInterval(15)
        var colourSeen = false
        while !colourSeen && Date() < deadline {
            colourSeen = try coloured.capture(escapes: true).contains(colourSGR)
            if !colourSeen { usleep(30_000) }
        }
        #expect(colourSeen, "the colour control run shows no colour: the check below would prove nothing")
        try coloured.type("q")
        try expectShellBack(coloured)

        let plain = try TmuxSession(width: 80, height: 24)
        try startReview(plain, environment: "LANG=C.UTF-8 TERM=xterm-256color NO_COLOR=1")
        try plain.press("Enter", "Tab")
        try plain.waitFor("the diagnostics pane") { $0.contains("[Diagnostics (1)]") }
        let screen = try plain.capture(escapes: true)
        #expect(!screen.contains(colourSGR), "colour sequences under NO_COLOR:\n\(screen.debugDescription)")
        #expect(screen.contains("\u{1B}[7m") || screen.contains(";7m"), "selection must still show, by reverse video")
        try plain.type("q")
        try expectShellBack(plain)
    }

    @Test func cLocaleDrawsOnlyASCII() throws {
        let session = try TmuxSession(width: 80, height: 24)
        try startReview(session, environment: "LANG=C LC_ALL=C")
        try session.press("Down", "Enter")
        try session.waitFor("the hostile playbook") { $0.contains("[Overview]") && $0.contains("<U+202E>") }
        try session.press("Tab", "Tab")
        let screen = try session.waitFor("the source in ASCII") {
            $0.contains("<U+4E2D><U+6587>") && $0.contains("  4 E| ") && $0.contains("Up/Dn move")
        }
        #expect(screen.unicodeScalars.allSatisfy { $0.isASCII }, "non-ASCII output under LANG=C:\n\(screen)")
        #expect(screen.contains("Up/Dn move"))
        try session.type("q")
        try expectShellBack(session)
    }

    @Test func hostileStringsNeverReachTheTerminal() throws {
        let session = try TmuxSession(width: 100, height: 30)
        try startReview(session)
        try session.press("Down", "Enter")
        let screen = try session.waitFor("the hostile overview") {
            $0.contains("[Overview]") && $0.contains("evil\\x1b[2J\\x1b]0;pwned\\x07<U+202E>elif") && $0.contains("wide 中文")
        }
        // Had the escapes run, the screen would be cleared and the pane's title changed.
        #expect(screen.contains("wide 中文 and é combining"))
        let title = try session.tmux("display-message", "-p", "-t", "e2e", "#{pane_title}")
        #expect(!title.contains("pwned"))
        try session.type("q")
        try expectShellBack(session)
    }

    /// A dropped connection: the terminal itself goes away under the review (tmux closes the pane's
    /// pseudo-terminal and sends SIGHUP). The review must notice and exit, not spin or hang.
    @Test func aTerminalThatGoesAwayEndsTheReview() throws {
        let session = try TmuxSession(width: 80, height: 24)
        let wpk = try WPKLaunch().shellCommand([])
        try session.tmux("new-window", "-d", "-t", "e2e:1", "exec env LANG=C.UTF-8 \(wpk) review \(fixtures)")
        let deadline = Date().addingTimeInterval(15)
        var listed = false
        while !listed && Date() < deadline {
            listed = (try? session.tmux("capture-pane", "-p", "-t", "e2e:1"))?.contains("playbooks: 3 of 3") == true
            if !listed { usleep(30_000) }
        }
        #expect(listed)
        let pid = try #require(
            pid_t(try session.tmux("display-message", "-p", "-t", "e2e:1", "#{pane_pid}").trimmingCharacters(in: .whitespacesAndNewlines)))
        try session.tmux("kill-window", "-t", "e2e:1")
        var gone = false
        while !gone && Date() < deadline.addingTimeInterval(15) {
            gone = kill(pid, 0) != 0
            if !gone { usleep(30_000) }
        }
        #expect(gone, "wpk review (pid \(pid)) is still running after its terminal went away")
    }

    @Test(arguments: [SIGTERM, SIGHUP])
    func aSignalLeavesTheTerminalSane(signal: Int32) throws {
        let session = try TmuxSession(width: 80, height: 24)
        try startReview(session)
        try session.press("Enter")
        try session.waitFor("a playbook open") { $0.contains("[Overview]") }
        let pid = try session.childOfShell()
        #expect(kill(pid, signal) == 0)
        let screen = try expectShellBack(session)
        #expect(screen.contains("wpk review: no decisions were made in this session."))
    }
}

@Suite("wpk review finds playbooks as the contract says (tmux)")
struct ReviewPathTests {
    /// A directory with playbooks beside a FIFO, a socket, a symbolic-link loop and a dangling link:
    /// the review must list the playbooks and never open (and so never hang on) the rest.
    @Test func directorySearchSkipsLoopsFifosAndSockets() throws {
        let session = try TmuxSession(width: 140, height: 30)  // wide enough for the PATH column
        let root = session.scratchFile("tree")
        let nested = root + "/team/a/b"
        try FileManager.default.createDirectory(atPath: nested, withIntermediateDirectories: true)
        let fixture = packageRoot.appendingPathComponent("Tests/WPKReviewTests/Fixtures/restart-payments.wpk.yaml").path
        try FileManager.default.copyItem(atPath: fixture, toPath: root + "/top.wpk.yaml")
        try FileManager.default.copyItem(atPath: fixture, toPath: nested + "/deep.wpk.yml")
        try FileManager.default.copyItem(atPath: fixture, toPath: root + "/not-a-playbook.yaml")
        #expect(mkfifo(root + "/trap.wpk.yaml", 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: nested + "/loop", withDestinationPath: root + "/team")
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling.wpk.yaml", withDestinationPath: root + "/missing")
        let socketPath = root + "/sock.wpk.yaml"
        let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in socketPath.utf8.prefix(buffer.count - 1).enumerated() { buffer[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        defer { close(socketFD) }

        let wpk = try WPKLaunch().shellCommand([])
        try session.type("cd \(session.scratch.path) && env LANG=C.UTF-8 \(wpk) review tree; echo \"EXIT=$?\"", enter: true)
        // One condition for the whole frame: tmux may show a frame half painted.
        let screen = try session.waitFor("the two playbooks of the tree") {
            $0.contains("playbooks: 2 of 2") && $0.contains("tree/team/a/b/deep.wpk.yml") && $0.contains("tree/top.wpk.yaml")
        }
        #expect(!screen.contains("trap") && !screen.contains("sock") && !screen.contains("dangling"))
        try session.type("q")
        try session.waitFor("the review to end") { $0.contains("EXIT=0") }
    }

    @Test func standardInputIsAPlaybookAndTheKeysStillWork() throws {
        let session = try TmuxSession(width: 100, height: 30)
        let wpk = try WPKLaunch().shellCommand([])
        try session.type(
            "cat Tests/WPKReviewTests/Fixtures/restart-payments.wpk.yaml | env LANG=C.UTF-8 \(wpk) review -; echo \"EXIT=$?\"", enter: true)
        try session.waitFor("the playbook read from standard input") {
            $0.contains("playbooks: 1 of 1") && $0.contains("restart-payments-api")
        }
        try session.press("Enter")
        try session.waitFor("its overview") { $0.contains("[Overview]") && $0.contains("team-payments") }
        try session.type("q")
        try session.waitFor("the review to end") { $0.contains("EXIT=0") }
    }

    @Test func aMissingPathIsAUsageError() throws {
        let command = try WPKLaunch().command(["review", "/nonexistent/playbooks"])
        let result = try runProcess(command.executable, command.arguments)
        #expect(result.status == 2)
        #expect(result.output.contains("/nonexistent/playbooks: no such file or directory"))
    }
}

/// rotate-secret opened on its Plan pane in a review with a private ledger; returns what the
/// operator needs: the ledger, the file, its inputs and the plan fingerprint `wpk plan` shows.
private func openRotateSecretPlan(_ session: TmuxSession) throws -> (
    ledger: String, playbook: String, inputs: [String], fingerprint: String
) {
    let ledgerDirectory = session.scratchFile("ledger")
    #expect(mkdir(ledgerDirectory, 0o700) == 0)
    let ledger = ledgerDirectory + "/ledger.jsonl"
    let playbook = packageRoot.appendingPathComponent("examples/playbooks/rotate-secret.wpk.yaml").path
    let inputs = ["--set", "deployment=checkout"]
    // The plan binds curl, kubectl and the kubeconfig as found: plan as the terminal's review does.
    let plan = try runWPK(["plan", "--format", "json", playbook] + inputs, environment: TmuxSession.bindingEnvironment)
    let fingerprint = try #require(
        (try JSONSerialization.jsonObject(with: Data(plan.standardOutput.utf8)) as? [String: Any])?["fingerprint"] as? String)
    try startReview(
        session, environment: "LANG=C.UTF-8 WPK_LEDGER=\(ledger) KUBECONFIG=\(TmuxSession.bindingEnvironment["KUBECONFIG"]!)",
        arguments: "\(inputs.joined(separator: " ")) \(playbook)", expecting: "playbooks: 1 of 1")
    try session.press("Enter")
    try session.waitFor("the overview") { $0.contains("[Overview]") }
    try session.press("Tab", "Tab", "Tab")
    try session.waitFor("the plan, nothing decided") { $0.contains("[Plan (7)]") && $0.components(separatedBy: "PENDING").count == 4 }
    return (ledger, playbook, inputs, fingerprint)
}

// One serialized suite: its tests start processes with Foundation's Process while tmux runs, and
// two of them at once in parallel suites were seen to hang.
@Suite("wpk review decides through the ledger (tmux)", .serialized)
struct ReviewDecisionTmuxTests {
    @Test func approveByFingerprintRejectWithReasonResizeAndQuit() throws {
        let session = try TmuxSession(width: 100, height: 30)
        let (ledger, _, _, fingerprint) = try openRotateSecretPlan(session)
        // Step 3 (rotate) is the first gated one.
        try session.press("Down", "Down")
        try session.type("a")
        try session.waitFor("the approval dialog") { $0.contains("Type the first 4 characters") && $0.contains(fingerprint) }
        // A wrong first character cancels: nothing is approved on autopilot.
        try session.type("x")
        try session.waitFor("the dialog gone") { !$0.contains("Type the first 4 characters") }
        let beforeApproval = (try? String(contentsOfFile: ledger, encoding: .utf8)) ?? ""
        #expect(!beforeApproval.contains("\"approved\""))
        try session.type("a")
        try session.waitFor("the approval dialog again") { $0.contains("Type the first 4 characters") }
        try session.type(String(fingerprint.prefix(4)))
        // rotate-secret needs two approvers: one approval is recorded and the gate stays pending.
        try session.waitFor("the approval recorded") {
            $0.contains("approved: step rotate") && $0.contains("History (1)") && $0.contains("PENDING (1 of 2: ")
        }
        let afterApproval = try String(contentsOfFile: ledger, encoding: .utf8)
        #expect(afterApproval.contains("\"type\":\"approved\"") && afterApproval.contains("\"step\":\"rotate\""))
        #expect(afterApproval.contains("\"plan_digest\":\"sha256:\(fingerprint)"))

        // Reject the next gated step with a typed reason.
        try session.press("Down")
        try session.type("r")
        try session.waitFor("the rejection dialog") { $0.contains("reason") }
        try session.type("vault is mid-upgrade")
        try session.press("Enter")
        try session.waitFor("the rejection recorded") { $0.contains("rejected: step resync-secret") && $0.contains("History (2)") }
        let afterRejection = try String(contentsOfFile: ledger, encoding: .utf8)
        #expect(afterRejection.contains("\"type\":\"rejected\"") && afterRejection.contains("\"reason\":\"vault is mid-upgrade\""))

        try session.resize(width: 60, height: 20)
        try session.waitFor("the too-small notice") { $0.contains("terminal too small: need 80x24") }
        try session.resize(width: 100, height: 30)
        try session.waitFor("the plan again") { $0.contains("[Plan (7)]") }
        try session.type("q")
        let screen = try expectShellBack(session)
        #expect(screen.contains("2 decisions made in this session"), "\(screen)")
        #expect(try runWPK(["approvals", "verify", "--ledger", ledger]).status == 0)
    }

    @Test func aDecisionWrittenByAnotherProcessAppearsOnScreen() throws {
        let session = try TmuxSession(width: 100, height: 30)
        let (ledger, playbook, inputs, fingerprint) = try openRotateSecretPlan(session)
        #expect(try session.capture().contains("History (0)"))

        // Another operator's process (here: the CLI, as a separate process) rejects a step.
        let rejected = try runWPK(
            ["reject", playbook] + inputs + ["--step", "restart-api", "--plan", fingerprint, "--reason", "change freeze"],
            environment: TmuxSession.bindingEnvironment.merging(["WPK_LEDGER": ledger]) { $1 })
        #expect(rejected.status == 0, "\(rejected.standardError)")
        try session.waitFor("the rejection on screen without a key pressed", timeout: 10) {
            $0.contains("History (1)") && $0.contains("REJECTED")
        }
        try session.type("q")
        try expectShellBack(session)
    }
}
