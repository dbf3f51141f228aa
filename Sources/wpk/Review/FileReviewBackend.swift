import Foundation
import WPKCore
import WPKReview

/// The review UI's backend on real files: each playbook is checked (YAML, schema, rules) and
/// planned exactly as `wpk plan` would, gate states and history come from the approval ledger, and
/// decisions go through the one approval policy (`Ledger.recordDecision`), bound to the plan digest
/// the screen showed.
final class FileReviewBackend: ReviewBackend {
    private let files: [String]
    private let standardInput: [UInt8]?
    private let ledger: any LedgerBackend
    private let checker: PlaybookChecker
    /// `--set`/`--values` given to `wpk review`; each playbook takes the ones it declares.
    private let inputs: [String: String]
    /// Values typed in the inputs form, by playbook path: that playbook is planned with these
    /// (instead of `inputs`) from then on, and decisions bind to that plan.
    private var typedInputs: [String: [String: String]] = [:]
    /// `--key` of `wpk review`.
    var signing = SigningOptions()
    /// Runs its argument with the terminal handed back to the shell (curses suspended), so
    /// ssh-keygen can ask for a passphrase; set once the terminal exists.
    var handOverTerminal: (() -> Void) -> Void = { $0() }

    /// Where the folded ledger is kept between sessions, so a long ledger is not folded again.
    private let snapshots: LedgerSnapshotStore?

    /// `standardInput` holds the bytes of `-` when it was among the paths (read before curses starts).
    init(
        files: [String], standardInput: [UInt8]?, ledger: any LedgerBackend, checker: PlaybookChecker, inputs: [String: String],
        snapshots: LedgerSnapshotStore?
    ) {
        self.files = files
        self.standardInput = standardInput
        self.ledger = ledger
        self.checker = checker
        self.inputs = inputs
        self.snapshots = snapshots
        // The watch first, so a change while the first reading runs wakes the loop afterwards.
        self.watch = ledger.makeChangeWatch()
        self.firstReading = PendingLedgerReading(ledger, snapshots: snapshots)
    }

    /// The first reading of the ledger, begun when the backend is made: a long ledger is read
    /// (on from the snapshot an earlier session kept) while the terminal is set up and the
    /// playbook list drawn.
    private var firstReading: PendingLedgerReading?
    /// After a start from a snapshot, the reading of the whole chain (taken once it is done, or
    /// waited for when a screen needs every record first).
    private var wholeReading: PendingLedgerReading?
    private var wholeReadingDue = false

    /// Wakes the UI when the ledger changes, so it follows runs without polling.
    private let watch: any LedgerChangeWatch

    /// The inotify watch's descriptor, for the terminal to wait on beside the keyboard.
    var wakeDescriptor: Int32? { watch.descriptor }

    func perform(_ effect: Effect) -> [ReviewEvent] {
        // The effect after the one that took the first reading: its frame is drawn (refreshLedger).
        if wholeReadingDue, firstReading == nil {
            wholeReadingDue = false
            wholeReading = PendingLedgerReading(ledger, snapshots: nil)
        }
        switch effect {
        case .loadList:
            // Files read before (and unchanged) come complete; the rest by name, read between
            // frames. The ledger is read only for entries read before: the first list is drawn
            // before the ledger (which can take a second) is looked at.
            let known = files.map { cached($0) }
            if known.contains(where: { $0 != nil }) { refreshLedger() }
            return [.listLoaded(zip(files, known).map { path, loaded in loaded.map(entry) ?? stub(path) })]
        case .summarize(let paths):
            return [.entriesSummarized(paths.map { entry(load($0)) })]
        case .loadDetail(let path):
            refreshLedger(needingEveryRecord: true)
            let loaded = load(path)
            if let failure = loaded.readFailure { return [.detailFailed(path: path, reason: failure)] }
            return [.detailLoaded(detail(loaded))]
        case .approve(let path, let step, let planDigest):
            return [decide(.approve, path: path, step: step, planDigest: planDigest)]
        case .reject(let path, let step, let planDigest, let reason):
            return [decide(.reject(reason: reason), path: path, step: step, planDigest: planDigest)]
        case .loadRuns:
            refreshLedger()
            return [.runsLoaded(runRows()), .ledgerProblem(ledgerProblem)]
        case .loadRun(let id):
            refreshLedger(needingEveryRecord: true)
            let now = Date()
            guard let detail = RunDetail.load(run: id, records: ledgerRecords, state: ledgerState, artifacts: ledger.artifacts, now: now)
            else {
                return [.runFailed(id: id, reason: ledgerProblem ?? "no such run in \(ledger.location)")]
            }
            return [.runLoaded(RunView(detail, now: now))]
        case .decideRun(let action, let run, let step, let playbookDigest, let planDigest, let reason):
            return [decideRun(action, run: run, step: step, playbookDigest: playbookDigest, planDigest: planDigest, reason: reason)]
        case .checkInputs(let path, let values):
            return [checkInputs(path: path, values: values)]
        case .planWithInputs(let path, let values):
            typedInputs[path] = values
            cache[path] = nil
            refreshLedger(needingEveryRecord: true)
            let loaded = load(path)
            if let failure = loaded.readFailure { return [.detailFailed(path: path, reason: failure)] }
            return [.detailLoaded(detail(loaded))]
        case .quit:
            return []
        }
    }

    // MARK: Inputs

    /// Typed values checked by the planner's own rules against the file as it is now.
    private func checkInputs(path: String, values: [String: String]) -> ReviewEvent {
        let loaded = load(path)
        guard let document = loaded.document, loaded.isValidFile else {
            return .inputsChecked(
                path: path, values: values, problems: [:],
                general: ["the playbook has errors (see Diagnostics): it cannot be planned with any values"])
        }
        let check = InputCheck.check(
            document, path: path, digest: ContentDigest.sha256(loaded.bytes), inputs: values, signature: loaded.entry.signature)
        return .inputsChecked(path: path, values: values, problems: check.problems, general: check.general)
    }

    // MARK: Runs

    /// Stored plans already verified, by plan digest (content-addressed: they never change).
    private var recordedPlans: [String: RecordedPlan] = [:]

    /// Every run, with the values waiting runs were planned with.
    private func runRows() -> [RunRow] {
        let now = Date()
        return ledgerState.runOverview(at: now).map { overview in
            var wait: RunDetail.Wait?
            var inputs: [(name: String, value: String)] = []
            if case .waiting(let step, let since, let deadline) = overview.status, let playbook = overview.history.playbookDigest,
                let planDigest = overview.history.planDigest
            {
                let gate = ledgerState.gates[GateKey(playbookDigest: playbook, planDigest: planDigest, step: step)]
                wait = RunDetail.Wait(
                    step: step, since: since, deadline: deadline,
                    approvalsRequired: gate?.waiting.last { $0.run == overview.history.id }?.approvalsRequired ?? gate?.approvalsRequired
                        ?? 1,
                    approvers: gate?.liveApprovers(at: now).map(\.name) ?? [])
                inputs = recordedPlan(planDigest)?.inputs ?? []
            }
            return RunRow(overview, wait: wait, inputs: inputs, now: now)
        }
    }

    private func recordedPlan(_ digest: String) -> RecordedPlan? {
        if let known = recordedPlans[digest] { return known }
        guard case .success(let plan) = ledger.artifacts.plan(digest: digest) else { return nil }
        recordedPlans[digest] = plan
        return plan
    }

    /// Approves or rejects the step a run waits at, or cancels the run, through the core's one
    /// policy; the decision binds the run, the playbook digest and the plan digest shown.
    private func decideRun(_ action: RunAction, run: String, step: String, playbookDigest: String, planDigest: String, reason: String)
        -> ReviewEvent
    {
        let now = Date()
        refreshLedger()
        let playbook = ledgerState.runs[run]?.playbook ?? "?"
        do {
            if action == .cancel {
                switch try ledger.recordCancellation(run: run, reason: reason, operator: Operator.current(), now: now) {
                case .unknown: return .decisionRefused("no run \(run) in the ledger")
                case .ended(let outcome): return .decisionRefused("run \(run) has already ended (\(outcome))")
                case .cancelled:
                    ledgerStale = true
                    refreshLedger()
                    return .decisionRecorded(
                        Decision(
                            kind: .cancelled, playbook: playbook, path: "run \(run)", step: step, planDigest: planDigest, reason: reason))
                }
            }
            guard let subject = ledgerState.waitingSubject(run: run, step: step) else {
                return .decisionRefused("run \(run) is not waiting at step \(step) any more")
            }
            let verdict: Verdict = action == .approve ? .approve : .reject(reason: reason)
            // Signed as a playbook decision is, where the policy asks for signatures.
            let policy = MachinePolicy.load()
            let signer = try signerFor(policy)
            let outcome = try ledger.recordDecision(
                verdict, subject: subject, planPrefix: planDigest, shownPlaybookDigest: playbookDigest,
                policy: policy, operator: Operator.current(), now: now,
                signer: signer.map { TerminalHandingSigner(inner: $0, handOver: handOverTerminal) })
            ledgerStale = true
            refreshLedger()
            switch outcome {
            case .recorded:
                return .decisionRecorded(
                    Decision(
                        kind: action == .approve ? .approved : .rejected, playbook: playbook, path: "run \(run)",
                        step: step, planDigest: planDigest, reason: reason))
            case .refused(let refusal):
                return .decisionRefused(refusal.description)
            }
        } catch {
            return .decisionRefused(String(describing: error))
        }
    }

    // MARK: Ledger

    /// What the ledger held at the last look (folded incrementally), and how many looks there were.
    private var followed = LedgerFollower()
    private var ledgerState: LedgerState { followed.state }
    private var ledgerRecords: [LedgerRecord] { followed.records }
    private var ledgerReadings = 0
    /// Whether the ledger may have changed since it was last read (nothing read yet, or the watch woke).
    private var ledgerStale = true
    private var ledgerProblem: String?

    /// While changes are not noticed as they happen (no inotify, the database connection down),
    /// the ledger is looked at every 2 s for other operators' decisions.
    var ledgerPollInterval: Double? { watch.isLive ? nil : 2 }

    func ledgerChanged() -> Bool {
        guard watch.changed() else { return false }
        ledgerStale = true
        return true
    }

    /// What list entries need from the ledger, by playbook digest: how long each waiting run has
    /// waited, and the plan digest of the newest gate still pending (live approvals not used by a
    /// run, or a run waiting). Built once per ledger reading and second, not once per playbook.
    private var ledgerIndexCache: (key: [Int], waits: [String: [Int]], pendingPlans: [String: String])?

    private func ledgerIndex() -> (waits: [String: [Int]], pendingPlans: [String: String]) {
        let now = Date()
        let key = [ledgerReadings, ledgerState.recordCount, Int(now.timeIntervalSince1970)]
        if let cached = ledgerIndexCache, cached.key == key { return (cached.waits, cached.pendingPlans) }
        var waits: [String: [Int]] = [:]
        for overview in ledgerState.runOverview(at: now) {
            guard let digest = overview.history.playbookDigest, let waited = overview.waitedSeconds(at: now) else { continue }
            waits[digest, default: []].append(waited)
        }
        var newest: [String: (plan: String, seq: Int)] = [:]
        for gate in ledgerState.gates.values where !ledgerState.isStale(gate) {
            let pending = !gate.liveApprovers(at: now).isEmpty || gate.waiting.contains { ledgerState.isWaiting(run: $0.run, at: gate) }
            guard pending, (newest[gate.key.playbookDigest]?.seq ?? 0) < gate.lastSeq else { continue }
            newest[gate.key.playbookDigest] = (gate.key.planDigest, gate.lastSeq)
        }
        let pendingPlans = newest.mapValues(\.plan)
        ledgerIndexCache = (key, waits, pendingPlans)
        return (waits, pendingPlans)
    }

    /// The seq of the snapshot kept last (or found at the start).
    private var snapshotSeq: Int?
    /// How many records past the kept snapshot make keeping a new one worth its writing.
    private static let snapshotInterval = 1_000

    /// Reads the ledger again when it changed (on from the last checkpoint, where the backend
    /// keeps them). Only the loop's wake-up (`ledgerChanged`) consumes the watch: were a background
    /// load to consume a change, the screens loaded before it in the same refresh would keep the
    /// older reading and nothing would wake them again. Screens that show records (a playbook's
    /// history, a run's steps) need every record, which a start from a snapshot does not hold yet.
    private func refreshLedger(needingEveryRecord: Bool = false) {
        if let pending = firstReading {
            firstReading = nil
            let first = pending.result()
            followed = first.follower
            snapshotSeq = first.snapshotSeq
            ledgerStale = false
            ledgerReadings += 1
            took(first.reading)
            // Started from a snapshot: the whole chain is read in the background, for the screens
            // that show records and so that everything is verified once more, once the frame this
            // reading feeds is drawn (the next effect), not competing with it.
            wholeReadingDue = !followed.hasEveryRecord
        }
        // A screen that needs every record before the background reading began reads them below.
        if needingEveryRecord { wholeReadingDue = false }
        if let pending = wholeReading, needingEveryRecord || pending.isFinished {
            wholeReading = nil
            let whole = pending.result()
            followed = whole.follower
            // Read on from it at once: another reading may have followed the ledger further meanwhile.
            ledgerStale = true
            took(whole.reading)
        }
        guard ledgerStale || (needingEveryRecord && !followed.hasEveryRecord) else { return }
        ledgerStale = false
        ledgerReadings += 1
        took(Result { () throws(LedgerError) in try followed.read(ledger, wholeChain: needingEveryRecord && !followed.hasEveryRecord) })
    }

    /// Notes what a reading found, and keeps a snapshot when the ledger grew enough.
    private func took(_ reading: Result<LedgerReading, LedgerError>) {
        switch reading {
        case .success(let reading):
            ledgerProblem = reading.fault.map { "the ledger is damaged after record \(followed.state.recordCount): \($0)" }
        case .failure(let error):
            followed = LedgerFollower()
            ledgerProblem = "cannot read the ledger \(ledger.location): \(error)"
        }
        keepSnapshot()
    }

    /// Saves the folded ledger for the next session once it has grown past the last snapshot.
    private func keepSnapshot() {
        guard let snapshots, let snapshot = followed.snapshot,
            snapshot.checkpoint.seq >= (snapshotSeq ?? 0) + Self.snapshotInterval
        else { return }
        if snapshots.save(snapshot, ledgerPath: ledger.location) { snapshotSeq = snapshot.checkpoint.seq }
    }

    /// Records a decision through the one approval policy, for the plan digest the screen showed.
    private func decide(_ verdict: Verdict, path: String, step: String, planDigest: String) -> ReviewEvent {
        let loaded = load(path)
        guard let plan = loaded.plan, let planned = plan.step(named: step) else {
            return .decisionRefused("there is no current plan with a step \(step)")
        }
        let outcome: DecisionOutcome
        let policy = MachinePolicy.load()
        let signer: (any RecordSigner)?
        do {
            signer = try signerFor(policy)
        } catch {
            return .decisionRefused(String(describing: error))
        }
        do {
            // The plan, with the input values it was made with, is stored under its digest before
            // the decision names that digest: a decision binds to those values, and lists show them.
            try ledger.artifacts.store(plan)
            outcome = try ledger.recordDecision(
                verdict, subject: GateSubject(plan: plan, step: planned), planPrefix: planDigest,
                shownPlaybookDigest: plan.playbook.digest,
                policy: policy,
                operator: Operator.current(), now: Date(),
                signer: signer.map { TerminalHandingSigner(inner: $0, handOver: handOverTerminal) })
        } catch {
            return .decisionRefused(String(describing: error))
        }
        ledgerStale = true
        refreshLedger()
        switch outcome {
        case .recorded:
            let reason: String
            if case .reject(let text) = verdict { reason = text } else { reason = "" }
            return .decisionRecorded(
                Decision(
                    kind: verdict == .approve ? .approved : .rejected, playbook: plan.playbook.name,
                    path: path, step: step, planDigest: plan.planDigest, reason: reason))
        case .refused(let refusal):
            return .decisionRefused(refusal.description)
        }
    }

    /// The operator's signer for `policy` (see `SigningOptions`), found without printing: the
    /// screen is curses'.
    private func signerFor(_ policy: MachinePolicyStatus) throws -> (any RecordSigner)? {
        guard case .loaded(let machine) = policy else { return nil }
        var signers: AllowedSigners?
        if let path = machine.allowedSigners { signers = try AllowedSigners.load(path: path) }
        return try SSHSigner.find(
            explicitKey: signing.key, signers: signers, accountName: Operator.current().name,
            environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory(), now: Date())
    }

    /// Where each gated step of the plan stands in the ledger.
    private func gateState(_ plan: Plan, _ step: PlanStep) -> GateState {
        guard step.gate.required else { return .notGated }
        let key = GateKey(playbookDigest: plan.playbook.digest, planDigest: plan.planDigest, step: step.handler)
        guard let standing = ledgerState.standing(of: key, playbook: plan.playbook.name, at: Date()) else { return .pending }
        switch standing.status {
        case .rejected:
            let rejection = ledgerState.rejection(of: standing.gate)
            return .rejected(by: rejection?.rejecter.name ?? "?", reason: rejection?.reason ?? "")
        case .approved, .consumed:
            let last = standing.gate.approvals.last
            let names = standing.liveApprovers.isEmpty ? (last.map { [$0.approver.name] } ?? []) : standing.liveApprovers.map(\.name)
            return .approved(by: names.joined(separator: ", "), at: last.map { RFC3339.format($0.time) } ?? "")
        case .stale:
            return .stale
        case .pending where !standing.liveApprovers.isEmpty:
            return .partlyApproved(by: standing.liveApprovers.map(\.name).joined(separator: ", "), have: standing.liveApprovers.count)
        case .pending, .expired, .closed:
            return .pending
        }
    }

    /// This playbook's ledger records (any version of it), newest last.
    private func history(for plan: Plan?, name: String) -> [HistoryRow] {
        ledgerRecords.filter { record in
            record.draft.playbook == name || (plan != nil && record.draft.playbookDigest == plan?.playbook.digest)
        }.map { record in
            HistoryRow(
                seq: record.seq, time: RFC3339.format(record.time), type: record.draft.type.name,
                operatorName: record.operatorName, step: record.draft.step ?? "", reason: record.draft.reason ?? "",
                startedBy: record.draft.startedBy?.summary ?? "")
        }
    }

    // MARK: Loading

    /// One file read and parsed.
    struct Loaded {
        var entry: PlaybookEntry
        var bytes: [UInt8]
        var document: Document?
        var diagnostics: [Diagnostic]
        var readFailure: String?
        /// The plan `wpk plan` would show with the review's inputs; nil when there is none.
        var plan: Plan?
        /// Why there is no plan.
        var planNote = ""

        /// Whether the file itself passed its checks (its only errors, if any, are the plan's: inputs, substitution).
        var isValidFile: Bool { document != nil && !diagnostics.contains { $0.severity == .error && PlanCode(rawValue: $0.code) == nil } }
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
        PlaybookEntry(
            path: path, name: fileStem(path), runtime: "-", mode: "-", errors: 0, warnings: 0, pendingGates: nil, waitingRuns: 0,
            summarized: false)
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
            let diagnostic = Diagnostic(
                severity: .error, code: "WPK100", source: .yaml, message: "cannot read the file: \(error.localizedDescription)", mark: nil)
            let entry = PlaybookEntry(
                path: path, name: fileStem(path), runtime: "-", mode: "-", errors: 1, warnings: 0, pendingGates: nil, waitingRuns: 0)
            return Loaded(entry: entry, bytes: [], document: nil, diagnostics: [diagnostic], readFailure: "\(error.localizedDescription)")
        }
        let document = try? SourceDocument.load(bytes, path: path, limits: checker.limits)
        let declared = Set(document.map { Playbook(root: $0.root).inputs.map(\.name.value) } ?? [])
        let given = typedInputs[path] ?? inputs.filter { declared.contains($0.key) }
        let outcome = Planner.plan(bytes: bytes, path: path, inputs: given, checker: checker)
        var loaded = Loaded(entry: stub(path), bytes: bytes, document: document, diagnostics: outcome.report.diagnostics)
        loaded.entry = PlaybookReader.entry(
            path: path, root: document?.root, diagnostics: loaded.diagnostics, fallbackName: fileStem(path),
            signature: outcome.report.signature)
        switch outcome {
        case .planned(let plan, _):
            loaded.plan = plan
        case .invalid(let report):
            let missing = report.diagnostics.filter { $0.code == "WPK401" }
            loaded.planNote =
                missing.isEmpty
                ? "No plan: the playbook has errors (see Diagnostics)."
                : "No plan: required inputs are missing; press i to type them (or start wpk review with --set NAME=VALUE)."
        }
        return loaded
    }

    /// The list entry with the ledger's view: gated steps still pending, runs waiting.
    private func entry(_ loaded: Loaded) -> PlaybookEntry {
        var entry = loaded.entry
        // Runs of this exact file waiting at a gate now (not past their deadline, process alive),
        // and how long the longest has waited: the list sorts by it. Matched by the file's digest,
        // so a playbook that needs inputs to plan still shows its waiting runs.
        let digest = loaded.plan?.playbook.digest ?? ContentDigest.sha256(loaded.bytes)
        let index = ledgerIndex()
        let waits = index.waits[digest] ?? []
        entry.waitingRuns = waits.count
        entry.longestWaitSeconds = waits.max()
        entry.plannedWith = index.pendingPlans[digest].flatMap { recordedPlan($0) }.map { RunRow.plannedText($0.inputs) } ?? ""
        guard let plan = loaded.plan else { return entry }
        entry.pendingGates =
            plan.steps.filter { step in
                if case .pending = gateState(plan, step) { return true }
                if case .partlyApproved = gateState(plan, step) { return true }
                if case .stale = gateState(plan, step) { return true }
                return false
            }.count
        return entry
    }

    private func detail(_ loaded: Loaded) -> PlaybookDetail {
        let steps = loaded.plan.map { plan in
            plan.steps.enumerated().map { PlanStepView($1, index: $0, plan: plan, gateState: gateState(plan, $1)) }
        }
        return PlaybookDetail(
            entry: entry(loaded),
            overview: (loaded.entry.signature.map { [PlaybookReader.signatureSection($0)] } ?? [])
                + (loaded.document.map { PlaybookReader.overview($0.root) } ?? []),
            source: loaded.bytes, diagnostics: loaded.diagnostics,
            plan: steps, planDigest: loaded.plan?.planDigest, planNote: loaded.planNote,
            history: history(for: loaded.plan, name: loaded.plan?.playbook.name ?? loaded.entry.name),
            historyNote: ledgerProblem ?? "No ledger records for this playbook yet.",
            inputs: loaded.document.map { InputDeclaration.all($0.root) } ?? [],
            inputValues: typedInputs[loaded.entry.path] ?? [:])
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
