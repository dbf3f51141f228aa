import Foundation
import WPKCore

/// The panes of the playbook view, in Tab order.
public enum Pane: Int, CaseIterable, Sendable {
    case overview, diagnostics, source, plan, history

    /// The tab's title.
    public var title: String {
        switch self {
        case .overview: "Overview"
        case .diagnostics: "Diagnostics"
        case .source: "Source"
        case .plan: "Plan"
        case .history: "History"
        }
    }
}

/// A window over the playbook view or list that takes the keys until it closes.
public enum Overlay: Equatable, Sendable {
    case help(top: Int)
    /// Approving a step: what has been typed of the fingerprint so far.
    case approve(step: Int, typed: String)
    /// Rejecting a step: the reason typed so far.
    case reject(step: Int, reason: String)
    /// Approving (the fingerprint typed so far), rejecting or cancelling (the reason so far) the open run.
    case runAction(RunAction, text: String)
    /// Typing the open playbook's input values (`i`).
    case inputs(InputForm)
}

/// A one-line message in the status row.
public struct StatusMessage: Equatable, Sendable {
    public var text: String
    public var style: Style

    /// A message in a style.
    public init(_ text: String, style: Style = .normal) {
        self.text = text
        self.style = style
    }
}

/// How the review was started.
public struct ReviewOptions: Equatable, Sendable {
    /// Approve and reject are turned off.
    public var readOnly: Bool
    /// Only ASCII is drawn (`--ascii` or a non-UTF-8 locale).
    public var asciiOnly: Bool
    /// The personal ledger in use when no machine policy names a team ledger (single-user mode);
    /// nil when the ledger is the team's. Every screen's header says so.
    public var unmanagedLedger: String?

    /// Options as the command line gives them.
    public init(readOnly: Bool = false, asciiOnly: Bool = false, unmanagedLedger: String? = nil) {
        self.readOnly = readOnly
        self.asciiOnly = asciiOnly
        self.unmanagedLedger = unmanagedLedger
    }
}

/// A list cursor: the selected row and the first row shown.
public struct Scroll: Equatable, Sendable {
    /// The selected row.
    public var selected = 0
    /// The first row shown.
    public var top = 0

    /// A cursor at a row, scrolled to `top`.
    public init(selected: Int = 0, top: Int = 0) {
        self.selected = selected
        self.top = top
    }

    /// Moves the selection by `delta`, clamped to `count` rows, keeping it inside `visible` rows.
    mutating func move(by delta: Int, count: Int, visible: Int) {
        selected = max(0, min(count - 1, selected + delta))
        settle(count: count, visible: visible)
    }

    /// Clamps after the row count or the window size changed.
    mutating func settle(count: Int, visible: Int) {
        selected = max(0, min(selected, count - 1))
        let visible = max(1, visible)
        if selected < top { top = selected }
        if selected >= top + visible { top = selected - visible + 1 }
        top = max(0, min(top, max(0, count - visible)))
    }

    /// Selects a row and puts it in the middle of the window.
    mutating func center(on row: Int, count: Int, visible: Int) {
        selected = max(0, min(row, count - 1))
        top = selected - visible / 2
        settle(count: count, visible: visible)
    }
}

/// The playbook that is open, with what is derived once on loading so each frame is cheap.
public struct OpenPlaybook: Sendable {
    public var detail: PlaybookDetail
    public var lines: LineIndex
    /// Diagnostics, errors first, then by position.
    public var diagnostics: [Diagnostic]
    /// The worst severity on each 1-based source line.
    public var severityByLine: [Int: Diagnostic.Severity]
    /// The Overview pane's rows: a section title (label nil) or a label and value.
    public var overviewRows: [(label: String?, text: String)]

    /// Derives the sorted diagnostics, line severities and overview rows once.
    public init(_ detail: PlaybookDetail) {
        self.detail = detail
        self.lines = LineIndex(detail.source)
        self.diagnostics = detail.diagnostics.enumerated().sorted { a, b in
            if a.element.severity != b.element.severity { return a.element.severity < b.element.severity }
            let ma = a.element.mark?.offset ?? -1
            let mb = b.element.mark?.offset ?? -1
            return ma != mb ? ma < mb : a.offset < b.offset
        }.map(\.element)
        var worst: [Int: Diagnostic.Severity] = [:]
        for diagnostic in detail.diagnostics {
            guard let line = diagnostic.mark?.line else { continue }
            worst[line] = min(worst[line] ?? .info, diagnostic.severity)
        }
        self.severityByLine = worst
        var rows: [(label: String?, text: String)] = []
        for (i, section) in detail.overview.enumerated() {
            if i > 0 { rows.append((nil, "")) }
            rows.append((nil, section.title))
            for row in section.rows { rows.append((row.label, row.value)) }
        }
        self.overviewRows = rows
    }
}

/// Everything the review UI shows, as one value.
public struct ReviewState: Sendable {
    public var options: ReviewOptions
    public var size: Size
    /// All playbooks, waiting runs first; nil until the list has loaded.
    public var entries: [PlaybookEntry]?
    /// Indices into `entries` that match the filter.
    public var shown: [Int] = []
    /// The list filter (matched against names and paths, case-insensitively).
    public var filter = ""
    /// Whether keys are typed into the filter.
    public var editingFilter = false
    /// The list cursor, over `shown`.
    public var listScroll = Scroll()
    /// The path of the playbook being viewed; nil on the list.
    public var openPath: String?
    /// The loaded playbook (nil while loading).
    public var open: OpenPlaybook?
    /// The playbook view's current pane.
    public var pane: Pane = .overview
    /// Each pane's cursor.
    public var paneScroll: [Pane: Scroll] = [:]
    public var overlay: Overlay?
    public var status: StatusMessage?
    /// Decisions recorded in this session, for the exit summary.
    public var decisions: [Decision] = []
    /// Set when the session is over.
    public var quitting = false
    /// Which list shows when nothing is open.
    public var listKind: ListKind = .playbooks
    /// Runs, waiting ones first (longest wait first); nil until loaded.
    public var runs: [RunRow]?
    /// How many of `runs` wait for an approval (counted once per load, not per frame).
    public var waitingRunCount = 0
    /// The Runs view's cursor.
    public var runsScroll = Scroll()
    /// Whether the Runs view was already put first once because a run was waiting.
    public var runsShownFirst = false
    /// The id of the run whose screen is open.
    public var openRunID: String?
    /// The open run (nil while loading).
    public var openRun: OpenRun?
    /// The run screen's cursor over its lines.
    public var runScroll = Scroll()
    /// The wall clock as the runner last told it (countdowns are drawn from it).
    public var now = Date(timeIntervalSince1970: 0)
    /// Why the ledger could not be read in full at the last look (nil when it was).
    public var ledgerProblem: String?
    /// `i` was pressed on the list: the inputs form opens once the playbook has loaded.
    public var inputsRequested = false

    /// The state before anything is loaded.
    public init(options: ReviewOptions = ReviewOptions(), size: Size) {
        self.options = options
        self.size = size
    }

    /// Whether the terminal is big enough to draw the UI.
    public var fitsTerminal: Bool { size.width >= Size.minimum.width && size.height >= Size.minimum.height }

    /// The key context: a list, the playbook view or the run screen.
    public var context: KeyContext {
        if openRunID != nil { return .run }
        if openPath != nil { return .playbook }
        return listKind == .runs ? .runs : .list
    }

    /// The run under the Runs view's cursor.
    public var selectedRun: RunRow? {
        guard let runs, runsScroll.selected < runs.count else { return nil }
        return runs[runsScroll.selected]
    }

    /// Whether something on screen counts down, so the runner must tell the time every second.
    public var showsCountdown: Bool {
        if let openRun { return openRun.view.row.isWaiting }
        return openPath == nil && listKind == .runs && (runs?.contains { $0.isWaiting } ?? false)
    }

    /// When the first countdown on screen next changes its text (`RunsScreen.countdown` shows
    /// seconds below an hour, minutes above), so the runner sleeps until then instead of waking
    /// every second; nil when nothing shown will change.
    public var nextCountdownChange: Date? {
        var deadlines: [Date] = []
        if let openRun {
            if let deadline = openRun.view.row.deadline, openRun.view.row.isWaiting { deadlines.append(deadline) }
        } else if openPath == nil, listKind == .runs, let runs {
            let top = runsScroll.top
            for run in runs[min(top, runs.count)..<min(top + Layout.listRows(size), runs.count)] where run.isWaiting {
                if let deadline = run.deadline { deadlines.append(deadline) }
            }
        }
        return deadlines.compactMap { RunsScreen.nextChange(of: $0, after: now) }.min()
    }

    /// The entry under the list cursor.
    public var selectedEntry: PlaybookEntry? {
        guard let entries, listScroll.selected < shown.count else { return nil }
        return entries[shown[listScroll.selected]]
    }

    /// The plan step under the Plan pane's cursor.
    public var selectedStep: PlanStepView? {
        guard let plan = open?.detail.plan else { return nil }
        let index = paneScroll[.plan]?.selected ?? 0
        return index < plan.count ? plan[index] : nil
    }

    /// How many rows a pane has.
    public func rowCount(_ pane: Pane) -> Int {
        guard let open else { return 0 }
        switch pane {
        case .overview: return open.overviewRows.count
        case .diagnostics: return open.diagnostics.count
        case .source: return open.lines.lineCount
        case .plan: return open.detail.plan?.count ?? 0
        case .history: return open.detail.history.count
        }
    }

    /// Whether the approve and reject keys apply right now (drives the hint bar).
    public var canDecide: Bool {
        guard !options.readOnly, openPath != nil, pane == .plan, let step = selectedStep else { return false }
        return step.gateRequired && open?.detail.planDigest != nil
    }
}
