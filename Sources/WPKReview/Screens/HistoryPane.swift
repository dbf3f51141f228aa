/// History: the ledger's records about this playbook, oldest first.
enum HistoryPane {
    static func draw(_ state: ReviewState, _ open: OpenPlaybook, into screen: inout Screen) {
        if open.detail.history.isEmpty {
            let note = open.detail.historyNote.isEmpty ? "No ledger records for this playbook yet." : open.detail.historyNote
            screen.put(note, row: Layout.paneTop, column: 2, maxWidth: screen.size.width - 4, style: .dim)
            return
        }
        PlaybookScreen.drawRows(state, pane: .history, into: &screen) { index, row, screen in
            let record = open.detail.history[index]
            screen.put(String(record.seq), row: row, column: 2, maxWidth: 7, style: .dim)
            screen.put(record.time, row: row, column: 10, maxWidth: 21)
            let style: Style = record.type == "rejected" ? .error : record.type == "approved" ? .ok : .normal
            screen.put(record.type, row: row, column: 32, maxWidth: 12, style: style)
            screen.put(record.operatorName, row: row, column: 45, maxWidth: 12)
            let rest = record.startedBy.isEmpty ? record.step + (record.reason.isEmpty ? "" : "  \"\(record.reason)\"") : record.startedBy
            screen.put(rest, row: row, column: 58, maxWidth: screen.size.width - 59)
        }
    }
}
