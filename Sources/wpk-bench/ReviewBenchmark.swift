import Foundation
import WPKCore
import WPKCurses
import WPKReview

/// The review UI's numbers: first frame for 1,000 playbooks, update plus render per keystroke on a
/// 100,000-handler playbook, and the bytes the real ncurses painter writes for a cursor move.
enum ReviewBenchmark {
    static func run() {
        let size = Size(width: 120, height: 40)
        firstFrame(size: size)
        keystrokes(size: size)
        bytesPerCursorMove()
        runsView(size: size)
    }

    /// The Runs view over a ledger of 10,000 runs, 100 of them waiting: the rows from the folded
    /// ledger (what the backend does once it has read the file), the first frame, a keystroke.
    static func runsView(size: Size) {
        let records = runLedger(runs: 10_000, waiting: 100)
        let now = Date(timeIntervalSince1970: 1_800_000_000 + 20_000)
        var rows: [RunRow] = []
        var foldSamples: [Double] = []
        var rowSamples: [Double] = []
        var foldCPU: [Double] = []
        for _ in 0..<10 {
            var state = LedgerState(records: [])
            let cpu = cpuSeconds() * 1e6
            foldSamples.append(time { state = LedgerState(records: records) })
            foldCPU.append(cpuSeconds() * 1e6 - cpu)
            rowSamples.append(time { rows = Self.rows(of: state, at: now) })
        }
        report("Runs view: fold a ledger of 10,000 runs (\(records.count) records, already read and verified)", foldSamples)
        report("Runs view: the same fold, CPU time of this process", foldCPU)
        fileBackedLedger(records, size: size)
        report("Runs view: 10,000 rows from the folded ledger, 100 waiting", rowSamples)
        let list = update(update(ReviewState(size: size), .tick(now)).0, .listLoaded([])).0
        var frames: [Double] = []
        var state = list
        for _ in 0..<20 {
            frames.append(
                time {
                    state = update(list, .runsLoaded(rows)).0
                    _ = render(state)
                })
        }
        report("Runs view: first frame, 10,000 runs, 100 waiting (update + render)", frames)
        precondition(
            state.context == .runs && state.runs?.first?.isWaiting == true, "the Runs view must come first with a waiting run on top")
        var keys: [Double] = []
        for i in 0..<2000 {
            keys.append(
                time {
                    state = update(state, .key(i % 400 < 200 ? .down : .up)).0
                    _ = render(state)
                })
        }
        report("Runs view: keystroke, 10,000 runs (update + render)", keys)
        var ticks: [Double] = []
        for i in 0..<200 {
            ticks.append(
                time {
                    state = update(state, .tick(now.addingTimeInterval(Double(i)))).0
                    _ = render(state)
                })
        }
        report("Runs view: a countdown second, 10,000 runs (tick + render)", ticks)
    }

    /// As FileReviewBackend.runRows: every run's overview, waiting ones with their gate (no
    /// process lookups: another host).
    static func rows(of state: LedgerState, at now: Date) -> [RunRow] {
        state.runOverview(at: now, processAlive: { _ in nil }).map { overview in
            var wait: RunDetail.Wait?
            if case .waiting(let step, let since, let deadline) = overview.status {
                wait = RunDetail.Wait(step: step, since: since, deadline: deadline, approvalsRequired: 1, approvers: [])
            }
            return RunRow(overview, wait: wait, inputs: [("deployment", "checkout")], now: now)
        }
    }

    /// What `wpk review`'s backend does with a real ledger file of these records: the first look
    /// (read and verify every line, fold all), a look after one more record is appended (the file
    /// checked against the last checkpoint, only the new record read and folded), and a new
    /// process's start from the snapshot the first one kept (`LedgerSnapshotStore`).
    static func fileBackedLedger(_ records: [LedgerRecord], size: Size) {
        let directory = NSTemporaryDirectory() + "wpk-review-bench-\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ledger.jsonl"
        var bytes: [UInt8] = []
        for record in records { bytes += record.line }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        let ledger = Ledger(path: path)
        let store = LedgerSnapshotStore(directory: directory + "/snapshots")
        var first: [Double] = []
        var firstCPU: [Double] = []
        var next: [Double] = []
        var nextCPU: [Double] = []
        var saves: [Double] = []
        var starts: [Double] = []
        var startsCPU: [Double] = []
        var snapshotBytes = 0
        var decodes: [Double] = []
        var checks: [Double] = []
        var frames: [Double] = []
        for round in 0..<5 {
            var follower = LedgerFollower()
            var cpu = cpuSeconds() * 1e6
            first.append(time { _ = try? follower.read(ledger) })
            firstCPU.append(cpuSeconds() * 1e6 - cpu)
            precondition(follower.state.recordCount >= records.count && follower.checkpoint != nil)
            _ = try? ledger.append(
                RecordDraft(type: .stepFinished, run: "bench", step: "step-\(round)", reason: "benchmark"), operator: Operator.current(),
                now: Date())
            cpu = cpuSeconds() * 1e6
            next.append(time { _ = try? follower.read(ledger) })
            nextCPU.append(cpuSeconds() * 1e6 - cpu)
            precondition(follower.lastFolded == 1, "only the appended record is read and folded")
            saves.append(time { precondition(store.save(follower.snapshot!, ledgerPath: path)) })
            snapshotBytes = follower.snapshot!.encoded().count
            // Another process's start: the snapshot loaded, the file checked against it, one new record read on.
            _ = try? ledger.append(
                RecordDraft(type: .stepFinished, run: "bench", step: "next-\(round)", reason: "benchmark"), operator: Operator.current(),
                now: Date())
            cpu = cpuSeconds() * 1e6
            var resumed = LedgerFollower()
            starts.append(
                time {
                    _ = try? resumed.read(ledger, startingFrom: store.load(ledgerPath: path)!)
                })
            startsCPU.append(cpuSeconds() * 1e6 - cpu)
            // The whole of a new session's Runs view first frame, as wpk review does it.
            var another = LedgerFollower()
            var shown = ReviewState(size: size)
            frames.append(
                time {
                    _ = try? another.read(ledger, startingFrom: store.load(ledgerPath: path)!)
                    let now = Date()
                    shown =
                        update(
                            update(update(ReviewState(size: size), .tick(now)).0, .listLoaded([])).0,
                            .runsLoaded(rows(of: another.state, at: now))
                        ).0
                    _ = render(shown)
                })
            precondition(shown.context == .runs && shown.runs?.count == 10_000)
            precondition(resumed.lastFolded == 1 && resumed.state.recordCount == follower.state.recordCount + 1)
            let encoded = resumed.snapshot!.encoded()
            decodes.append(time { precondition(LedgerSnapshot(decoding: encoded) != nil) })
            let checkpoint = resumed.checkpoint
            checks.append(time { precondition((try? ledger.read(after: checkpoint))?.fromStart == false) })
        }
        report("Runs view backend: first look at a \(bytes.count / 1_000_000) MB ledger file (read, verify, fold all)", first)
        report("Runs view backend: the same, CPU time", firstCPU)
        report("Runs view backend: a look after one append (file checked against the checkpoint, one record read and folded)", next)
        report("Runs view backend: a look after one append, CPU time", nextCPU)
        report("Runs view backend: keeping the snapshot (\(snapshotBytes / 1000) kB)", saves)
        report("Runs view backend: a new process's start from the snapshot (load, check the file, read on)", starts)
        report("Runs view backend: the same, CPU time", startsCPU)
        report("Runs view backend: of which decoding the snapshot", decodes)
        report("Runs view backend: of which checking the file against the checkpoint (nothing new)", checks)
        report("Runs view: a new session's first frame (start from the snapshot, rows, update + render)", frames)
    }

    /// Writes the 10,000-run ledger (100 waiting, the last run started now) to `path`, for
    /// measuring `wpk review` itself on it (first frame, idle CPU). `WPK_BENCH_DEADLINE_SECONDS`
    /// sets how far the waiting runs' deadlines are (default about 25 hours; under an hour the
    /// countdowns show seconds).
    static func writeRunLedger(to path: String) throws {
        let deadline = Int(ProcessInfo.processInfo.environment["WPK_BENCH_DEADLINE_SECONDS"] ?? "") ?? 90_000
        var bytes: [UInt8] = []
        for record in runLedger(runs: 10_000, waiting: 100, start: Date().timeIntervalSince1970 - 10_000, window: 10_000 + deadline) {
            bytes += record.line
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
    }

    /// Records of `runs` runs of restart-unhealthy: the oldest `waiting` still wait at `restart`,
    /// the rest finished (run_started, four steps, waiting, approved, consumed, restart, run_finished).
    static func runLedger(runs: Int, waiting: Int, start: Double = 1_800_000_000, window: Int = 100_000) -> [LedgerRecord] {
        var records: [LedgerRecord] = []
        records.reserveCapacity(runs * 12)
        var prev = LedgerRecord.genesis
        let starter = Operator(uid: 1001, name: "alice", tty: "/dev/pts/3", sshSource: "10.20.0.7")
        let approver = Operator(uid: 1002, name: "bob")
        let playbook = "sha256:" + String(repeating: "e", count: 64)
        func add(_ draft: RecordDraft, _ op: Operator, _ t: Int) {
            let record = LedgerRecord(
                seq: records.count + 1, time: Date(timeIntervalSince1970: start + Double(t)), draft: draft, operator: op, prev: prev)
            prev = record.hash
            records.append(record)
        }
        for i in 0..<runs {
            let id = String(format: "%016x", i + 1)
            let plan = "sha256:" + String(format: "%064x", i + 1)
            func draft(_ type: RecordType, step: String? = nil) -> RecordDraft {
                RecordDraft(type: type, run: id, playbook: "restart-unhealthy", playbookDigest: playbook, planDigest: plan, step: step)
            }
            let t = i
            var started = draft(.runStarted)
            started.pid = 100_000 + i
            started.host = "bastion-\(i % 3)"
            add(started, starter, t)
            for step in ["pod-status", "rollout-history", "describe-pods", "collect-logs"] {
                add(draft(.stepStarted, step: step), starter, t)
                var finished = draft(.stepFinished, step: step)
                finished.outcome = "succeeded"
                add(finished, starter, t)
            }
            var wait = draft(.waiting, step: "restart")
            wait.approvalsRequired = 1
            wait.expires = Date(timeIntervalSince1970: start + Double(t + window))
            add(wait, starter, t)
            if i < waiting { continue }
            var approved = draft(.approved, step: "restart")
            approved.expires = wait.expires
            add(approved, approver, t + 1)
            var consumed = draft(.consumed, step: "restart")
            consumed.consumes = [records.count]
            add(consumed, starter, t + 1)
            var finished = draft(.runFinished)
            finished.outcome = "succeeded"
            add(finished, starter, t + 2)
        }
        return records
    }

    /// Microseconds a closure takes.
    static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1000
    }

    /// The list of 1,000 playbooks known by name, as the backend first answers: update and render.
    static func firstFrame(size: Size) {
        let entries = (0..<1000).map {
            PlaybookEntry(
                path: "examples/playbooks/team-\($0 % 20)/playbook-\($0).wpk.yaml", name: "playbook-\($0)", runtime: "-", mode: "-",
                errors: 0, warnings: 0, pendingGates: nil, waitingRuns: 0, summarized: false)
        }
        var samples: [Double] = []
        for _ in 0..<20 {
            samples.append(
                time {
                    let (state, _) = update(ReviewState(size: size), .listLoaded(entries))
                    _ = render(state)
                })
        }
        report("first frame, 1,000 playbooks listed by name (update + render, excluding directory walk)", samples)
    }

    /// Down-arrow keystrokes on the Source pane (200,009 lines) and on a 100,000-step Plan pane.
    static func keystrokes(size: Size) {
        var lines = [
            "apiVersion: wpk/v1", "kind: WorkflowPackage", "metadata:", "  name: huge", "spec:", "  runtime: shell", "  mode: manual",
            "  handlers:",
        ]
        for i in 0..<100_000 { lines += ["    - name: handler-\(i)", "      run: echo \(i)"] }
        let source = Array(lines.joined(separator: "\n").utf8)
        let steps = (0..<100_000).map { i in
            PlanStepView(
                index: i + 1, handler: "handler-\(i)", runtime: "shell", commands: [["echo", "\(i)"]], fidelity: .exact,
                mutating: i % 3 == 0, destructive: false, blastRadius: "this host", gateRequired: i % 10 == 0,
                gateApprovals: 1, gateReason: "benchmark", gateState: i % 10 == 0 ? .pending : .notGated)
        }
        let entry = PlaybookEntry(
            path: "huge.wpk.yaml", name: "huge", runtime: "shell", mode: "manual", errors: 0, warnings: 0, pendingGates: nil, waitingRuns: 0
        )
        let detail = PlaybookDetail(
            entry: entry, overview: [], source: source, diagnostics: [], plan: steps,
            planDigest: "sha256:" + String(repeating: "ab", count: 32), planNote: "", history: [], historyNote: "")
        for (pane, tabs) in [("Source", 2), ("Plan", 3)] {
            var state = update(ReviewState(size: size), .listLoaded([entry])).0
            for event in [ReviewEvent.key(.enter), .detailLoaded(detail)] + Array(repeating: .key(.tab), count: tabs) {
                state = update(state, event).0
            }
            state = update(state, .key(.character("G"))).0  // from the end, where a slow list would be slowest
            var samples: [Double] = []
            for _ in 0..<2000 {
                samples.append(
                    time {
                        state = update(state, .key(.up)).0
                        _ = render(state)
                    })
            }
            report("keystroke on the \(pane) pane of a 100,000-handler playbook (update + render)", samples)
        }
    }

    /// Draws the list, moves the cursor one row, and counts what ncurses wrote to a pseudo-terminal.
    static func bytesPerCursorMove() {
        // posix_openpt and friends are hidden from Swift's Glibc import; these are Linux's ioctls
        // behind them (TIOCSPTLCK = _IOW('T', 0x31, int), TIOCGPTN = _IOR('T', 0x30, unsigned)).
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, UInt(0x4004_5431), &unlock) == 0, ioctl(master, UInt(0x8004_5430), &number) == 0 else {
            print("bytes per cursor move: no pseudo-terminal available")
            return
        }
        var window = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        let slavePath = "/dev/pts/\(number)"
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        _ = ioctl(slave, UInt(TIOCSWINSZ), &window)
        _ = fcntl(master, F_SETFL, O_NONBLOCK)
        func drain() -> Int {
            var total = 0
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { return total }
                total += n
            }
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = "xterm-256color"
        setenv("TERM", "xterm-256color", 1)
        setenv("LANG", "C.UTF-8", 1)
        guard let terminal = try? CursesTerminal(terminalPath: slavePath, environment: environment) else {
            print("bytes per cursor move: cannot start curses on \(slavePath)")
            return
        }
        let setup = drain()
        let entries = (0..<100).map {
            PlaybookEntry(
                path: "playbooks/p\($0).wpk.yaml", name: "playbook-\($0)", runtime: "k8s", mode: "manual",
                errors: $0 % 7 == 0 ? 1 : 0, warnings: 0, pendingGates: $0 % 3, waitingRuns: 0)
        }
        var state = update(ReviewState(size: Size(width: 120, height: 40)), .listLoaded(entries)).0
        terminal.draw(render(state))
        let full = drain()
        var moves: [Int] = []
        for _ in 0..<10 {
            state = update(state, .key(.down)).0
            terminal.draw(render(state))
            moves.append(drain())
        }
        terminal.restore()
        close(slave)
        close(master)
        print(
            "bytes written at 120x40 (xterm-256color): setup \(setup), first full frame \(full), per cursor move \(moves.min() ?? 0)-\(moves.max() ?? 0)"
        )
    }

    static func report(_ what: String, _ samples: [Double]) {
        let sorted = samples.sorted()
        let median = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        print(String(format: "%@: median %.0f µs, p99 %.0f µs, n=%d", what, median, p99, samples.count))
    }
}
