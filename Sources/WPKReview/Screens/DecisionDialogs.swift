/// The facts both decision dialogs show, so the operator decides about exactly what will run.
enum DecisionFacts {
    /// Draws a dialog box with the step's facts; returns the box and the first free row inside it.
    static func drawBox(_ state: ReviewState, step: PlanStepView, title: String, footerRows: Int,
                        into screen: inout Screen) -> (left: Int, width: Int, row: Int) {
        let detail = state.open?.detail
        let commandRows = min(step.commands.count, 4)
        let height = min(screen.size.height - 3, 9 + commandRows + footerRows)
        let width = min(screen.size.width - 4, 100)
        let left = (screen.size.width - width) / 2
        let top = max(1, (Layout.statusRow(screen.size) - height) / 2)
        for row in top..<(top + height) { screen.fill(row: row, column: left, width: width) }
        screen.box(top: top, left: left, height: height, width: width, title: title, style: .danger)
        let labelColumn = left + 2
        let valueColumn = left + 16
        let valueWidth = width - 18
        var row = top + 1
        func fact(_ label: String, _ value: String, _ style: Style = .normal) {
            screen.put(label, row: row, column: labelColumn, maxWidth: 13, style: .dim)
            screen.put(value, row: row, column: valueColumn, maxWidth: valueWidth, style: style)
            row += 1
        }
        fact("playbook", "\(detail?.entry.name ?? "") (\(detail?.entry.path ?? ""))")
        fact("step", "\(step.index) \(step.handler) (\(step.runtime))", .title)
        for (i, command) in step.commands.prefix(commandRows).enumerated() {
            fact(i == 0 ? "command" : "", "$ " + ShellQuote.join(command), .input)
        }
        if step.commands.count > commandRows { fact("", "(\(step.commands.count - commandRows) more commands: see the Plan pane)", .dim) }
        if step.commands.isEmpty { fact("command", "(none)", .dim) }
        fact("fidelity", step.fidelity.rawValue + (step.fidelity == .exact ? "" : ": what runs may differ from what is shown"),
             step.fidelity == .exact ? .normal : .warning)
        let effect = step.destructive ? "DESTRUCTIVE" : step.mutating ? "mutating" : "read-only"
        fact("blast radius", "\(effect): \(step.blastRadius)", step.destructive ? .danger : .normal)
        fact("gate", "\(step.gateApprovals) approval(s): \(step.gateReason)")
        fact("plan", detail?.fingerprint ?? "-", .title)
        return (left, width, row + 1)
    }
}

/// The approval confirmation: approved only by typing the plan fingerprint's first 4 characters.
enum ApproveDialog {
    static func draw(_ state: ReviewState, step index: Int, typed: String, into screen: inout Screen) {
        guard let plan = state.open?.detail.plan, index < plan.count else { return }
        let (left, width, row) = DecisionFacts.drawBox(state, step: plan[index], title: "APPROVE this step?", footerRows: 3, into: &screen)
        screen.put("Type the first 4 characters of the plan fingerprint to approve.", row: row, column: left + 2, maxWidth: width - 4)
        screen.put("Any other key cancels; nothing is recorded until the 4th character.", row: row + 1, column: left + 2, maxWidth: width - 4, style: .dim)
        let prompt = "> " + typed + String(repeating: "_", count: max(0, 4 - typed.count))
        screen.put(prompt, row: row + 2, column: left + 2, style: .input)
        screen.cursor = (row + 2, left + 4 + typed.count)
    }
}

/// The rejection dialog: a reason must be typed, Enter records it, Esc cancels.
enum RejectDialog {
    static func draw(_ state: ReviewState, step index: Int, reason: String, into screen: inout Screen) {
        guard let plan = state.open?.detail.plan, index < plan.count else { return }
        let (left, width, row) = DecisionFacts.drawBox(state, step: plan[index], title: "REJECT this step", footerRows: 2, into: &screen)
        screen.put("Reason (required; Enter rejects, Esc cancels):", row: row, column: left + 2, maxWidth: width - 4)
        // Show the end of a long reason, so the typing position is always visible.
        let room = width - 7
        let shown = reason.count > room ? String(reason.suffix(room - 1)) : reason
        let used = screen.put("> " + (reason.count > room ? "…" : "") + shown, row: row + 1, column: left + 2, maxWidth: width - 4, style: .input)
        screen.cursor = (row + 1, min(left + 2 + used, left + width - 2))
    }
}
