import Crypto
import Foundation

/// What a ledger record says happened.
public enum RecordType: Sendable, Hashable {
    case approved, rejected, expired, runStarted, waiting, stepStarted, stepFinished, rollback, cancelled, runFinished
    /// A run used these approvals (`consumes` lists their seq): each approval serves one run only.
    case consumed
    /// A failed attempt of an idempotent step will be tried again after the planned delay.
    case stepRetried
    /// The line before it is an unfinished write closed off by a newline (`output_digest` is the
    /// SHA-256 of its bytes), because an append-only ledger cannot be truncated.
    case tornTail
    /// A type written by a newer wpk: kept and verified, ignored by policy.
    case other(String)

    private static let names: [(RecordType, String)] = [
        (.approved, "approved"), (.rejected, "rejected"), (.expired, "expired"), (.runStarted, "run_started"),
        (.waiting, "waiting"), (.stepStarted, "step_started"), (.stepFinished, "step_finished"),
        (.rollback, "rollback"), (.cancelled, "cancelled"), (.runFinished, "run_finished"), (.consumed, "consumed"),
        (.stepRetried, "step_retried"), (.tornTail, "torn_tail"),
    ]

    /// The type from its contract name.
    public init(name: String) {
        self = RecordType.names.first { $0.1 == name }?.0 ?? .other(name)
    }

    /// The contract name, e.g. `run_started`.
    public var name: String {
        if case .other(let name) = self { return name }
        return RecordType.names.first { $0.0 == self }!.1
    }
}

/// What a caller asks the ledger to write; the ledger adds seq, time, operator, prev and hash.
public struct RecordDraft: Sendable, Equatable {
    public var type: RecordType
    public var run: String?
    /// The playbook's `metadata.name`, so decisions on an older file can be shown as stale.
    public var playbook: String?
    public var playbookDigest: String?
    public var planDigest: String?
    public var step: String?
    public var reason: String?
    /// On `waiting`: how many distinct approvals the gate needs.
    public var approvalsRequired: Int?
    /// On `approved`: when the approval stops counting; on `waiting`: the gate's deadline.
    public var expires: Date?
    /// On `consumed`: the seq of each approval the run used.
    public var consumes: [Int]?
    /// On step events: which attempt of the step (1-based).
    public var attempt: Int?
    /// On `step_finished` and `run_finished`: how it ended (`succeeded`, `failed`, `timed_out`, ...).
    public var outcome: String?
    /// On `step_finished`: the exit code of the last command run (absent when it was killed by a signal or never started).
    public var exitCode: Int?
    /// On `step_finished`: wall time of the attempt in milliseconds.
    public var durationMilliseconds: Int?
    /// On `step_finished`: `sha256:<hex>` of everything the step printed.
    public var outputDigest: String?
    /// On `step_finished`: how many bytes the step printed in all (secrets masked).
    public var outputBytes: Int?
    /// On `step_finished`: `sha256:<hex>` of the stored end of the output (`RunArtifacts`).
    public var outputTail: String?
    /// On `run_started`: the names of the inputs given (never their values: they may be secrets;
    /// the plan digest binds the values).
    public var inputs: [String]?
    /// On `run_started`: the process id and host of the `wpk run`, so a run whose process is
    /// gone can be told from one still running.
    public var pid: Int?
    public var host: String?
    /// On `run_finished`: steps that completed a change before the run ended.
    public var changed: [String]?
    /// On `run_started`: by hand or by which trigger of `wpk serve` (informational).
    public var startedBy: StartedBy?
    /// On `approved`: the rollback steps undoing this step that the approval covers too, so they
    /// run without waiting for approvals of their own (`wpk approve --include-rollback`).
    public var includesRollback: [String]?

    public init(
        type: RecordType, run: String? = nil, playbook: String? = nil, playbookDigest: String? = nil,
        planDigest: String? = nil, step: String? = nil, reason: String? = nil,
        approvalsRequired: Int? = nil, expires: Date? = nil, consumes: [Int]? = nil,
        attempt: Int? = nil, outcome: String? = nil, exitCode: Int? = nil, durationMilliseconds: Int? = nil,
        outputDigest: String? = nil, inputs: [String]? = nil, pid: Int? = nil, host: String? = nil,
        changed: [String]? = nil, startedBy: StartedBy? = nil, outputBytes: Int? = nil, outputTail: String? = nil,
        includesRollback: [String]? = nil
    ) {
        self.type = type
        self.includesRollback = includesRollback
        self.outputBytes = outputBytes
        self.outputTail = outputTail
        self.run = run
        self.playbook = playbook
        self.playbookDigest = playbookDigest
        self.planDigest = planDigest
        self.step = step
        self.reason = reason
        self.approvalsRequired = approvalsRequired
        self.expires = expires
        self.consumes = consumes
        self.attempt = attempt
        self.outcome = outcome
        self.exitCode = exitCode
        self.durationMilliseconds = durationMilliseconds
        self.outputDigest = outputDigest
        self.inputs = inputs
        self.pid = pid
        self.host = host
        self.changed = changed
        self.startedBy = startedBy
    }
}

/// One line of the ledger, as written and as read back.
public struct LedgerRecord: Sendable, Equatable {
    /// 1-based position in the chain.
    public var seq: Int
    /// Whole seconds, UTC (the precision of the RFC 3339 text).
    public var time: Date
    public var draft: RecordDraft
    /// The OS account that wrote the record.
    public var operatorName: String
    public var operatorUID: Int?
    public var tty: String?
    /// The SSH client address, when the writer came in over SSH.
    public var source: String?
    /// The previous record's hash (`LedgerRecord.genesis` for the first).
    public var prev: String
    /// The signer's name as `allowed_signers` lists it (on signed records).
    public var principal: String?
    /// The signing key's `SHA256:` fingerprint (on signed records).
    public var key: String?
    /// The armored SSHSIG (namespace `wpk-decision`) over `signedContent`.
    public var signature: String?
    /// `sha256:<hex>` of the canonical JSON of every other field.
    public var hash: String

    /// The `prev` of the first record.
    public static let genesis = "sha256:" + String(repeating: "0", count: 64)

    /// Builds a record and computes its hash.
    public init(seq: Int, time: Date, draft: RecordDraft, operator op: Operator, prev: String) {
        self.init(seq: seq, time: time, draft: draft, operator: op, prev: prev, hash: "")
        self.hash = LedgerRecord.hash(of: contentJSON)
    }

    /// A signed record: `signer` names the principal and key, and `signature` signs the
    /// record's `signedContent` (seq, time and prev included, so it cannot be replayed elsewhere).
    public init(
        seq: Int, time: Date, draft: RecordDraft, operator op: Operator, prev: String,
        principal: String, key: String, signature: String?
    ) {
        self.init(seq: seq, time: time, draft: draft, operator: op, prev: prev, hash: "")
        self.principal = principal
        self.key = key
        self.signature = signature
        self.hash = LedgerRecord.hash(of: contentJSON)
    }

    /// A record with a hash as read from a file (checked by the reader, not here).
    init(seq: Int, time: Date, draft: RecordDraft, operator op: Operator, prev: String, hash: String) {
        self.seq = seq
        self.time = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
        self.draft = draft
        self.operatorName = op.name
        self.operatorUID = op.uid
        self.tty = op.tty
        self.source = op.sshSource
        self.prev = prev
        self.hash = hash
    }

    /// The record's fields without `hash`: what the hash covers (in canonical form).
    public var contentJSON: JSONValue { content(withSignature: true) }

    /// What the signature covers: the canonical content without `signature` and `hash`.
    public var signedContent: [UInt8] { content(withSignature: false).canonicalBytes }

    private func content(withSignature: Bool) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("seq", .int(seq)),
            ("time", .string(RFC3339.format(time))),
            ("type", .string(draft.type.name)),
            ("operator", .string(operatorName)),
            ("run", .optional(draft.run)),
            ("playbook_digest", .optional(draft.playbookDigest)),
            ("plan_digest", .optional(draft.planDigest)),
            ("step", .optional(draft.step)),
            ("reason", .optional(draft.reason)),
            ("prev", .string(prev)),
        ]
        // Extensions appear only when set, keeping run-event lines short.
        if let uid = operatorUID { members.append(("operator_uid", .int(uid))) }
        if let tty { members.append(("tty", .string(tty))) }
        if let source { members.append(("source", .string(source))) }
        if let playbook = draft.playbook { members.append(("playbook", .string(playbook))) }
        if let count = draft.approvalsRequired { members.append(("approvals_required", .int(count))) }
        if let expires = draft.expires { members.append(("expires", .string(RFC3339.format(expires)))) }
        if let consumes = draft.consumes { members.append(("consumes", .array(consumes.map(JSONValue.int)))) }
        if let attempt = draft.attempt { members.append(("attempt", .int(attempt))) }
        if let outcome = draft.outcome { members.append(("outcome", .string(outcome))) }
        if let code = draft.exitCode { members.append(("exit_code", .int(code))) }
        if let millis = draft.durationMilliseconds { members.append(("duration_ms", .int(millis))) }
        if let digest = draft.outputDigest { members.append(("output_digest", .string(digest))) }
        if let bytes = draft.outputBytes { members.append(("output_bytes", .int(bytes))) }
        if let tail = draft.outputTail { members.append(("output_tail", .string(tail))) }
        if let inputs = draft.inputs { members.append(("inputs", .array(inputs.map(JSONValue.string)))) }
        if let pid = draft.pid { members.append(("pid", .int(pid))) }
        if let host = draft.host { members.append(("host", .string(host))) }
        if let changed = draft.changed { members.append(("changed", .array(changed.map(JSONValue.string)))) }
        if let startedBy = draft.startedBy { members.append(("started_by", startedBy.json)) }
        if let included = draft.includesRollback { members.append(("includes_rollback", .array(included.map(JSONValue.string)))) }
        if let principal { members.append(("principal", .string(principal))) }
        if let key { members.append(("key", .string(key))) }
        if withSignature, let signature { members.append(("signature", .string(signature))) }
        return .object(members)
    }

    /// The whole record, `hash` included: one ledger line.
    public var json: JSONValue {
        guard case .object(var members) = contentJSON else { return contentJSON }
        members.append(("hash", .string(hash)))
        return .object(members)
    }

    /// The line as written: canonical JSON and a newline.
    public var line: [UInt8] { json.canonicalBytes + [0x0A] }

    /// `sha256:<hex>` of a value's canonical bytes.
    public static func hash(of content: JSONValue) -> String {
        hash(ofCanonicalBytes: content.canonicalBytes)
    }

    /// `sha256:<hex>` of bytes that are already canonical JSON.
    static func hash(ofCanonicalBytes bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hash(ofCanonicalParts: [$0]) }
    }

    /// `sha256:<hex>` of canonical JSON given in consecutive parts (no copy to join them).
    static func hash(ofCanonicalParts parts: [UnsafeRawBufferPointer]) -> String {
        var hasher = SHA256()
        for part in parts { hasher.update(bufferPointer: part) }
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = Array("sha256:".utf8)
        text.reserveCapacity(71)
        for byte in hasher.finalize() {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Reads the typed fields of a parsed line; nil names the first missing or mistyped field.
    /// The hash is not checked here (see `LedgerReader`).
    static func decode(_ value: JSONValue) -> Result<LedgerRecord, RecordFieldError> {
        guard case .object = value else { return .failure(RecordFieldError(field: "", problem: "the line is not a JSON object")) }
        func string(_ key: String) -> Result<String?, RecordFieldError> {
            switch value[key] {
            case nil, .some(.null): return .success(nil)
            case .some(.string(let s)): return .success(s)
            default: return .failure(RecordFieldError(field: key, problem: "is not a string"))
            }
        }
        func required(_ key: String) -> Result<String, RecordFieldError> {
            switch string(key) {
            case .success(let s?): return .success(s)
            case .success(nil): return .failure(RecordFieldError(field: key, problem: "is missing"))
            case .failure(let e): return .failure(e)
            }
        }
        func int(_ key: String) -> Result<Int?, RecordFieldError> {
            switch value[key] {
            case nil, .some(.null): return .success(nil)
            case .some(.number(let n)):
                guard let i = n.intValue else { return .failure(RecordFieldError(field: key, problem: "is not an integer")) }
                return .success(i)
            default: return .failure(RecordFieldError(field: key, problem: "is not an integer"))
            }
        }
        func date(_ key: String) -> Result<Date?, RecordFieldError> {
            switch string(key) {
            case .success(nil): return .success(nil)
            case .success(let s?):
                guard let d = RFC3339.parse(s) else {
                    return .failure(RecordFieldError(field: key, problem: "is not an RFC 3339 UTC time"))
                }
                return .success(d)
            case .failure(let e): return .failure(e)
            }
        }
        do throws(RecordFieldError) {
            guard let seq = try int("seq").get() else { return .failure(RecordFieldError(field: "seq", problem: "is missing")) }
            guard let time = try date("time").get() else { return .failure(RecordFieldError(field: "time", problem: "is missing")) }
            var consumes: [Int]?
            if let list = value["consumes"], list != .null {
                guard let items = list.arrayValue, items.allSatisfy({ $0.intValue != nil }) else {
                    return .failure(RecordFieldError(field: "consumes", problem: "is not a list of integers"))
                }
                consumes = items.compactMap(\.intValue)
            }
            func strings(_ key: String) -> Result<[String]?, RecordFieldError> {
                guard let list = value[key], list != .null else { return .success(nil) }
                guard let items = list.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                    return .failure(RecordFieldError(field: key, problem: "is not a list of strings"))
                }
                return .success(items.compactMap(\.stringValue))
            }
            var startedBy: StartedBy?
            if let member = value["started_by"], member != .null {
                guard let read = StartedBy(json: member) else {
                    return .failure(RecordFieldError(field: "started_by", problem: "is not an object of kind, trigger and source"))
                }
                startedBy = read
            }
            let draft = RecordDraft(
                type: RecordType(name: try required("type").get()),
                run: try string("run").get(), playbook: try string("playbook").get(),
                playbookDigest: try string("playbook_digest").get(), planDigest: try string("plan_digest").get(),
                step: try string("step").get(), reason: try string("reason").get(),
                approvalsRequired: try int("approvals_required").get(), expires: try date("expires").get(),
                consumes: consumes,
                attempt: try int("attempt").get(), outcome: try string("outcome").get(), exitCode: try int("exit_code").get(),
                durationMilliseconds: try int("duration_ms").get(), outputDigest: try string("output_digest").get(),
                inputs: try strings("inputs").get(), pid: try int("pid").get(), host: try string("host").get(),
                changed: try strings("changed").get(), startedBy: startedBy, outputBytes: try int("output_bytes").get(),
                outputTail: try string("output_tail").get(), includesRollback: try strings("includes_rollback").get())
            var record = LedgerRecord(
                seq: seq, time: time, draft: draft,
                operator: Operator(
                    uid: try int("operator_uid").get(), name: try required("operator").get(),
                    tty: try string("tty").get(), sshSource: try string("source").get()),
                prev: try required("prev").get(), hash: try required("hash").get())
            record.principal = try string("principal").get()
            record.key = try string("key").get()
            record.signature = try string("signature").get()
            return .success(record)
        } catch {
            return .failure(error)
        }
    }
}

/// A field of a ledger line that is missing or has the wrong type.
struct RecordFieldError: Error {
    var field: String
    var problem: String
    var message: String { field.isEmpty ? problem : "field \"\(field)\" \(problem)" }
}

/// RFC 3339 timestamps in UTC with whole seconds (`2026-11-29T04:57:22Z`), without locale or
/// formatter state, so reading 100,000 records stays cheap.
public enum RFC3339 {
    /// Formats a time in UTC, dropping fractions of a second.
    public static func format(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let (y, m, d) = civil(fromDays: days)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))Z"
    }

    /// Parses exactly the form `format` writes; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let u = Array(text.utf8)
        guard u.count == 20, u[4] == 0x2D, u[7] == 0x2D, u[10] == 0x54, u[13] == 0x3A, u[16] == 0x3A, u[19] == 0x5A else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var v = 0
            for i in range {
                guard u[i] >= 0x30, u[i] <= 0x39 else { return nil }
                v = v * 10 + Int(u[i] - 0x30)
            }
            return v
        }
        guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10),
            let h = number(11..<13), let mi = number(14..<16), let s = number(17..<19),
            (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60
        else { return nil }
        let days = days(fromCivil: y, mo, d)
        guard civil(fromDays: days) == (y, mo, d) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(days * 86400 + h * 3600 + mi * 60 + s))
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
