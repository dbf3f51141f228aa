import WPKCore

/// Draws the whole state into a grid of `state.size`; only rows that are visible are computed.
public func render(_ state: ReviewState) -> Screen {
    var screen = Screen(size: state.size, asciiOnly: state.options.asciiOnly)
    guard state.fitsTerminal else {
        TooSmallScreen.draw(into: &screen)
        return screen
    }
    Frame.drawHeader(state, into: &screen)
    switch state.context {
    case .run: RunScreen.draw(state, into: &screen)
    case .runs: RunsScreen.draw(state, into: &screen)
    case .playbook: PlaybookScreen.draw(state, into: &screen)
    case .list: ListScreen.draw(state, into: &screen)
    }
    switch state.overlay {
    case .help(let top): HelpScreen.draw(state, top: top, into: &screen)
    case .approve(let step, let typed): ApproveDialog.draw(state, step: step, typed: typed, into: &screen)
    case .reject(let step, let reason): RejectDialog.draw(state, step: step, reason: reason, into: &screen)
    case .runAction(let action, let text): RunActionDialog.draw(state, action: action, text: text, into: &screen)
    case .inputs(let form): InputFormScreen.draw(state, form: form, into: &screen)
    case nil: break
    }
    Frame.drawStatus(state, into: &screen)
    Frame.drawHints(state, into: &screen)
    return screen
}

/// The parts every screen shares: header, status line, key-hint bar.
enum Frame {
    /// Row 0: the program, the mode (REVIEW or READ-ONLY) and where the operator is.
    static func drawHeader(_ state: ReviewState, into screen: inout Screen) {
        screen.fill(row: Layout.headerRow, style: .header)
        var column = screen.put(" wpk review ", row: 0, column: 0, style: .header)
        let mode = state.options.readOnly ? " READ-ONLY " : " REVIEW "
        column += screen.put(mode, row: 0, column: column, style: state.options.readOnly ? .warning : .title)
        if state.options.unmanagedLedger != nil {
            // Single-user mode: decisions go to a personal ledger that no machine policy names.
            column += screen.put(" UNMANAGED ", row: 0, column: column + 1, style: .warning) + 1
        }
        let place: String
        if let id = state.openRunID {
            place = "  run " + id
        } else if state.context == .runs {
            place = state.runs.map { "  runs: \($0.count), \(state.waitingRunCount) waiting for approval" } ?? "  loading runs"
        } else if let path = state.openPath {
            place = "  " + (state.open?.detail.entry.name ?? path)
        } else if let entries = state.entries {
            place = "  playbooks: \(state.shown.count) of \(entries.count)" + (state.filter.isEmpty ? "" : "  filter: \(state.filter)")
        } else {
            place = "  loading playbooks"
        }
        let right = "? help "
        column += screen.put(place, row: 0, column: column, maxWidth: screen.size.width - column - right.count - 1, style: .header)
        screen.put(right, row: 0, column: screen.size.width - right.count, style: .header)
    }

    /// The status row: the filter being typed, a message, or context for the selection.
    static func drawStatus(_ state: ReviewState, into screen: inout Screen) {
        let row = Layout.statusRow(screen.size)
        if state.editingFilter {
            let used = screen.put("/", row: row, column: 0, style: .hintKey)
            let typed = screen.put(state.filter, row: row, column: used, maxWidth: screen.size.width - 2, style: .input)
            if state.overlay == nil { screen.cursor = (row, used + typed) }
            return
        }
        if let status = state.status {
            screen.put(status.text, row: row, column: 0, style: status.style)
            return
        }
        if state.context == .runs, state.overlay == nil, let problem = state.ledgerProblem, state.runs?.isEmpty == false {
            // Runs up to a damaged record are listed; the damage is said on every frame.
            screen.put(problem, row: row, column: 0, style: .error)
            return
        }
        if state.context == .runs, state.overlay == nil, let run = state.selectedRun {
            // The row cuts what does not fit; the whole id, starter and planned values are here.
            let planned = run.plannedWith.isEmpty ? "" : "  planned with " + run.plannedWith
            screen.put("\(run.id)  \(RunsScreen.whoText(run))\(planned)", row: row, column: 0, style: .dim)
            return
        }
        // The values a pending gate was planned with come first; then, below 110 columns (no
        // path column), the selected playbook's path.
        if state.context == .list, state.overlay == nil, let entry = state.selectedEntry {
            let showsPath = ListScreen.Columns(width: screen.size.width).pathWidth == 0
            if !entry.plannedWith.isEmpty {
                screen.put(
                    "pending gate planned with " + entry.plannedWith + (showsPath ? "  " + entry.path : ""), row: row, column: 0,
                    style: .dim)
                return
            }
            if showsPath {
                screen.put(entry.path, row: row, column: 0, style: .dim)
                return
            }
        }
        if state.openPath != nil, state.pane == .diagnostics, let open = state.open {
            // The row cuts long messages; the whole selected message (and its pointer) is here.
            let index = state.paneScroll[.diagnostics]?.selected ?? 0
            if index < open.diagnostics.count {
                let diagnostic = open.diagnostics[index]
                let pointer = diagnostic.pointer.isEmpty ? "" : " at \(diagnostic.pointer)"
                screen.put("\(diagnostic.message)\(pointer)", row: row, column: 0, style: style(diagnostic.severity))
            }
            return
        }
        if state.openPath != nil, state.pane == .history, let open = state.open {
            let index = state.paneScroll[.history]?.selected ?? 0
            if index < open.detail.history.count, !open.detail.history[index].reason.isEmpty {
                screen.put("reason: \(open.detail.history[index].reason)", row: row, column: 0)
            }
            return
        }
        if state.openPath != nil, state.pane == .source, let open = state.open {
            let line = (state.paneScroll[.source]?.selected ?? 0) + 1
            if let diagnostic = open.diagnostics.first(where: { $0.mark?.line == line }) {
                screen.put(
                    "\(line): \(diagnostic.severity.rawValue): \(diagnostic.message) [\(diagnostic.code)]",
                    row: row, column: 0, style: style(diagnostic.severity))
            }
        }
    }

    /// The last row: the keys that work here, most important first kept when space runs out.
    static func drawHints(_ state: ReviewState, into screen: inout Screen) {
        let row = Layout.hintRow(screen.size)
        let hints = hintList(state)
        // Choose by priority, then draw in table order, so dropping never runs hints together.
        var chosen = Set<Int>()
        var used = 0
        for (i, hint) in hints.enumerated().sorted(by: { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }) {
            let width = hint.keys.count + 1 + hint.text.count + (chosen.isEmpty ? 0 : 2)
            if used + width <= screen.size.width - 1 {
                chosen.insert(i)
                used += width
            }
        }
        var column = 0
        for (i, hint) in hints.enumerated() where chosen.contains(i) {
            if column > 0 { column += 2 }
            column += screen.put(hint.keys, row: row, column: column, style: .hintKey)
            column += 1
            column += screen.put(hint.text, row: row, column: column, style: .hint)
        }
    }

    /// The hints that apply to the current state.
    static func hintList(_ state: ReviewState) -> [(keys: String, text: String, priority: Int)] {
        let ascii = state.options.asciiOnly
        switch state.overlay {
        case .help: return [("Esc", "close help", 0), (ascii ? "Up/Dn" : "↑↓", "scroll", 1)]
        case .approve: return [("type", "the fingerprint's first 4 characters to approve", 0), ("other keys", "cancel", 0)]
        case .reject: return [("Enter", "reject with this reason", 0), ("Esc", "cancel", 0), ("Bksp", "delete", 1)]
        case .runAction(.approve, _): return [("type", "the fingerprint's first 4 characters to approve", 0), ("other keys", "cancel", 0)]
        case .runAction(let action, _):
            return [
                ("Enter", action == .cancel ? "cancel the run with this reason" : "reject with this reason", 0), ("Esc", "keep it", 0),
                ("Bksp", "delete", 1),
            ]
        case .inputs:
            return [
                ("type", "a value", 0), ("Enter", "plan with these values", 0), ("Esc", "cancel", 0),
                (ascii ? "Up/Dn" : "↑↓", "field", 1), ("Bksp", "delete", 2),
            ]
        case nil: break
        }
        if state.editingFilter {
            return [("Enter", "keep filter", 0), ("Esc", "clear", 0), (ascii ? "Up/Dn" : "↑↓", "move", 1)]
        }
        var hints: [(String, String, Int)] = []
        for binding in Keymap.bindings where binding.contexts.contains(state.context) {
            guard let hint = binding.hint, applies(binding.command, state) else { continue }
            let keys = binding.hintLabel.map { ascii ? $0.ascii : $0.unicode } ?? (ascii ? binding.asciiLabel : binding.label)
            var text = hint
            if binding.command == .open, state.openPath != nil { text = "show source line" }
            if binding.command == .back, state.context == .list { text = "clear filter" }
            if binding.command == .runs, state.context == .runs { text = "playbooks" }
            hints.append((keys.components(separatedBy: " ").first ?? keys, text, binding.hintPriority))
        }
        return hints
    }

    private static func applies(_ command: Command, _ state: ReviewState) -> Bool {
        switch command {
        case .open:
            if state.context == .runs { return state.selectedRun != nil }
            return state.openPath == nil ? state.selectedEntry != nil : state.pane == .diagnostics && state.rowCount(.diagnostics) > 0
        case .back: return state.openPath != nil || state.context != .list || !state.filter.isEmpty
        case .approve, .reject:
            if state.context == .run { return !state.options.readOnly && state.openRun?.view.waitingStep != nil }
            return state.canDecide
        case .cancelRun:
            return !state.options.readOnly && state.openRun.map { ReviewState.unfinishedStates.contains($0.view.row.state) } == true
        case .inputs:
            return state.openPath == nil ? state.selectedEntry != nil : state.open?.detail.inputs.isEmpty == false
        default: return true
        }
    }

    /// The style of a severity.
    static func style(_ severity: WPKSeverity) -> Style {
        switch severity {
        case .error: .error
        case .warning: .warning
        case .info: .info
        }
    }
}

/// The diagnostic severity type, named once for the screens.
typealias WPKSeverity = Diagnostic.Severity
