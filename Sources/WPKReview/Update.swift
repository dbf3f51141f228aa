import Foundation
import WPKCore

/// The review UI's one state transition: an event and the state before give the state after and
/// the work to do. Pure: no terminal, no files, no clock.
public func update(_ state: ReviewState, _ event: ReviewEvent) -> (ReviewState, [Effect]) {
    var state = state
    let effects = state.apply(event)
    return (state, effects)
}

extension ReviewState {
    /// Applies one event in place and returns the effects it asks for.
    mutating func apply(_ event: ReviewEvent) -> [Effect] {
        switch event {
        case .key(let key):
            return handle(key)
        case .resize(let newSize):
            size = newSize
            if let open = openRun, open.width != size.width {
                openRun = OpenRun(open.view, width: size.width, asciiOnly: options.asciiOnly)
            }
            settleAll()
            return []
        case .listLoaded(let loaded):
            setEntries(loaded)
            // Files not yet read are read in chunks between frames, so the list shows at once.
            let unread = loaded.filter { !$0.summarized }.map(\.path)
            return (runs == nil ? [.loadRuns] : [])
                + stride(from: 0, to: unread.count, by: Self.summarizeChunk).map {
                    .summarize(paths: Array(unread[$0..<min($0 + Self.summarizeChunk, unread.count)]))
                }
        case .entriesSummarized(let summarized):
            guard let current = entries else { return [] }
            let byPath = Dictionary(summarized.map { ($0.path, $0) }, uniquingKeysWith: { _, last in last })
            setEntries(current.map { byPath[$0.path] ?? $0 })
            return []
        case .detailLoaded(let detail):
            replaceEntry(detail.entry)
            guard detail.entry.path == openPath else { return [] }
            let before = open?.detail
            open = OpenPlaybook(detail)
            settleAll()
            cancelDecisionIfThePlanChanged(from: before)
            if inputsRequested, overlay == nil { return openInputForm() }
            return []
        case .detailFailed(let path, let reason):
            if path == openPath { status = StatusMessage("cannot read \(path): \(reason)", style: .error) }
            return []
        case .decisionRecorded(let decision):
            decisions.append(decision)
            status = StatusMessage("\(decision.kind.rawValue): step \(decision.step) of \(decision.playbook)", style: .ok)
            return refreshEffects()
        case .decisionRefused(let reason):
            status = StatusMessage("refused: \(reason)", style: .error)
            return []
        case .ledgerChanged:
            return refreshEffects()
        case .terminate:
            quitting = true
            return [.quit]
        case .runsLoaded(let rows):
            setRuns(rows)
            return []
        case .ledgerProblem(let problem):
            ledgerProblem = problem
            return []
        case .runLoaded(let view):
            guard view.row.id == openRunID else { return [] }
            let before = openRun?.view
            openRun = OpenRun(view, width: size.width, asciiOnly: options.asciiOnly)
            runScroll.settle(count: openRun?.lines.count ?? 0, visible: Layout.runRows(size))
            cancelRunActionIfTheRunMovedOn(from: before)
            return []
        case .runFailed(let id, let reason):
            if id == openRunID { status = StatusMessage("cannot show run \(id): \(reason)", style: .error) }
            return []
        case .tick(let date):
            now = date
            return []
        case .inputsChecked(let path, let values, let problems, let general):
            inputsChecked(path: path, values: values, problems: problems, general: general)
            return []
        }
    }

    /// A decision dialog is about the plan the operator was shown: if a reload brings another plan
    /// digest (or moves the step), the dialog closes rather than let the typed fingerprint apply
    /// to something else.
    private mutating func cancelDecisionIfThePlanChanged(from before: PlaybookDetail?) {
        let index: Int
        switch overlay {
        case .approve(let step, _), .reject(let step, _): index = step
        default: return
        }
        let now = open?.detail
        let sameStep = { (d: PlaybookDetail?) in d?.plan.flatMap { index < $0.count ? $0[index].handler : nil } }
        if before?.planDigest != now?.planDigest || sameStep(before) == nil || sameStep(before) != sameStep(now) {
            overlay = nil
            status = StatusMessage("the plan changed while you were deciding: nothing was recorded; review it again", style: .warning)
        }
    }

    /// Reloads what a ledger change can alter: the list's gate counts and the open plan's gate states.
    private func refreshEffects() -> [Effect] {
        var effects: [Effect] = [.loadList, .loadRuns]
        if let openPath { effects.append(.loadDetail(path: openPath)) }
        if let openRunID { effects.append(.loadRun(id: openRunID)) }
        return effects
    }

    private mutating func handle(_ key: Key) -> [Effect] {
        if key == .interrupt { return quit() }
        guard fitsTerminal else { return key == .character("q") ? quit() : [] }
        if let overlay { return handle(key, in: overlay) }
        if editingFilter, let effects = editFilter(key) { return effects }
        status = nil
        guard let command = Keymap.command(for: key, in: context) else { return [] }
        return run(command)
    }

    private mutating func quit() -> [Effect] {
        quitting = true
        return [.quit]
    }

    // MARK: Commands

    private mutating func run(_ command: Command) -> [Effect] {
        switch command {
        case .moveUp: move(by: -1)
        case .moveDown: move(by: 1)
        case .pageUp: move(by: -pageSize)
        case .pageDown: move(by: pageSize)
        case .top: move(by: Int.min / 2)
        case .bottom: move(by: Int.max / 2)
        case .open: return openSelection()
        case .back: goBack()
        case .nextPane, .previousPane:
            let panes = Pane.allCases
            let step = command == .nextPane ? 1 : panes.count - 1
            pane = panes[(pane.rawValue + step) % panes.count]
        case .filter: editingFilter = true
        case .help: overlay = .help(top: 0)
        case .approve, .reject:
            if context == .run { startRunAction(command == .approve ? .approve : .reject) } else { startDecision(command) }
        case .cancelRun: startRunAction(.cancel)
        case .inputs: return startInputs()
        case .runs:
            listKind = listKind == .runs ? .playbooks : .runs
            if runs == nil { return [.loadRuns] }
        case .quit: return quit()
        }
        return []
    }

    private var pageSize: Int {
        switch context {
        case .run: Layout.runRows(size)
        case .runs, .list: Layout.listRows(size)
        case .playbook: Layout.paneRows(pane, size)
        }
    }

    private mutating func move(by delta: Int) {
        if context == .run {
            runScroll.move(by: delta, count: openRun?.lines.count ?? 0, visible: Layout.runRows(size))
        } else if context == .runs {
            runsScroll.move(by: delta, count: runs?.count ?? 0, visible: Layout.listRows(size))
        } else if openPath == nil {
            listScroll.move(by: delta, count: shown.count, visible: Layout.listRows(size))
        } else {
            var scroll = paneScroll[pane] ?? Scroll()
            scroll.move(by: delta, count: rowCount(pane), visible: Layout.paneRows(pane, size))
            paneScroll[pane] = scroll
        }
    }

    private mutating func openSelection() -> [Effect] {
        if context == .runs {
            guard let run = selectedRun else { return [] }
            openRunID = run.id
            openRun = nil
            runScroll = Scroll()
            return [.loadRun(id: run.id)]
        }
        if openPath == nil {
            guard let entry = selectedEntry else { return [] }
            openPath = entry.path
            open = nil
            pane = .overview
            paneScroll = [:]
            return [.loadDetail(path: entry.path)]
        }
        if pane == .diagnostics, let open {
            let index = paneScroll[.diagnostics]?.selected ?? 0
            guard index < open.diagnostics.count else { return [] }
            guard let line = open.diagnostics[index].mark?.line else {
                status = StatusMessage("this diagnostic has no position in the file")
                return []
            }
            pane = .source
            var scroll = Scroll()
            scroll.center(on: line - 1, count: rowCount(.source), visible: Layout.paneRows(.source, size))
            paneScroll[.source] = scroll
        }
        return []
    }

    private mutating func goBack() {
        inputsRequested = false
        if openRunID != nil {
            openRunID = nil
            openRun = nil
        } else if context == .runs {
            listKind = .playbooks
        } else if openPath != nil {
            openPath = nil
            open = nil
            paneScroll = [:]
        } else if !filter.isEmpty {
            filter = ""
            refilter()
        }
    }

    private mutating func startDecision(_ command: Command) {
        let verb = command == .approve ? "approve" : "reject"
        guard openPath != nil else { return }
        if options.readOnly {
            status = StatusMessage("read-only review: \(verb) is turned off", style: .warning)
            return
        }
        guard pane == .plan else {
            status = StatusMessage("select a gated step on the Plan pane (Tab) to \(verb) it", style: .warning)
            return
        }
        guard let open, let plan = open.detail.plan, open.detail.planDigest != nil else {
            status = StatusMessage("no plan to \(verb): \(self.open?.detail.planNote ?? "still loading")", style: .warning)
            return
        }
        let index = paneScroll[.plan]?.selected ?? 0
        guard index < plan.count else { return }
        guard plan[index].gateRequired else {
            status = StatusMessage("step \(plan[index].handler) has no gate: nothing to \(verb)", style: .warning)
            return
        }
        overlay = command == .approve ? .approve(step: index, typed: "") : .reject(step: index, reason: "")
    }

    // MARK: Overlays and text input

    /// Files read per background step: small enough that a key waits at most one chunk.
    static let summarizeChunk = 32

    /// The longest reason accepted (a reason is a sentence, not a document).
    static let maxReasonLength = 500

    private mutating func handle(_ key: Key, in overlay: Overlay) -> [Effect] {
        switch overlay {
        case .help(let top):
            switch key {
            case .up, .character("k"): self.overlay = .help(top: max(0, top - 1))
            case .down, .character("j"): self.overlay = .help(top: min(top + 1, Keymap.bindings.count))
            default: self.overlay = nil
            }
            return []
        case .approve(let index, let typed):
            guard let open, let plan = open.detail.plan, index < plan.count,
                let digest = open.detail.planDigest, let fingerprint = open.detail.fingerprint
            else {
                self.overlay = nil
                return []
            }
            let expected = Array(fingerprint.prefix(4))
            if case .character(let c) = key, typed.count < expected.count,
                String(c).lowercased() == String(expected[typed.count]).lowercased()
            {
                let now = typed + String(c).lowercased()
                if now.count == expected.count {
                    self.overlay = nil
                    status = StatusMessage("recording approval of \(plan[index].handler)...")
                    return [.approve(path: open.detail.entry.path, step: plan[index].handler, planDigest: digest)]
                }
                self.overlay = .approve(step: index, typed: now)
                return []
            }
            // Any other key cancels, so a stray Enter or a wrong digit never approves.
            self.overlay = nil
            status = StatusMessage("approval cancelled: nothing was recorded", style: .warning)
            return []
        case .reject(let index, let reason):
            guard let open, let plan = open.detail.plan, index < plan.count, let digest = open.detail.planDigest else {
                self.overlay = nil
                return []
            }
            switch editReason(key, reason, verb: "reject") {
            case .cancelled:
                self.overlay = nil
                status = StatusMessage("rejection cancelled: nothing was recorded", style: .warning)
            case .edited(let text):
                self.overlay = .reject(step: index, reason: text)
            case .submitted(let trimmed):
                self.overlay = nil
                status = StatusMessage("recording rejection of \(plan[index].handler)...")
                return [.reject(path: open.detail.entry.path, step: plan[index].handler, planDigest: digest, reason: trimmed)]
            case .unchanged:
                break
            }
            return []
        case .runAction(let action, let text):
            return handleRunAction(key, action, text)
        case .inputs(let form):
            return handle(key, in: form)
        }
    }

    /// What a key does to a reason being typed.
    private enum ReasonEdit {
        case edited(String)
        case submitted(String)
        case cancelled, unchanged
    }

    /// Esc cancels, Backspace deletes, Enter submits a non-empty reason, printable characters are typed.
    private mutating func editReason(_ key: Key, _ reason: String, verb: String) -> ReasonEdit {
        switch key {
        case .escape:
            return .cancelled
        case .backspace:
            return .edited(String(reason.dropLast()))
        case .enter:
            let trimmed = reason.trimmingSpaces
            guard !trimmed.isEmpty else {
                status = StatusMessage("a reason is required to \(verb)", style: .warning)
                return .unchanged
            }
            return .submitted(trimmed)
        case .character(let c) where reason.count < Self.maxReasonLength && isTypable(c):
            status = nil
            return .edited(reason + String(c))
        default:
            return .unchanged
        }
    }

    // MARK: Runs

    /// Opens the approve, reject or cancel dialog for the open run, when that applies to it.
    private mutating func startRunAction(_ action: RunAction) {
        guard let open = openRun else { return }
        if options.readOnly {
            status = StatusMessage("read-only review: \(action.rawValue) is turned off", style: .warning)
            return
        }
        let row = open.view.row
        if action == .cancel {
            guard Self.unfinishedStates.contains(row.state) else {
                status = StatusMessage("run \(row.id) has already ended (\(row.state)): nothing to cancel", style: .warning)
                return
            }
        } else {
            if let problem = open.view.planProblem {
                status = StatusMessage("nothing can be decided: the run's plan cannot be shown (\(problem))", style: .error)
                return
            }
            guard open.view.waitingStep != nil else {
                status = StatusMessage("run \(row.id) is not waiting at a gate: nothing to \(action.rawValue)", style: .warning)
                return
            }
        }
        overlay = .runAction(action, text: "")
    }

    /// States of a run that has not ended.
    static let unfinishedStates: Set<String> = ["waiting", "running", "outcome-unknown", "abandoned"]

    private mutating func handleRunAction(_ key: Key, _ action: RunAction, _ text: String) -> [Effect] {
        guard let view = openRun?.view else {
            overlay = nil
            return []
        }
        let step = view.waitingStep?.handler ?? ""
        func effect(_ reason: String) -> Effect {
            .decideRun(
                action, run: view.row.id, step: step, playbookDigest: view.playbookDigest, planDigest: view.planDigest, reason: reason)
        }
        if action == .approve {
            let expected = Array(view.fingerprint.prefix(4))
            if case .character(let c) = key, text.count < expected.count,
                String(c).lowercased() == String(expected[text.count]).lowercased()
            {
                let now = text + String(c).lowercased()
                if now.count == expected.count {
                    overlay = nil
                    status = StatusMessage("recording approval of \(step) for run \(view.row.id)...")
                    return [effect("")]
                }
                overlay = .runAction(.approve, text: now)
                return []
            }
            overlay = nil
            status = StatusMessage("approval cancelled: nothing was recorded", style: .warning)
            return []
        }
        switch editReason(key, text, verb: action.rawValue) {
        case .cancelled:
            overlay = nil
            status = StatusMessage("\(action == .cancel ? "cancelling" : "rejection") cancelled: nothing was recorded", style: .warning)
        case .edited(let typed):
            overlay = .runAction(action, text: typed)
        case .submitted(let reason):
            overlay = nil
            status = StatusMessage(
                action == .cancel ? "cancelling run \(view.row.id)..." : "recording rejection of \(step) for run \(view.row.id)...")
            return [effect(reason)]
        case .unchanged:
            break
        }
        return []
    }

    /// A dialog is about the run as the operator saw it: if the run stopped waiting, or waits at
    /// another step or plan, an approval or rejection being typed is dropped.
    private mutating func cancelRunActionIfTheRunMovedOn(from before: RunView?) {
        guard case .runAction(let action, _) = overlay, action != .cancel else { return }
        let now = openRun?.view
        if now?.waitingStep == nil || now?.waitingStep?.handler != before?.waitingStep?.handler || now?.planDigest != before?.planDigest {
            overlay = nil
            status = StatusMessage("the run moved on while you were deciding: nothing was recorded", style: .warning)
        }
    }

    /// Waiting runs first, the longest wait first; the rest in the adapter's order. Keeps the cursor on its run.
    private mutating func setRuns(_ rows: [RunRow]) {
        let keep = selectedRun?.id
        runs = rows.enumerated().sorted { a, b in
            switch (a.element.waitingSince, b.element.waitingSince) {
            case (let x?, let y?): return x != y ? x < y : a.offset < b.offset
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.offset < b.offset
            }
        }.map(\.element)
        waitingRunCount = rows.count { $0.isWaiting }
        if let keep, let at = runs?.firstIndex(where: { $0.id == keep }) { runsScroll.selected = at }
        runsScroll.settle(count: runs?.count ?? 0, visible: Layout.listRows(size))
        if let open = openRun, let row = runs?.first(where: { $0.id == open.view.row.id }), row != open.view.row {
            var view = open.view
            view.row = row
            openRun = OpenRun(view, width: size.width, asciiOnly: options.asciiOnly)
        }
        // Someone is blocked: the first time a run is seen waiting, the Runs view comes first.
        if !runsShownFirst, rows.contains(where: \.isWaiting) {
            runsShownFirst = true
            if openPath == nil && openRunID == nil && listKind == .playbooks && !editingFilter { listKind = .runs }
        }
    }

    /// Edits the filter; nil when the key is not for the filter (movement keys still move).
    private mutating func editFilter(_ key: Key) -> [Effect]? {
        switch key {
        case .character(let c) where isTypable(c) && filter.count < 200:
            filter.append(c)
        case .backspace:
            if filter.isEmpty { editingFilter = false } else { filter.removeLast() }
        case .enter:
            editingFilter = false
        case .escape:
            editingFilter = false
            filter = ""
        default:
            return nil
        }
        refilter()
        return []
    }

    func isTypable(_ c: Character) -> Bool {
        guard let first = c.unicodeScalars.first else { return false }
        return first.value >= 0x20 && first.value != 0x7F && !(0x80...0x9F).contains(first.value)
    }

    // MARK: Data

    private mutating func setEntries(_ loaded: [PlaybookEntry]) {
        let keep = selectedEntry?.path
        // Runs waiting for an approval come first, the longest wait first: that is where someone is blocked.
        entries = loaded.enumerated().sorted { a, b in
            let wa = a.element.waitingRuns > 0
            let wb = b.element.waitingRuns > 0
            if wa != wb { return wa }
            let waitA = a.element.longestWaitSeconds ?? 0
            let waitB = b.element.longestWaitSeconds ?? 0
            return waitA != waitB ? waitA > waitB : a.offset < b.offset
        }.map(\.element)
        refilter(keeping: keep)
    }

    private mutating func replaceEntry(_ entry: PlaybookEntry) {
        guard let index = entries?.firstIndex(where: { $0.path == entry.path }) else { return }
        entries?[index] = entry
    }

    private mutating func refilter(keeping path: String? = nil) {
        let keep = path ?? selectedEntry?.path
        guard let entries else { return }
        let needle = filter.lowercased()
        shown = entries.indices.filter { i in
            needle.isEmpty || entries[i].name.lowercased().contains(needle) || entries[i].path.lowercased().contains(needle)
        }
        if let keep, let at = shown.firstIndex(where: { entries[$0].path == keep }) {
            listScroll.selected = at
        }
        listScroll.settle(count: shown.count, visible: Layout.listRows(size))
    }

    private mutating func settleAll() {
        listScroll.settle(count: shown.count, visible: Layout.listRows(size))
        runsScroll.settle(count: runs?.count ?? 0, visible: Layout.listRows(size))
        runScroll.settle(count: openRun?.lines.count ?? 0, visible: Layout.runRows(size))
        for pane in Pane.allCases {
            var scroll = paneScroll[pane] ?? Scroll()
            scroll.settle(count: rowCount(pane), visible: Layout.paneRows(pane, size))
            paneScroll[pane] = scroll
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
