import Foundation

/// Plan: one row per step (fidelity, effect, gate state), and the selected step's commands below.
enum PlanPane {
    static func draw(_ state: ReviewState, _ open: OpenPlaybook, into screen: inout Screen) {
        guard let plan = open.detail.plan else {
            screen.put("No plan.", row: Layout.paneTop, column: 2, style: .title)
            screen.put(open.detail.planNote, row: Layout.paneTop + 1, column: 2, maxWidth: screen.size.width - 4, style: .dim)
            return
        }
        if plan.isEmpty {
            screen.put("The plan has no steps.", row: Layout.paneTop, column: 2, style: .dim)
            return
        }
        PlaybookScreen.drawRows(state, pane: .plan, into: &screen) { index, row, screen in
            let step = plan[index]
            screen.put(String(step.index), row: row, column: 2, maxWidth: 6, style: .dim)
            screen.put(step.handler, row: row, column: 9, maxWidth: 24)
            screen.put(step.fidelity.rawValue, row: row, column: 34, maxWidth: 10, style: step.fidelity == .exact ? .normal : .warning)
            let effect = step.destructive ? "destructive" : step.mutating ? "mutating" : "read-only"
            screen.put(effect, row: row, column: 45, maxWidth: 12, style: step.destructive ? .danger : step.mutating ? .warning : .normal)
            let (gate, style) = gateText(step)
            screen.put(gate, row: row, column: 58, maxWidth: screen.size.width - 59, style: style)
        }
        if let step = state.selectedStep {
            drawDetail(step, fingerprint: open.detail.fingerprint, into: &screen)
        }
    }

    /// A step's gate state in words.
    static func gateText(_ step: PlanStepView) -> (String, Style) {
        switch step.gateState {
        case .notGated: return ("no gate", .dim)
        case .pending: return ("PENDING (\(step.gateApprovals) needed)", .warning)
        case .partlyApproved(let by, let have): return ("PENDING (\(have) of \(step.gateApprovals): \(by))", .warning)
        case .approved(let by, let at): return ("approved by \(by) at \(at)", .ok)
        case .rejected(let by, let reason): return ("REJECTED by \(by): \(reason)", .error)
        case .stale: return ("STALE: decided for an older plan", .warning)
        }
    }

    private static func drawDetail(_ step: PlanStepView, fingerprint: String?, into screen: inout Screen) {
        let top = Layout.statusRow(screen.size) - Layout.planDetailHeight
        screen.box(
            top: top, left: 0, height: Layout.planDetailHeight, width: screen.size.width, title: "step \(step.index): \(step.handler)")
        let inner = screen.size.width - 4
        let commandRows = Layout.planDetailHeight - 4
        var row = top + 1
        for (i, command) in step.commands.enumerated() where row < top + 1 + commandRows {
            let left = top + 1 + commandRows - row
            let lastRoom = i < step.commands.count - 1 && left == 1
            if lastRoom {
                screen.put(
                    "(\(step.commands.count - i) more commands: a or r shows them all)", row: row, column: 2, maxWidth: inner, style: .dim)
                break
            }
            row += screen.putWrapped("$ " + ShellQuote.join(command), row: row, column: 2, width: inner, maxRows: left, style: .input)
        }
        let gate = step.gateRequired ? "gate: \(step.gateApprovals) approval(s): \(step.gateReason)" : "no gate"
        screen.put(gate, row: top + Layout.planDetailHeight - 3, column: 2, maxWidth: inner)
        let facts = "fidelity \(step.fidelity.rawValue)  runtime \(step.runtime)  reach \(step.blastRadius)  plan \(fingerprint ?? "-")"
        screen.put(facts, row: top + Layout.planDetailHeight - 2, column: 2, maxWidth: inner, style: .dim)
    }
}

/// Writes an argument vector the way a POSIX shell would read it back, so what is shown is
/// exactly what runs (spaces and quotes inside arguments stay visible).
public enum ShellQuote {
    /// One argument, quoted only when needed.
    public static func quote(_ argument: String) -> String {
        if argument.isEmpty { return "''" }
        let safe = argument.unicodeScalars.allSatisfy { s in
            (s.value >= 0x30 && s.value <= 0x39) || (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
                || "-_./=:,@%+".unicodeScalars.contains(s)
        }
        return safe ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A whole argument vector.
    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}
