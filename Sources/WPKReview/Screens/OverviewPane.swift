/// Overview: metadata, triggers, safety and inputs, as label/value rows under section titles.
enum OverviewPane {
    static func draw(_ state: ReviewState, _ open: OpenPlaybook, into screen: inout Screen) {
        if open.overviewRows.isEmpty {
            screen.put(
                "Nothing to show: the file could not be read as a playbook (see Diagnostics).",
                row: Layout.paneTop, column: 2, maxWidth: screen.size.width - 4, style: .dim)
            return
        }
        let labelWidth = 18
        PlaybookScreen.drawRows(state, pane: .overview, into: &screen, highlight: false) { index, row, screen in
            let item = open.overviewRows[index]
            if let label = item.label {
                screen.put(label, row: row, column: 4, maxWidth: labelWidth - 1, style: .dim)
                screen.put(item.text, row: row, column: 4 + labelWidth, maxWidth: screen.size.width - 5 - labelWidth)
            } else {
                screen.put(item.text, row: row, column: 2, maxWidth: screen.size.width - 3, style: .title)
            }
        }
    }
}
