import Foundation

/// The Runs view: one row per run, waiting ones first, with who started it from where, the
/// gate it waits at, approvals so far of how many, and the time left before the deadline.
enum RunsScreen {
    /// Column positions for a width.
    struct Columns {
        let id, playbook, who, state, gate, approvals, left: Int
        let idWidth, playbookWidth, whoWidth: Int
        static let stateWidth = 10, gateWidth = 14, approvalsWidth = 6, leftWidth = 8

        init(width: Int) {
            // Below 100 columns the run id shows its first 8 digits (the status line has it whole).
            idWidth = width >= 100 ? 17 : 9
            let fixed = 2 + idWidth + Self.stateWidth + Self.gateWidth + Self.approvalsWidth + Self.leftWidth
            let rest = max(10, width - fixed)
            playbookWidth = max(8, min(26, rest * 45 / 100))
            whoWidth = max(0, rest - playbookWidth)
            id = 2
            playbook = id + idWidth
            who = playbook + playbookWidth
            state = who + whoWidth
            gate = state + Self.stateWidth
            approvals = gate + Self.gateWidth
            left = approvals + Self.approvalsWidth
        }
    }

    static func draw(_ state: ReviewState, into screen: inout Screen) {
        let columns = Columns(width: screen.size.width)
        let titles: [(String, Int, Int)] = [
            ("RUN", columns.id, columns.idWidth), ("PLAYBOOK", columns.playbook, columns.playbookWidth),
            ("STARTED BY", columns.who, columns.whoWidth), ("STATE", columns.state, Columns.stateWidth),
            ("GATE", columns.gate, Columns.gateWidth), ("APPR", columns.approvals, Columns.approvalsWidth),
            ("LEFT", columns.left, Columns.leftWidth),
        ]
        for (title, column, width) in titles where width > 1 {
            screen.put(title, row: 1, column: column, maxWidth: width - 1, style: .title)
        }
        guard let runs = state.runs else {
            screen.put("Loading runs...", row: Layout.listTop, column: 2, style: .dim)
            return
        }
        if runs.isEmpty, let problem = state.ledgerProblem {
            screen.putWrapped(
                "No runs shown: \(problem)", row: Layout.listTop, column: 2, width: screen.size.width - 4, maxRows: 4, style: .error)
            return
        }
        if runs.isEmpty {
            screen.put(
                "No runs in the ledger yet. `wpk run PLAYBOOK` starts one; w shows the playbooks.", row: Layout.listTop, column: 2,
                maxWidth: screen.size.width - 4, style: .dim)
            return
        }
        let visible = Layout.listRows(screen.size)
        let top = state.runsScroll.top
        for offset in 0..<visible {
            let index = top + offset
            guard index < runs.count else { break }
            let row = Layout.listTop + offset
            drawRow(runs[index], now: state.now, row: row, columns: columns, into: &screen)
            if index == state.runsScroll.selected {
                screen.restyle(row: row, style: .selected)
                screen.put(String(screen.glyphs.pointer), row: row, column: 0, style: .selected)
                screen.cursor = (row, 0)
            }
        }
    }

    private static func drawRow(_ run: RunRow, now: Date, row: Int, columns: Columns, into screen: inout Screen) {
        screen.put(run.id, row: row, column: columns.id, maxWidth: columns.idWidth - 1, style: .dim)
        screen.put(run.playbook, row: row, column: columns.playbook, maxWidth: columns.playbookWidth - 1)
        if columns.whoWidth > 1 { screen.put(whoText(run), row: row, column: columns.who, maxWidth: columns.whoWidth - 1) }
        screen.put(run.state, row: row, column: columns.state, maxWidth: Columns.stateWidth - 1, style: stateStyle(run.state))
        screen.put(run.gate, row: row, column: columns.gate, maxWidth: Columns.gateWidth - 1, style: run.isWaiting ? .danger : .normal)
        if run.isWaiting {
            screen.put("\(run.approvals)/\(run.approvalsNeeded)", row: row, column: columns.approvals, maxWidth: Columns.approvalsWidth - 1)
            screen.put(
                countdown(until: run.deadline, now: now), row: row, column: columns.left, maxWidth: Columns.leftWidth, style: .warning)
        }
    }

    /// Who started the run and from where: `account@host tty from address [how]`.
    static func whoText(_ run: RunRow) -> String {
        var text = run.starter
        if !run.host.isEmpty { text += "@" + run.host }
        if !run.tty.isEmpty { text += " " + run.tty }
        if !run.source.isEmpty { text += " from " + run.source }
        if !run.startedBy.isEmpty { text += " [\(run.startedBy)]" }
        return text
    }

    static func stateStyle(_ state: String) -> Style {
        switch state {
        case "waiting": .danger
        case "running": .warning
        case "succeeded": .ok
        case "failed", "outcome-unknown", "rejected", "expired", "stale", "refused", "interrupted": .error
        default: .dim
        }
    }

    /// The instant after `now` at which `countdown(until: deadline, now:)` shows something else:
    /// the next whole second below an hour, the next whole minute above; nil once `due`.
    static func nextChange(of deadline: Date, after now: Date) -> Date? {
        let left = Int(deadline.timeIntervalSince(now).rounded(.down))
        if left <= 0 { return nil }
        let step = left < 3600 ? left : left / 60 * 60
        // A millisecond past the boundary, so the tick lands where the text has changed.
        return deadline.addingTimeInterval(-Double(step) + 0.001)
    }

    /// Time left before a deadline: `14m05s`, `59s`, `2h10m`; `-` without one; `due` once passed.
    static func countdown(until deadline: Date?, now: Date) -> String {
        guard let deadline else { return "-" }
        let left = Int(deadline.timeIntervalSince(now).rounded(.down))
        if left <= 0 { return "due" }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if left < 60 { return "\(left)s" }
        if left < 3600 { return "\(left / 60)m\(two(left % 60))s" }
        return "\(left / 3600)h\(two(left / 60 % 60))m"
    }
}

/// One run: where it stands, its inputs, every step with its state, exact argv, gate and output.
enum RunScreen {
    static func draw(_ state: ReviewState, into screen: inout Screen) {
        let id = state.openRunID ?? ""
        guard let open = state.openRun else {
            screen.put("run " + id, row: 1, column: 1, maxWidth: screen.size.width - 2, style: .title)
            screen.put("Loading...", row: Layout.runTop, column: 2, style: .dim)
            return
        }
        let view = open.view
        let row = view.row
        var column = 1
        column += screen.put("run \(row.id)", row: 1, column: column, style: .title)
        column += screen.put("  \(row.playbook)", row: 1, column: column, maxWidth: screen.size.width / 2)
        column += screen.put("  \(row.state)", row: 1, column: column, style: RunsScreen.stateStyle(row.state))
        screen.put("  plan \(view.fingerprint)", row: 1, column: column, maxWidth: max(0, screen.size.width - column - 1), style: .dim)
        var origin = "started by " + RunsScreen.whoText(row)
        if row.isWaiting {
            let approvers = view.approvers.isEmpty ? "" : " (" + view.approvers.joined(separator: ", ") + ")"
            origin =
                "waiting at \(row.gate): \(row.approvals)/\(row.approvalsNeeded) approvals\(approvers), "
                + "\(RunsScreen.countdown(until: row.deadline, now: state.now)) left  " + origin
        }
        screen.put(origin, row: 2, column: 1, maxWidth: screen.size.width - 2, style: row.isWaiting ? .danger : .dim)
        let visible = Layout.runRows(screen.size)
        let scroll = state.runScroll
        for offset in 0..<visible {
            let index = scroll.top + offset
            guard index < open.lines.count else { break }
            let line = open.lines[index]
            let at = Layout.runTop + offset
            screen.put(line.text, row: at, column: 1 + line.indent, maxWidth: screen.size.width - 2 - line.indent, style: line.style)
            if index == scroll.selected {
                screen.put(String(screen.glyphs.pointer), row: at, column: 0, style: .selected)
                screen.cursor = (at, 0)
            }
        }
    }
}

/// Approving, rejecting or cancelling the open run: the facts of what it binds to, then the prompt.
enum RunActionDialog {
    static func draw(_ state: ReviewState, action: RunAction, text: String, into screen: inout Screen) {
        guard let view = state.openRun?.view else { return }
        let top = 1
        let bottom = Layout.statusRow(screen.size) - 1
        for row in top...bottom { screen.fill(row: row) }
        let title =
            switch action {
            case .approve: "APPROVE this run's step?"
            case .reject: "REJECT this run's step"
            case .cancel: "CANCEL this run"
            }
        screen.box(top: top, left: 0, height: bottom - top + 1, width: screen.size.width, title: title, style: .danger)
        let labelColumn = 2
        let valueColumn = 16
        let valueWidth = screen.size.width - valueColumn - 2
        let footerRows = action == .approve ? 3 : 2
        let footerRow = bottom - footerRows
        var row = top + 1
        func fact(_ label: String, _ value: String, _ style: Style = .normal, rows: Int = 1) {
            guard row < footerRow else { return }
            screen.put(label, row: row, column: labelColumn, maxWidth: 13, style: .dim)
            row += screen.putWrapped(
                value, row: row, column: valueColumn, width: valueWidth, maxRows: min(rows, footerRow - row), style: style)
        }
        fact("run", "\(view.row.id) of \(view.row.playbook), started by \(RunsScreen.whoText(view.row))", rows: 2)
        fact("plan", view.fingerprint, .title)
        if action != .cancel, let step = view.waitingStep {
            fact("step", step.handler, .title)
            fact("inputs", view.inputs.map { "\($0.name)=\($0.value)" }.joined(separator: " "), .input, rows: 2)
            if !step.gateReasons.isEmpty { fact("gate", step.gateReasons.joined(separator: "; "), rows: 2) }
            for (i, command) in step.commands.enumerated() {
                let text = "$ " + ShellQuote.join(command)
                let needed = Screen.wrap(text, width: valueWidth, asciiOnly: screen.asciiOnly).count
                if row + needed > footerRow {
                    fact(
                        "", "(\(step.commands.count - i) more commands do not fit: enlarge the terminal, or read the run screen)", .warning,
                        rows: 2)
                    break
                }
                fact(i == 0 ? "command" : "", text, .input, rows: needed)
            }
        } else {
            fact("state", view.row.state + (view.row.isWaiting ? " at \(view.row.gate)" : ""))
        }
        let left = labelColumn
        let width = screen.size.width - 4
        if action == .approve {
            screen.put("Type the first 4 characters of the plan fingerprint to approve.", row: footerRow, column: left, maxWidth: width)
            screen.put(
                "Any other key cancels; nothing is recorded until the 4th character.", row: footerRow + 1, column: left, maxWidth: width,
                style: .dim)
            screen.put("> " + text + String(repeating: "_", count: max(0, 4 - text.count)), row: footerRow + 2, column: left, style: .input)
            screen.cursor = (footerRow + 2, left + 2 + text.count)
        } else {
            screen.put(
                "Reason (required; Enter \(action == .cancel ? "cancels the run" : "rejects"), Esc keeps it):", row: footerRow,
                column: left, maxWidth: width)
            let room = width - 4
            let shown = text.count > room ? String(text.suffix(room - 1)) : text
            let used = screen.put(
                "> " + (text.count > room ? String(screen.glyphs.ellipsis) : "") + shown, row: footerRow + 1, column: left, maxWidth: width,
                style: .input)
            screen.cursor = (footerRow + 1, min(left + used, left + width - 1))
        }
    }
}
