/// The facts both decision dialogs show, so the operator decides about exactly what will run.
/// The dialog takes the whole area between header and status line, and long values wrap rather
/// than being cut, so the command approved is the command seen.
enum DecisionFacts {
    /// Draws the dialog with the step's facts, leaving `footerRows` at its bottom; returns the
    /// left column, inner width and first footer row.
    static func drawBox(
        _ state: ReviewState, step: PlanStepView, title: String, footerRows: Int,
        into screen: inout Screen
    ) -> (left: Int, width: Int, row: Int) {
        let detail = state.open?.detail
        let top = 1
        let bottom = Layout.statusRow(screen.size) - 1
        for row in top...bottom { screen.fill(row: row) }
        screen.box(top: top, left: 0, height: bottom - top + 1, width: screen.size.width, title: title, style: .danger)
        let labelColumn = 2
        let valueColumn = 16
        let valueWidth = screen.size.width - valueColumn - 2
        let footerRow = bottom - footerRows
        var row = top + 1
        // Rows left for the facts after the one-line ones, shared out to the commands first.
        func fact(_ label: String, _ value: String, _ style: Style = .normal, rows: Int = 1) {
            guard row < footerRow else { return }
            screen.put(label, row: row, column: labelColumn, maxWidth: 13, style: .dim)
            row += screen.putWrapped(
                value, row: row, column: valueColumn, width: valueWidth, maxRows: min(rows, footerRow - row), style: style)
        }
        fact("playbook", "\(detail?.entry.name ?? "") (\(detail?.entry.path ?? ""))")
        fact("step", "\(step.index) \(step.handler) (\(step.runtime))", .title)
        fact("plan", detail?.fingerprint ?? "-", .title)
        fact(
            "fidelity", step.fidelity.rawValue + (step.fidelity == .exact ? "" : ": what runs may differ from what is shown"),
            step.fidelity == .exact ? .normal : .warning)
        let effect = step.destructive ? "DESTRUCTIVE" : step.mutating ? "mutating" : "read-only"
        fact("blast radius", "\(effect): \(step.blastRadius)", step.destructive ? .danger : .normal, rows: 2)
        fact("gate", "\(step.gateApprovals) approval(s): \(step.gateReason)", rows: 2)
        if !step.rollbackWaiting.isEmpty {
            fact(
                "rollback",
                "\(step.rollbackWaiting.joined(separator: ", ")) not included: waits for its own approval if it runs (wpk approve --include-rollback includes it)",
                .warning, rows: 2)
        }
        if step.commands.isEmpty { fact("command", "(none)", .dim) }
        for (i, command) in step.commands.enumerated() {
            let text = "$ " + ShellQuote.join(command)
            let needed = Screen.wrap(text, width: valueWidth, asciiOnly: screen.asciiOnly).count
            if row + needed > footerRow {
                fact(
                    "", "(\(step.commands.count - i) more commands do not fit: enlarge the terminal, or read the Plan pane)", .warning,
                    rows: 2)
                break
            }
            fact(i == 0 ? "command" : "", text, .input, rows: needed)
        }
        return (labelColumn, screen.size.width - 4, footerRow)
    }
}

/// The approval confirmation: approved only by typing the plan fingerprint's first 4 characters.
enum ApproveDialog {
    static func draw(_ state: ReviewState, step index: Int, typed: String, into screen: inout Screen) {
        guard let plan = state.open?.detail.plan, index < plan.count else { return }
        let (left, width, row) = DecisionFacts.drawBox(state, step: plan[index], title: "APPROVE this step?", footerRows: 3, into: &screen)
        screen.put("Type the first 4 characters of the plan fingerprint to approve.", row: row, column: left, maxWidth: width)
        screen.put(
            "Any other key cancels; nothing is recorded until the 4th character.", row: row + 1, column: left, maxWidth: width, style: .dim)
        let prompt = "> " + typed + String(repeating: "_", count: max(0, 4 - typed.count))
        screen.put(prompt, row: row + 2, column: left, style: .input)
        screen.cursor = (row + 2, left + 2 + typed.count)
    }
}

/// The rejection dialog: a reason must be typed, Enter records it, Esc cancels.
enum RejectDialog {
    static func draw(_ state: ReviewState, step index: Int, reason: String, into screen: inout Screen) {
        guard let plan = state.open?.detail.plan, index < plan.count else { return }
        let (left, width, row) = DecisionFacts.drawBox(state, step: plan[index], title: "REJECT this step", footerRows: 2, into: &screen)
        screen.put("Reason (required; Enter rejects, Esc cancels):", row: row, column: left, maxWidth: width)
        // Show the end of a long reason, so the typing position is always visible.
        let room = width - 4
        let shown = reason.count > room ? String(reason.suffix(room - 1)) : reason
        let used = screen.put(
            "> " + (reason.count > room ? String(screen.glyphs.ellipsis) : "") + shown, row: row + 1, column: left, maxWidth: width,
            style: .input)
        screen.cursor = (row + 1, min(left + used, left + width - 1))
    }
}
