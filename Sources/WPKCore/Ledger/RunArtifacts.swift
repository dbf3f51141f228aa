import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a run stores beside the ledger, content-addressed so any backend can hold it as a map
/// from digest to bytes: its whole plan (`plans/<plan digest hex>.json`, named by the plan
/// digest the `run_started` record carries) and each step's output tail
/// (`outputs/<sha256 hex>.txt`, named by the `output_tail` of its `step_finished` record).
/// Readers verify every file against the digest that names it before using it.
public struct RunArtifacts: Sendable {
    /// `<ledger path>.d`: beside the ledger, with the ledger directory's permissions.
    public let directory: String
    /// The ledger file whose mode the stored files copy (readable by whoever reads the ledger).
    let ledgerPath: String
    /// Where a ledger that is not a file keeps them instead (a database's table).
    let storage: (any RunArtifactStorage)?

    /// The store belonging to a ledger file.
    public init(ledgerPath: String) {
        self.ledgerPath = ledgerPath
        self.directory = ledgerPath + ".d"
        self.storage = nil
    }

    /// The store of a ledger that keeps artifacts itself; `location` names it in messages.
    public init(storage: any RunArtifactStorage, location: String) {
        self.ledgerPath = location
        self.directory = location
        self.storage = storage
    }

    /// Most bytes of one step's output kept (its end); the whole is still counted and digested.
    public static let outputTailBytes = 65_536

    // MARK: Writing

    /// Stores the plan as the run executes it (secrets only as references); returns its file's path.
    @discardableResult
    public func store(_ plan: Plan) throws(LedgerError) -> String {
        try write(RecordedPlan.storedBytes(of: plan), to: planPath(plan.planDigest))
    }

    /// Stores a step's output tail (already masked and sanitized); returns `sha256:<hex>` of it.
    public func storeOutput(_ text: [UInt8]) throws(LedgerError) -> String {
        let digest = ContentDigest.sha256(text)
        try write(text, to: outputPath(digest))
        return digest
    }

    // MARK: Reading

    /// The stored plan for `planDigest`, verified: the digest of what it would execute must equal
    /// the digest naming it, so a changed file is refused rather than shown.
    public func plan(digest planDigest: String) -> Result<RecordedPlan, ArtifactProblem> {
        guard let path = planPath(planDigest) else {
            return .failure(.init("the plan digest \(DisplaySanitizer.sanitize(planDigest)) is not a sha256 digest"))
        }
        switch read(path, limit: 16 << 20) {
        case .failure(let problem): return .failure(problem)
        case .success(let bytes):
            guard let json = try? JSONValue.parse(bytes) else { return .failure(.init("the stored plan \(path) is not JSON")) }
            guard let recorded = RecordedPlan(json: json), recorded.verifiedDigest == planDigest else {
                return .failure(
                    .init(
                        "the stored plan \(path) does not match its digest \(Plan.fingerprint(of: planDigest)); it was changed after the run stored it"
                    ))
            }
            return .success(recorded)
        }
    }

    /// A stored output tail, verified against the digest naming it.
    public func output(digest: String) -> Result<String, ArtifactProblem> {
        guard let path = outputPath(digest) else { return .failure(.init("the output digest is not a sha256 digest")) }
        switch read(path, limit: 4 * Self.outputTailBytes + 4096) {
        case .failure(let problem): return .failure(problem)
        case .success(let bytes):
            guard ContentDigest.sha256(bytes) == digest else {
                return .failure(.init("the stored output \(path) does not match its digest; it was changed after the run stored it"))
            }
            return .success(String(decoding: bytes, as: UTF8.self))
        }
    }

    // MARK: Paths and files

    func planPath(_ digest: String) -> String? { Self.hex(of: digest).map { "\(directory)/plans/\($0).json" } }
    func outputPath(_ digest: String) -> String? { Self.hex(of: digest).map { "\(directory)/outputs/\($0).txt" } }

    /// The 64 hex digits of a `sha256:` digest, or nil (so no digest can name another path).
    static func hex(of digest: String) -> String? {
        guard digest.hasPrefix("sha256:") else { return nil }
        let hex = digest.dropFirst(7)
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return String(hex)
    }

    /// Writes a file whole or not at all (temporary file, fsync, rename), in a directory made
    /// with the ledger directory's mode, the file with the ledger file's read bits.
    private func write(_ bytes: [UInt8], to target: String?) throws(LedgerError) -> String {
        guard let target else { throw LedgerError(.io, "cannot store a run artifact without a sha256 digest") }
        if let storage {
            try storage.store(bytes, name: String(target.dropFirst(directory.count + 1)))
            return target
        }
        let folder = (target as NSString).deletingLastPathComponent
        var parent = stat()
        let ledgerDirectory = (ledgerPath as NSString).deletingLastPathComponent
        let folderMode: mode_t =
            stat(ledgerDirectory.isEmpty ? "." : ledgerDirectory, &parent) == 0 ? parent.st_mode & 0o7777 & ~mode_t(S_IWOTH) : 0o700
        for dir in [directory, folder] {
            if mkdir(dir, folderMode) == 0 {
                chmod(dir, folderMode)
            } else if errno != EEXIST {
                throw .system("create", dir)
            }
        }
        // Readable by whoever may read the ledger: its own read bits, or before it exists, the
        // group in a setgid team directory (as the ledger itself will be created).
        var ledgerInfo = stat()
        let readBits: mode_t = stat(ledgerPath, &ledgerInfo) == 0 ? ledgerInfo.st_mode & 0o444 : (folderMode & S_ISGID != 0 ? 0o440 : 0o400)
        let fileMode: mode_t = readBits | 0o200
        if let code = WholeFile.write(bytes, to: target, mode: fileMode, sync: true) { throw .system("write", target, code) }
        return target
    }

    /// At most `limit` bytes of a regular file (never a FIFO or a link).
    private func read(_ path: String, limit: Int) -> Result<[UInt8], ArtifactProblem> {
        if let storage { return storage.load(name: String(path.dropFirst(directory.count + 1)), limit: limit) }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            return .failure(
                .init(
                    errno == ENOENT ? "not recorded (\(path) does not exist)" : "cannot read \(path): \(String(cString: strerror(errno)))"))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return .failure(.init("\(path) is not a regular file")) }
        guard Int(info.st_size) <= limit else { return .failure(.init("\(path) is larger than a run artifact may be")) }
        switch SourceReader.contents(ofDescriptor: fd, limit: limit) {
        case .success(let bytes): return .success(bytes)
        case .failure(.tooLarge): return .failure(.init("\(path) is larger than a run artifact may be"))
        case .failure(.unreadable(let reason)): return .failure(.init("cannot read \(path): \(reason)"))
        }
    }
}

/// A ledger's own store for run artifacts, as a map from name (`plans/<hex>.json`,
/// `outputs/<hex>.txt`) to bytes; `RunArtifacts` verifies what it returns against the digest.
public protocol RunArtifactStorage: Sendable {
    /// Stores `bytes` under `name` (the same name always holds the same bytes, so storing again is harmless).
    func store(_ bytes: [UInt8], name: String) throws(LedgerError)
    /// The bytes stored under `name`, at most `limit` of them.
    func load(name: String, limit: Int) -> Result<[UInt8], ArtifactProblem>
}

/// Why a stored plan or output cannot be shown.
public struct ArtifactProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Ledger {
    /// The plans and outputs runs recorded in this ledger stored.
    public var artifacts: RunArtifacts { RunArtifacts(ledgerPath: path) }
}

/// A plan as a run stored it, read back: what the run screen and `wpk approvals show` print.
public struct RecordedPlan: Sendable {
    /// One step as stored.
    public struct Step: Sendable, Equatable {
        public var handler: String
        public var description: String?
        public var runtime: String
        public var action: String
        public var target: String?
        /// The exact argument vectors (secret values appear only as references).
        public var commands: [[String]]
        public var dryRunCommands: [[String]]
        public var mutating: Bool
        public var destructive: Bool
        public var gateRequired: Bool
        public var gateApprovals: Int
        public var gateReasons: [String]
        public var timeoutSeconds: Int
        public var isRollback: Bool
        /// A rollback step's: the handler it undoes.
        public var undoes: String? = nil
    }

    /// The plan JSON as `wpk plan --format json` prints it (path left out: it is not the plan's).
    public var json: JSONValue
    /// `sha256:` of what the stored plan would execute, recomputed from the stored bytes.
    public var verifiedDigest: String
    /// Every input: name and the value shown (secrets as their reference).
    public var inputs: [(name: String, value: String)]
    public var steps: [Step]
    public var rollback: [Step]
    /// Whether dry-run commands run before each step's commands.
    public var dryRunFirst: Bool
    /// The tools and files the run bound (nil for a plan stored without them).
    public var bindings: PlanBindings?

    /// The canonical bytes a run stores for its plan.
    static func storedBytes(of plan: Plan) -> [UInt8] {
        var stored = plan.json
        if case .object(var members) = stored, let at = members.firstIndex(where: { $0.key == "playbook" }),
            case .object(var playbook) = members[at].value
        {
            playbook.removeAll { $0.key == "path" }
            members[at].value = .object(playbook)
            stored = .object(members)
        }
        return stored.canonicalBytes
    }

    /// Reads the stored plan JSON; nil when it lacks what a plan has.
    init?(json: JSONValue) {
        guard let executable = Self.executableJSON(fromPlanJSON: json),
            let inputList = json["inputs"]?.arrayValue, let stepList = json["steps"]?.arrayValue,
            let rollbackList = json["rollback"]?.arrayValue
        else { return nil }
        self.json = json
        self.verifiedDigest = LedgerRecord.hash(of: executable)
        var inputs: [(String, String)] = []
        for input in inputList {
            guard let name = input["name"]?.stringValue else { return nil }
            inputs.append((name, Self.display(input["value"] ?? .null)))
        }
        self.inputs = inputs
        func steps(_ list: [JSONValue], rollback: Bool) -> [Step]? {
            var out: [Step] = []
            for s in list {
                guard let handler = s["handler"]?.stringValue, let commands = Self.commands(s["commands"]),
                    let dry = Self.commands(s["dry_run_commands"]), let gate = s["gate"]
                else { return nil }
                out.append(
                    Step(
                        handler: handler, description: s["description"]?.stringValue, runtime: s["runtime"]?.stringValue ?? "?",
                        action: s["action"]?.stringValue ?? "?", target: s["target"]?.stringValue,
                        commands: commands, dryRunCommands: dry,
                        mutating: s["mutating"] == .bool(true), destructive: s["destructive"] == .bool(true),
                        gateRequired: gate["required"] == .bool(true), gateApprovals: gate["approvals"]?.intValue ?? 0,
                        gateReasons: gate["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                        timeoutSeconds: s["timeout_seconds"]?.intValue ?? 0, isRollback: rollback, undoes: s["undoes"]?.stringValue))
            }
            return out
        }
        guard let main = steps(stepList, rollback: false), let back = steps(rollbackList, rollback: true) else { return nil }
        self.steps = main
        self.rollback = back
        self.dryRunFirst = json["dry_run_first"] == .bool(true)
        self.bindings = json["bindings"].flatMap(PlanBindings.init(json:))
    }

    /// The step or rollback step named `handler`.
    public func step(named handler: String) -> Step? {
        steps.first { $0.handler == handler } ?? rollback.first { $0.handler == handler }
    }

    /// The argument vectors an attempt of `step` runs, in order (dry-run commands first when the plan says so).
    public func executedCommands(of step: Step) -> [[String]] {
        dryRunFirst && !step.dryRunCommands.isEmpty ? step.dryRunCommands + step.commands : step.commands
    }

    private static func commands(_ value: JSONValue?) -> [[String]]? {
        guard let list = value?.arrayValue else { return nil }
        var out: [[String]] = []
        for command in list {
            guard let argv = command.arrayValue, argv.allSatisfy({ $0.stringValue != nil }) else { return nil }
            out.append(argv.compactMap(\.stringValue))
        }
        return out
    }

    /// An input value as people read it: strings bare, secrets as `<secret:store:path>`.
    private static func display(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .null: return "(none)"
        case .object:
            if let secret = value["secret"] {
                let parts = ["store", "path", "key"].compactMap { secret[$0]?.stringValue }
                return "<secret:\(parts.joined(separator: ":"))>"
            }
            return value.serialized(.canonical)
        default: return value.serialized(.canonical)
        }
    }

    /// The part of a plan JSON that decides what runs, built exactly as `Plan.executableJSON` is:
    /// its canonical SHA-256 is the plan digest.
    static func executableJSON(fromPlanJSON plan: JSONValue) -> JSONValue? {
        func step(_ s: JSONValue) -> JSONValue? {
            guard let gate = s["gate"], let retry = s["retry"] else { return nil }
            var members: [(key: String, value: JSONValue)] = []
            for key in ["handler", "runtime", "action", "target", "scope", "commands", "dry_run_commands", "environment"] {
                guard let value = s[key] else { return nil }
                members.append((key, value))
            }
            members.append(("working_directory", s["working_directory"] ?? .null))
            for key in ["mutating", "destructive", "fidelity", "permissions"] {
                guard let value = s[key] else { return nil }
                members.append((key, value))
            }
            guard let required = gate["required"], let approvals = gate["approvals"],
                let attempts = retry["max_attempts"], let delays = retry["delays_seconds"], let idempotent = retry["idempotent"]
            else { return nil }
            members.append(("gate", .object([("required", required), ("approvals", approvals)])))
            guard let timeout = s["timeout_seconds"] else { return nil }
            members.append(("timeout_seconds", timeout))
            members.append(("retry", .object([("max_attempts", attempts), ("delays_seconds", delays), ("idempotent", idempotent)])))
            for key in ["on_failure", "rollback_steps", "depends_on", "secrets"] {
                guard let value = s[key] else { return nil }
                members.append((key, value))
            }
            if let undoes = s["undoes"] { members.append(("undoes", undoes)) }
            if let standardInput = s["standard_input"] { members.append(("standard_input", standardInput)) }
            return .object(members)
        }
        guard let mode = plan["mode"], let approvals = plan["approvals_required"], let selfApproval = plan["allow_self_approval"],
            let dryRunFirst = plan["dry_run_first"], let inputs = plan["inputs"]?.arrayValue,
            let steps = plan["steps"]?.arrayValue, let skipped = plan["skipped"]?.arrayValue,
            let rollback = plan["rollback"]?.arrayValue
        else { return nil }
        var inputMembers: [JSONValue] = []
        for input in inputs {
            guard let name = input["name"], let value = input["value"] else { return nil }
            inputMembers.append(.object([("name", name), ("value", value)]))
        }
        let stepValues = steps.compactMap(step)
        let rollbackValues = rollback.compactMap(step)
        let skippedNames = skipped.compactMap { $0["handler"] }
        guard stepValues.count == steps.count, rollbackValues.count == rollback.count, skippedNames.count == skipped.count else {
            return nil
        }
        var members: [(key: String, value: JSONValue)] = [
            ("plan_format", .int(1)), ("mode", mode), ("approvals_required", approvals), ("allow_self_approval", selfApproval),
            ("approval_timeout_seconds", plan["approval_timeout_seconds"] ?? .null), ("dry_run_first", dryRunFirst),
            ("inputs", .array(inputMembers)), ("steps", .array(stepValues)), ("skipped", .array(skippedNames)),
            ("rollback", .array(rollbackValues)),
        ]
        // The verified signer, as `Plan.executableJSON` binds it.
        if let signature = plan["signature"] {
            members.append(("signed_by", signature["state"]?.stringValue == "verified" ? signature["fingerprint"] ?? .null : .null))
        }
        // The tools and files the plan binds, as `Plan.executableJSON` covers them.
        if let bindings = plan["bindings"] {
            guard let executable = PlanBindings.executableJSON(fromJSON: bindings) else { return nil }
            members.append(("bindings", executable))
        }
        return .object(members)
    }
}

/// The end of a step's output as a run keeps it: secrets already masked, at most
/// `RunArtifacts.outputTailBytes`, turned into text a terminal can show (every control and
/// format character but the newline written as a visible escape).
public struct OutputTail: Sendable {
    private var bytes: [UInt8] = []
    private let limit: Int
    /// Bytes seen in all (after masking).
    public private(set) var total = 0

    /// A tail that keeps the last `limit` bytes.
    public init(limit: Int = RunArtifacts.outputTailBytes) { self.limit = limit }

    /// Adds output; only the last `limit` bytes stay (trimmed in halves, so appending is amortized O(1)).
    public mutating func append(_ chunk: some Collection<UInt8>) {
        total += chunk.count
        bytes.append(contentsOf: chunk.suffix(limit))
        if bytes.count > 2 * limit { bytes.removeFirst(bytes.count - limit) }
    }

    /// The kept bytes as sanitized text (invalid UTF-8 replaced, controls escaped, newlines kept).
    public var text: [UInt8] {
        let kept = bytes.suffix(limit)
        var out: [UInt8] = []
        out.reserveCapacity(kept.count)
        // Split on the byte: as characters, "\r\n" is one grapheme and would hide the line break.
        for line in kept.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.offset > 0 { out.append(0x0A) }
            out.append(contentsOf: DisplaySanitizer.sanitize(String(decoding: line.element, as: UTF8.self)).utf8)
        }
        return out
    }
}
