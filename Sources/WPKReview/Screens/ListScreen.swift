/// The playbook list: name, runtime, mode, validity and signature in words, gates pending, path.
enum ListScreen {
    /// Column positions for a width.
    struct Columns {
        let name, runtime, mode, validity, signature, gates, path: Int
        let nameWidth, validityWidth, signatureWidth, gatesWidth, pathWidth: Int

        init(width: Int) {
            validityWidth = 20
            signatureWidth = 5
            gatesWidth = 12
            let fixed = 2 + 8 + 8 + validityWidth + signatureWidth + gatesWidth
            // Below 110 columns the path moves to the status line, so names keep their room.
            let showPath = width >= 110
            nameWidth = showPath ? max(20, (width - fixed) * 45 / 100) : width - fixed
            name = 2
            runtime = name + nameWidth
            mode = runtime + 8
            validity = mode + 8
            signature = validity + validityWidth
            gates = signature + signatureWidth
            path = gates + gatesWidth
            pathWidth = showPath ? max(0, width - path) : 0
        }
    }

    static func draw(_ state: ReviewState, into screen: inout Screen) {
        let columns = Columns(width: screen.size.width)
        let titles: [(String, Int, Int)] = [
            ("NAME", columns.name, columns.nameWidth), ("RUNTIME", columns.runtime, 8), ("MODE", columns.mode, 8),
            ("VALIDITY", columns.validity, columns.validityWidth), ("SIG", columns.signature, columns.signatureWidth),
            ("GATES", columns.gates, columns.gatesWidth),
            ("PATH", columns.path, columns.pathWidth),
        ]
        for (title, column, width) in titles where width > 0 {
            screen.put(title, row: 1, column: column, maxWidth: width - 1, style: .title)
        }
        guard let entries = state.entries else {
            screen.put("Loading playbooks...", row: Layout.listTop, column: 2, style: .dim)
            return
        }
        if state.shown.isEmpty {
            let message =
                entries.isEmpty
                ? "No playbooks found (*.wpk.yaml, *.wpk.yml). Name files or directories: wpk review PATH..."
                : "No playbook matches the filter \"\(state.filter)\". Esc clears it."
            screen.put(message, row: Layout.listTop, column: 2, maxWidth: screen.size.width - 4, style: .dim)
            return
        }
        let visible = Layout.listRows(screen.size)
        let top = state.listScroll.top
        for offset in 0..<visible {
            let index = top + offset
            guard index < state.shown.count else { break }
            let entry = entries[state.shown[index]]
            let row = Layout.listTop + offset
            let selected = index == state.listScroll.selected
            drawRow(entry, row: row, columns: columns, into: &screen)
            if selected {
                screen.restyle(row: row, style: .selected)
                screen.put(String(screen.glyphs.pointer), row: row, column: 0, style: .selected)
                screen.cursor = (row, 0)
            }
        }
    }

    private static func drawRow(_ entry: PlaybookEntry, row: Int, columns: Columns, into screen: inout Screen) {
        screen.put(entry.name, row: row, column: columns.name, maxWidth: columns.nameWidth - 1)
        screen.put(entry.runtime, row: row, column: columns.runtime, maxWidth: 7)
        screen.put(entry.mode, row: row, column: columns.mode, maxWidth: 7, style: entry.mode == "auto" ? .warning : .normal)
        let (validity, validityStyle) = validityText(entry)
        screen.put(validity, row: row, column: columns.validity, maxWidth: columns.validityWidth - 1, style: validityStyle)
        let (signature, signatureStyle) = signatureMark(entry)
        screen.put(signature, row: row, column: columns.signature, maxWidth: columns.signatureWidth - 1, style: signatureStyle)
        let (gates, gatesStyle) = gatesText(entry)
        screen.put(gates, row: row, column: columns.gates, maxWidth: columns.gatesWidth - 1, style: gatesStyle)
        if columns.pathWidth > 0 { screen.put(entry.path, row: row, column: columns.path, maxWidth: columns.pathWidth, style: .dim) }
    }

    /// Validity in words, so it reads the same without colour.
    static func validityText(_ entry: PlaybookEntry) -> (String, Style) {
        if !entry.summarized { return ("reading...", .dim) }
        let errors = entry.errors == 1 ? "1 error" : "\(entry.errors) errors"
        let warnings = entry.warnings == 1 ? "1 warning" : "\(entry.warnings) warnings"
        if entry.errors > 0 { return (entry.warnings > 0 ? "\(errors), \(warnings)" : "invalid: \(errors)", .error) }
        if entry.warnings > 0 { return ("valid, \(warnings)", .warning) }
        return ("valid", .ok)
    }

    /// The signature at a glance, readable without colour: `ok` verified by a trusted key, `BAD`
    /// (missing, unreadable, malformed, not verifying, untrusted), `?` not checked, `-` unsigned
    /// or not known yet. Unsigned or unchecked where the policy requires signatures is `BAD`.
    static func signatureMark(_ entry: PlaybookEntry) -> (String, Style) {
        guard let check = entry.signature else { return ("-", .dim) }
        switch PlaybookReader.signatureWord(check).verdict {
        case .good: return ("ok", .ok)
        case .bad: return ("BAD", .error)
        case .neutral: return (check.state == .notChecked ? "?" : "-", .dim)
        }
    }

    /// Runs waiting for approval with the longest wait (`waiting 3m`, `2 wait 1h`), gated steps
    /// pending, or a dash when not known. At most 11 columns.
    static func gatesText(_ entry: PlaybookEntry) -> (String, Style) {
        if entry.waitingRuns > 0 {
            let wait = entry.longestWaitSeconds.map { " " + shortDuration($0) } ?? ""
            return (entry.waitingRuns == 1 ? "waiting\(wait)" : "\(min(entry.waitingRuns, 99)) wait\(wait)", .danger)
        }
        guard let pending = entry.pendingGates else { return ("-", .dim) }
        return pending == 0 ? ("none", .normal) : ("\(pending) pending", .warning)
    }

    /// `45s`, `3m`, `2h`, `4d`: the largest whole unit, so the column stays narrow.
    static func shortDuration(_ seconds: Int) -> String {
        switch max(0, seconds) {
        case ..<60: "\(max(0, seconds))s"
        case ..<3600: "\(seconds / 60)m"
        case ..<86_400: "\(seconds / 3600)h"
        default: "\(min(seconds / 86_400, 999))d"
        }
    }
}
