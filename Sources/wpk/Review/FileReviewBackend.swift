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
            // Files read before (and unchanged) come complete; the rest by name, read between frames.
            let waiting = WaitingRuns(ledgerPath: ledgerPath)
            return [.listLoaded(files.map { waiting.apply(to: cached($0)?.entry ?? stub($0)) })]
        case .summarize(let paths):
            let waiting = WaitingRuns(ledgerPath: ledgerPath)
            return [.entriesSummarized(paths.map { waiting.apply(to: load($0).entry) })]
        case .loadDetail(let path):
            var loaded = load(path)
            if let failure = loaded.readFailure { return [.detailFailed(path: path, reason: failure)] }
            loaded.entry = WaitingRuns(ledgerPath: ledgerPath).apply(to: loaded.entry)
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

    /// Files already parsed, by path, with the size and modification time they had: opening a
    /// playbook after listing it (or reloading after a ledger change) does not parse it again.
    private var cache: [String: (stamp: [Int], loaded: Loaded)] = [:]

    /// The size, modification time and inode of a file; empty for standard input or on failure.
    private func stamp(_ path: String) -> [Int] {
        var info = stat()
        guard path != "-", stat(path, &info) == 0 else { return [] }
        return [Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_ino)]
    }

    private func cached(_ path: String) -> Loaded? {
        let stamp = stamp(path)
        guard !stamp.isEmpty, let hit = cache[path], hit.stamp == stamp else { return nil }
        return hit.loaded
    }

    /// A list entry from the file name alone, until the file is read.
    private func stub(_ path: String) -> PlaybookEntry {
        PlaybookEntry(path: path, name: fileStem(path), runtime: "-", mode: "-", errors: 0, warnings: 0, pendingGates: nil, waitingRuns: 0, summarized: false)
    }

    private func load(_ path: String) -> Loaded {
        if let hit = cached(path) { return hit }
        let stamp = stamp(path)
        let loaded = parse(path)
        if !stamp.isEmpty, loaded.readFailure == nil { cache[path] = (stamp, loaded) }
        return loaded
    }

    private func parse(_ path: String) -> Loaded {
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
        let entry = PlaybookReader.entry(path: path, root: document?.root, diagnostics: diagnostics, fallbackName: fileStem(path))
        return Loaded(entry: entry, bytes: bytes, document: document, diagnostics: diagnostics)
    }

    private func detail(_ loaded: Loaded) -> PlaybookDetail {
        let planned = loaded.document.flatMap(plan(for:))
        return PlaybookDetail(
            entry: loaded.entry, overview: loaded.document.map { PlaybookReader.overview($0.root) } ?? [],
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
}
