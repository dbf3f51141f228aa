/// The playbook view: title, tabs, and the selected pane.
enum PlaybookScreen {
    static func draw(_ state: ReviewState, into screen: inout Screen) {
        let path = state.openPath ?? ""
        guard let open = state.open else {
            screen.put(path, row: 1, column: 1, maxWidth: screen.size.width - 2, style: .dim)
            screen.put("Loading...", row: Layout.paneTop, column: 2, style: .dim)
            return
        }
        let used = screen.put(open.detail.entry.name, row: 1, column: 1, maxWidth: screen.size.width / 2, style: .title)
        // A plan made with typed values says so, since decisions bind to exactly those values.
        let typed = open.detail.inputs.compactMap { input in open.detail.inputValues[input.name].map { (name: input.name, value: $0) } }
        let place = typed.isEmpty ? path : "planned with " + RunRow.plannedText(typed) + "  " + path
        screen.put(place, row: 1, column: used + 3, maxWidth: screen.size.width - used - 4, style: typed.isEmpty ? .dim : .warning)
        drawTabs(state, open, into: &screen)
        switch state.pane {
        case .overview: OverviewPane.draw(state, open, into: &screen)
        case .diagnostics: DiagnosticsPane.draw(state, open, into: &screen)
        case .source: SourcePane.draw(state, open, into: &screen)
        case .plan: PlanPane.draw(state, open, into: &screen)
        case .history: HistoryPane.draw(state, open, into: &screen)
        }
    }

    /// The tab row; the current pane is bracketed as well as highlighted.
    private static func drawTabs(_ state: ReviewState, _ open: OpenPlaybook, into screen: inout Screen) {
        var column = 1
        for pane in Pane.allCases {
            var title = pane.title
            switch pane {
            case .diagnostics: title += " (\(open.diagnostics.count))"
            case .plan: title += open.detail.plan.map { " (\($0.count))" } ?? " (-)"
            case .history: title += " (\(open.detail.history.count))"
            default: break
            }
            let current = pane == state.pane
            column += screen.put(current ? "[\(title)]" : " \(title) ", row: 2, column: column, style: current ? .selected : .normal)
            column += 1
        }
    }

    /// Draws the rows of a scrolling pane, calling `drawRow` only for visible rows, marking the
    /// selection and parking the cursor on it.
    static func drawRows(
        _ state: ReviewState, pane: Pane, into screen: inout Screen, highlight: Bool = true,
        _ drawRow: (_ index: Int, _ row: Int, _ screen: inout Screen) -> Void
    ) {
        let scroll = state.paneScroll[pane] ?? Scroll()
        let count = state.rowCount(pane)
        let visible = Layout.paneRows(pane, screen.size)
        for offset in 0..<visible {
            let index = scroll.top + offset
            guard index < count else { break }
            let row = Layout.paneTop + offset
            drawRow(index, row, &screen)
            if index == scroll.selected {
                if highlight { screen.restyle(row: row, style: .selected) }
                screen.put(String(screen.glyphs.pointer), row: row, column: 0, style: .selected)
                screen.cursor = (row, 0)
            }
        }
    }
}
