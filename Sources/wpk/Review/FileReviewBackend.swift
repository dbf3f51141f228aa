import Foundation
import WPKCore
import WPKReview

/// The review UI's backend on real files: lists and loads playbooks with the YAML loader.
///
/// What exists today: YAML diagnostics and an overview read from the document tree. The plan,
/// its gate states and the ledger history are not faked: they are empty with a note saying why,
/// and approve/reject are refused, until the planner and the ledger are merged (see `plan(for:)`,
/// `history(for:)`, `decide(_:)` and `ledgerChanged()`, the four places to fill).
final class FileReviewBackend: ReviewBackend {
    private let files: [String]
    private let standardInput: [UInt8]?
    private let ledgerPath: String?

    /// `standardInput` holds the bytes of `-` when it was among the paths (read before curses starts).
    init(files: [String], standardInput: [UInt8]?, ledgerPath: String?) {
        self.files = files
        self.standardInput = standardInput
        self.ledgerPath = ledgerPath
    }

    static let planNote = "The planner is not available yet in this build: no plan, gates or fingerprints are shown, and nothing can be approved."
    static let historyNote = "The approval ledger is not available yet in this build: no history is shown."

    func perform(_ effect: Effect) -> [ReviewEvent] {
        switch effect {
        case .loadList:
            return [.listLoaded(files.map { load($0).entry })]
        case .loadDetail(let path):
            let loaded = load(path)
            if let failure = loaded.readFailure { return [.detailFailed(path: path, reason: failure)] }
            return [.detailLoaded(detail(loaded))]
        case .approve, .reject:
            return [decide(effect)]
        case .quit:
            return []
        }
    }

    /// Polling interval for ledger changes: none until the ledger exists, so the UI sleeps in input.
    var ledgerPollInterval: Double? { nil }

    /// Whether another operator wrote to the ledger. To fill: compare the ledger file's size and
    /// modification time (or last `seq`) with the last look, every `ledgerPollInterval` seconds.
    func ledgerChanged() -> Bool { false }

    /// To fill when the ledger lands: apply the ledger's core policy and append the record,
    /// answering `.decisionRecorded` or `.decisionRefused(policy's reason)`.
    private func decide(_ effect: Effect) -> ReviewEvent {
        .decisionRefused("approvals are not available yet")
    }

    /// To fill when the planner lands: the plan's steps with gate states from the ledger, and the
    /// plan digest. Returns nil (no plan) today.
    private func plan(for document: Document) -> (steps: [PlanStepView], digest: String)? { nil }

    /// To fill when the ledger lands: this playbook's records.
    private func history(for path: String) -> [HistoryRow] { [] }

    // MARK: Loading

    /// One file read and parsed.
    struct Loaded {
        var entry: PlaybookEntry
        var bytes: [UInt8]
        var document: Document?
        var diagnostics: [Diagnostic]
        var readFailure: String?
    }

    private func load(_ path: String) -> Loaded {
        let bytes: [UInt8]
        do {
            bytes = try read(path)
        } catch {
            let diagnostic = Diagnostic(severity: .error, code: "WPK100", source: .yaml, message: "cannot read the file: \(error.localizedDescription)", mark: nil)
            let entry = PlaybookEntry(path: path, name: fileStem(path), runtime: "-", mode: "-", errors: 1, warnings: 0, pendingGates: nil, waitingRuns: 0)
            return Loaded(entry: entry, bytes: [], document: nil, diagnostics: [diagnostic], readFailure: "\(error.localizedDescription)")
        }
        var document: Document?
        var diagnostics: [Diagnostic] = []
        do {
            document = try YAMLLoader.load(bytes)
        } catch {
            diagnostics.append(Diagnostic(error))
        }
        let root = document?.root
        let name = Self.text(root, ["metadata", "name"]) ?? Self.text(root, ["name"]) ?? fileStem(path)
        let runtime = Self.text(root, ["spec", "runtime"]) ?? Self.text(root, ["runtime"]) ?? "-"
        let mode = Self.text(root, ["spec", "mode"]) ?? Self.text(root, ["mode"]) ?? "-"
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.filter { $0.severity == .warning }.count
        let entry = PlaybookEntry(path: path, name: name, runtime: runtime, mode: mode, errors: errors, warnings: warnings, pendingGates: nil, waitingRuns: 0)
        return Loaded(entry: entry, bytes: bytes, document: document, diagnostics: diagnostics)
    }

    private func detail(_ loaded: Loaded) -> PlaybookDetail {
        let planned = loaded.document.flatMap(plan(for:))
        return PlaybookDetail(
            entry: loaded.entry, overview: loaded.document.map { Self.overview($0.root) } ?? [],
            source: loaded.bytes, diagnostics: loaded.diagnostics,
            plan: planned?.steps, planDigest: planned?.digest, planNote: Self.planNote,
            history: history(for: loaded.entry.path), historyNote: Self.historyNote)
    }

    /// Reads at most the loader's size limit plus one byte, so a huge file is reported, not swallowed.
    private func read(_ path: String) throws -> [UInt8] {
        if path == "-" { return standardInput ?? [] }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: LoaderLimits.default.maxFileBytes + 1) ?? Data()
        return [UInt8](data)
    }

    private func fileStem(_ path: String) -> String {
        var name = (path as NSString).lastPathComponent
        for suffix in [".wpk.yaml", ".wpk.yml"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    // MARK: Overview from the document tree

    /// A scalar's text at a key path, or nil.
    static func text(_ node: Node?, _ keys: [String]) -> String? {
        var current = node
        for key in keys { current = current?[key] }
        return current?.scalar?.text
    }

    /// A node at `spec.<key>`, else at the top level.
    private static func section(_ root: Node, _ key: String) -> Node? {
        root["spec"]?[key] ?? root[key]
    }

    /// The Overview pane's sections: metadata, runtime, triggers, safety, inputs.
    static func overview(_ root: Node) -> [OverviewSection] {
        var sections: [OverviewSection] = []
        if let metadata = root["metadata"], let entries = metadata.mapping {
            sections.append(OverviewSection(title: "Metadata", rows: entries.map { ($0.keyText, inline($0.value)) }))
        }
        var runtime: [(label: String, value: String)] = []
        for key in ["runtime", "mode", "target", "timeout"] {
            if let node = section(root, key) { runtime.append((key, inline(node))) }
        }
        if let handlers = section(root, "handlers") {
            runtime.append(("handlers", handlers.sequence.map { "\($0.count)" } ?? handlers.mapping.map { "\($0.count)" } ?? inline(handlers)))
        }
        if !runtime.isEmpty { sections.append(OverviewSection(title: "Runtime", rows: runtime)) }
        for (key, title) in [("triggers", "Triggers"), ("safety", "Safety"), ("inputs", "Inputs")] {
            guard let node = section(root, key) else { continue }
            sections.append(OverviewSection(title: title, rows: rows(node)))
        }
        return sections
    }

    /// Rows for a section: a mapping's entries, or a sequence's items (named by `name` when they have one).
    private static func rows(_ node: Node) -> [(label: String, value: String)] {
        let limit = 500  // a section with more rows than this is summarized, not listed
        if let entries = node.mapping {
            return entries.prefix(limit).map { ($0.keyText, inline($0.value)) } + (entries.count > limit ? [("…", "\(entries.count - limit) more")] : [])
        }
        if let items = node.sequence {
            return items.prefix(limit).enumerated().map { i, item in
                (item["name"]?.scalar?.text ?? "\(i + 1)", inline(item))
            } + (items.count > limit ? [("…", "\(items.count - limit) more")] : [])
        }
        return [("", inline(node))]
    }

    /// A node written on one line, cut at a budget so a huge value costs little.
    static func inline(_ node: Node, budget: Int = 300) -> String {
        var out = ""
        var remaining = budget
        write(node, into: &out, remaining: &remaining)
        return remaining < 0 ? out + "…" : out
    }

    /// Recursion is bounded by the loader's depth limit and stops as soon as the budget is spent.
    private static func write(_ node: Node, into out: inout String, remaining: inout Int) {
        guard remaining >= 0 else { return }
        func emit(_ text: String) {
            let piece = text.prefix(max(0, remaining))
            out += piece
            remaining -= text.count
        }
        switch node.content {
        case .scalar(let scalar):
            emit(scalar.text)
        case .sequence(let items):
            emit("[")
            for (i, item) in items.enumerated() {
                if remaining < 0 { return }
                if i > 0 { emit(", ") }
                write(item, into: &out, remaining: &remaining)
            }
            emit("]")
        case .mapping(let entries):
            emit("{")
            for (i, entry) in entries.enumerated() {
                if remaining < 0 { return }
                if i > 0 { emit(", ") }
                emit(entry.keyText + ": ")
                write(entry.value, into: &out, remaining: &remaining)
            }
            emit("}")
        }
    }
}
