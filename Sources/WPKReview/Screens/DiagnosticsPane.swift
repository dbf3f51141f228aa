/// Diagnostics: errors first, each with severity in words, line:column, code and message.
enum DiagnosticsPane {
    static func draw(_ state: ReviewState, _ open: OpenPlaybook, into screen: inout Screen) {
        if open.diagnostics.isEmpty {
            screen.put("No diagnostics: nothing was found wrong with this file.", row: Layout.paneTop, column: 2, style: .ok)
            return
        }
        PlaybookScreen.drawRows(state, pane: .diagnostics, into: &screen) { index, row, screen in
            let diagnostic = open.diagnostics[index]
            screen.put(diagnostic.severity.rawValue, row: row, column: 2, maxWidth: 8, style: Frame.style(diagnostic.severity))
            screen.put(diagnostic.mark.map { "\($0.line):\($0.column)" } ?? "-", row: row, column: 10, maxWidth: 11)
            screen.put(diagnostic.code, row: row, column: 22, maxWidth: 8, style: .dim)
            screen.put(diagnostic.message, row: row, column: 31, maxWidth: screen.size.width - 32)
        }
    }
}
