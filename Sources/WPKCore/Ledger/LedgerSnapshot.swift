import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A ledger file's folded state as of a checkpoint, kept between processes so that a reader
/// (`wpk review`) starts from it instead of folding a long ledger again: the file is then checked
/// to still start with the checkpoint's bytes (their SHA-256), and only the records after it are
/// read, verified and folded. The state is only ever restored from the reader's own snapshot.
///
/// The records that approvals, rejections and runs keep (for their signatures) are not kept:
/// a restored state serves lists (`LedgerState.lacksRecords`: `ApprovalPolicy` refuses it), and
/// is whole again only once the whole chain is read (`LedgerFollower.hasEveryRecord`).
public struct LedgerSnapshot: Sendable {
    public var checkpoint: LedgerCheckpoint
    /// The ledger folded up to and including the checkpoint's record.
    public var state: LedgerState

    public init(checkpoint: LedgerCheckpoint, state: LedgerState) {
        self.checkpoint = checkpoint
        self.state = state
    }

    /// Whether the state is the fold of exactly the records up to the checkpoint.
    public var isConsistent: Bool {
        state.recordCount == checkpoint.seq && state.head == checkpoint.head
    }

    static let magic = Array("wpk-ledger-snapshot-4\n".utf8)

    /// The snapshot as bytes: a header, then the checkpoint and the state as two sections, each
    /// with its own SHA-256 in the header (so the checkpoint is read and trusted first, and the
    /// larger state checked and decoded while the ledger file is checked against the checkpoint).
    /// A section holds its strings once, in a table, then its values in a fixed order,
    /// dictionaries sorted.
    public func encoded() -> [UInt8] {
        var checkpointSection = SnapshotWriter()
        checkpointSection.checkpoint(checkpoint)
        var stateSection = SnapshotWriter()
        stateSection.state(state)
        let first = checkpointSection.finished()
        let second = stateSection.finished()
        let length = UInt64(first.count)
        return Self.magic + Array(SHA256.hash(data: first)) + Array(SHA256.hash(data: second))
            + (0..<8).map { UInt8(truncatingIfNeeded: length >> ($0 * 8)) } + first + second
    }

    /// Reads what `encoded` wrote; nil when the bytes are not a whole, intact snapshot.
    public init?(decoding bytes: [UInt8]) {
        guard let stored = StoredLedgerSnapshot(bytes), let state = stored.state() else { return nil }
        self.init(checkpoint: stored.checkpoint, state: state)
    }
}

/// A snapshot's bytes read in two steps: the checkpoint at once, the state (the larger part) when
/// asked, so it can be checked and decoded while the ledger file is checked against the checkpoint.
public struct StoredLedgerSnapshot: Sendable {
    public let checkpoint: LedgerCheckpoint
    private let stateSection: ArraySlice<UInt8>
    private let stateDigest: ArraySlice<UInt8>

    /// The checkpoint of a snapshot; nil unless the bytes are a snapshot whose checkpoint is intact.
    public init?(_ bytes: [UInt8]) {
        let magic = LedgerSnapshot.magic
        let header = magic.count + 32 + 32 + 8
        guard bytes.count > header, bytes.starts(with: magic) else { return nil }
        let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[magic.count + 64 + $1]) << ($1 * 8) }
        guard length <= UInt64(bytes.count - header) else { return nil }
        let checkpointSection = bytes[header..<(header + Int(length))]
        guard Array(SHA256.hash(data: checkpointSection)) == Array(bytes[magic.count..<(magic.count + 32)]) else { return nil }
        do {
            var reader = try SnapshotReader(checkpointSection)
            checkpoint = try reader.checkpoint()
            guard reader.isAtEnd else { return nil }
        } catch {
            return nil
        }
        stateSection = bytes[(header + Int(length))...]
        stateDigest = bytes[(magic.count + 32)..<(magic.count + 64)]
    }

    /// The folded state up to the checkpoint; nil when its section is damaged, or is not the
    /// fold of exactly the checkpoint's records.
    public func state() -> LedgerState? {
        guard Array(SHA256.hash(data: stateSection)) == Array(stateDigest),
            var reader = try? SnapshotReader(stateSection), let state = try? reader.state(), reader.isAtEnd,
            LedgerSnapshot(checkpoint: checkpoint, state: state).isConsistent
        else { return nil }
        return state
    }
}

/// Where a reader keeps its ledger snapshots: one file per ledger path under its own state
/// directory, written whole (a new file renamed over the old) and read only when it is a regular
/// file of this account that nobody else can write.
public struct LedgerSnapshotStore: Sendable {
    public var directory: String
    /// Largest snapshot read back (one of 10,000 runs takes 2.8 MB).
    static let maxBytes = 256 << 20

    public init(directory: String) {
        self.directory = directory
    }

    /// `$XDG_STATE_HOME/wpk/snapshots` (else `~/.local/state/wpk/snapshots`).
    public static func standard(environment: [String: String], home: String) -> LedgerSnapshotStore {
        LedgerSnapshotStore(directory: StateDirectory.path(environment: environment, home: home) + "/snapshots")
    }

    private func file(for ledgerPath: String) -> String {
        directory + "/" + ContentDigest.sha256(Array(ledgerPath.utf8)).replacingOccurrences(of: "sha256:", with: "") + ".snapshot"
    }

    /// Whether the directory is this account's alone (not a link, nobody else may write it):
    /// otherwise snapshots are neither read nor written there.
    private var directoryIsPrivate: Bool {
        var info = stat()
        return lstat(directory, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR && info.st_uid == geteuid()
            && info.st_mode & 0o022 == 0
    }

    /// The snapshot kept for the ledger at `ledgerPath`; nil when there is none usable.
    public func load(ledgerPath: String) -> StoredLedgerSnapshot? {
        guard directoryIsPrivate else { return nil }
        let fd = open(file(for: ledgerPath), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_mode & 0o022 == 0,
            info.st_size > 0, info.st_size <= Self.maxBytes
        else { return nil }
        guard case .success(let bytes) = SourceReader.contents(ofDescriptor: fd, limit: Self.maxBytes) else { return nil }
        return StoredLedgerSnapshot(bytes)
    }

    /// Keeps `snapshot` for the ledger at `ledgerPath`; false when it could not be written (a
    /// snapshot is only a shortcut: readers without one read the whole ledger).
    @discardableResult
    public func save(_ snapshot: LedgerSnapshot, ledgerPath: String) -> Bool {
        guard snapshot.isConsistent,
            (try? FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])) != nil
        else { return false }
        guard directoryIsPrivate else { return false }
        let target = file(for: ledgerPath)
        // A cache: not synced (a snapshot lost with the machine only means one whole reading).
        return WholeFile.write(snapshot.encoded(), to: target, mode: 0o600, sync: false) == nil
    }
}

/// Why a snapshot could not be read.
private struct SnapshotDamage: Error {}

/// Writes a snapshot body: unsigned LEB128 numbers, each string once in a table.
private struct SnapshotWriter {
    private var body: [UInt8] = []
    private var strings: [String: Int] = [:]
    private var table: [String] = []

    /// The string table followed by the body.
    func finished() -> [UInt8] {
        var out: [UInt8] = []
        Self.append(UInt64(table.count), to: &out)
        for text in table {
            let utf8 = Array(text.utf8)
            Self.append(UInt64(utf8.count), to: &out)
            out += utf8
        }
        return out + body
    }

    private static func append(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    mutating func natural(_ value: UInt64) { Self.append(value, to: &body) }
    /// Zigzag, so small negative numbers stay short.
    mutating func int(_ value: Int) { natural(UInt64(bitPattern: Int64((value << 1) ^ (value >> 63)))) }
    mutating func bool(_ value: Bool) { body.append(value ? 1 : 0) }
    mutating func date(_ value: Date) { natural(value.timeIntervalSince1970.bitPattern) }

    mutating func string(_ value: String) {
        if let index = strings[value] {
            natural(UInt64(index))
        } else {
            strings[value] = table.count
            natural(UInt64(table.count))
            table.append(value)
        }
    }

    mutating func optional<T>(_ value: T?, _ write: (inout SnapshotWriter, T) -> Void) {
        bool(value != nil)
        if let value { write(&self, value) }
    }

    mutating func array<T>(_ values: [T], _ write: (inout SnapshotWriter, T) -> Void) {
        natural(UInt64(values.count))
        for value in values { write(&self, value) }
    }

    mutating func strings(_ values: [String]) { array(values) { $0.string($1) } }
    mutating func runSeqs(_ values: [String: Int]) {
        array(values.sorted { $0.key < $1.key }) {
            $0.string($1.key)
            $0.int($1.value)
        }
    }

    mutating func checkpoint(_ value: LedgerCheckpoint) {
        string(value.ledgerID)
        int(value.seq)
        string(value.head)
        int(value.offset)
        array(value.prefixDigest) { $0.natural(UInt64($1)) }
        // Ascending offsets, so each is written as the distance from the one before.
        natural(UInt64(value.lineOffsets.count))
        var previous = 0
        for offset in value.lineOffsets {
            int(offset - previous)
            previous = offset
        }
    }

    mutating func state(_ value: LedgerState) {
        int(value.recordCount)
        string(value.head)
        array(
            value.gates.values.sorted {
                ($0.key.playbookDigest, $0.key.planDigest, $0.key.step) < ($1.key.playbookDigest, $1.key.planDigest, $1.key.step)
            }
        ) {
            $0.gate($1)
        }
        array(value.runs.values.sorted { $0.id < $1.id }) { $0.run($1) }
        array(value.latestDigests.sorted { $0.key < $1.key }) {
            $0.string($1.key)
            $0.string($1.value.playbookDigest)
            $0.string($1.value.planDigest)
            $0.int($1.value.seq)
        }
        array(value.planRejectionHistory.sorted { ($0.key.playbookDigest, $0.key.planDigest) < ($1.key.playbookDigest, $1.key.planDigest) })
        {
            $0.string($1.key.playbookDigest)
            $0.string($1.key.planDigest)
            $0.array($1.value) { $0.rejection($1) }
        }
    }

    mutating func gate(_ gate: GateHistory) {
        string(gate.key.playbookDigest)
        string(gate.key.planDigest)
        string(gate.key.step)
        optional(gate.playbook) { $0.string($1) }
        array(gate.approvals) { $0.approval($1) }
        array(gate.rejections) { $0.rejection($1) }
        runSeqs(gate.expiredRuns)
        runSeqs(gate.consumedRuns)
        array(gate.waiting) { writer, waiting in
            writer.string(waiting.run)
            writer.int(waiting.seq)
            writer.date(waiting.since)
            writer.optional(waiting.deadline) { $0.date($1) }
            writer.optional(waiting.approvalsRequired) { $0.int($1) }
        }
        int(gate.lastSeq)
    }

    mutating func approval(_ entry: ApprovalEntry) {
        int(entry.seq)
        account(entry.approver)
        date(entry.time)
        optional(entry.expires) { $0.date($1) }
        optional(entry.run) { $0.string($1) }
        optional(entry.approvalsRequired) { $0.int($1) }
        optional(entry.consumedBy) { writer, consumed in
            writer.optional(consumed.run) { $0.string($1) }
            writer.int(consumed.seq)
        }
    }

    mutating func rejection(_ entry: RejectionEntry) {
        int(entry.seq)
        account(entry.rejecter)
        date(entry.time)
        string(entry.reason)
        optional(entry.run) { $0.string($1) }
    }

    mutating func account(_ op: Operator) {
        optional(op.uid) { $0.int($1) }
        string(op.name)
        strings(op.groups)
        optional(op.tty) { $0.string($1) }
        optional(op.sshSource) { $0.string($1) }
    }

    mutating func run(_ run: RunHistory) {
        string(run.id)
        account(run.starter)
        optional(run.playbook) { $0.string($1) }
        optional(run.playbookDigest) { $0.string($1) }
        optional(run.planDigest) { $0.string($1) }
        date(run.startedAt)
        int(run.seq)
        optional(run.ended) { writer, ended in
            writer.string(ended.type.name)
            writer.int(ended.seq)
            writer.optional(ended.reason) { $0.string($1) }
        }
        optional(run.pid) { $0.int($1) }
        optional(run.host) { $0.string($1) }
        optional(run.startedBy) { $0.startedBy($1) }
        strings(run.openSteps)
        strings(run.finishedSteps)
        optional(run.outcome) { $0.string($1) }
        int(run.lastSeq)
    }

    mutating func startedBy(_ value: StartedBy) {
        string(value.kind.rawValue)
        string(value.trigger)
        string(value.source)
    }
}

/// Reads what `SnapshotWriter` wrote; every count and index is checked against what is there.
private struct SnapshotReader: Sendable {
    private let bytes: [UInt8]
    private var position: Int
    private var table: [String] = []

    init(_ body: ArraySlice<UInt8>) throws(SnapshotDamage) {
        bytes = Array(body)
        position = 0
        let count = try count()
        table.reserveCapacity(Self.reservable(count))
        for _ in 0..<count {
            let length = try self.count()
            table.append(String(decoding: bytes[position..<position + length], as: UTF8.self))
            position += length
        }
    }

    var isAtEnd: Bool { position == bytes.count }

    /// Room reserved ahead for a count read from the bytes: a count is at most the bytes left, but
    /// an element takes far more memory than its bytes, so beyond this the storage grows as read.
    static func reservable(_ count: Int) -> Int { min(count, 1 << 16) }

    mutating func natural() throws(SnapshotDamage) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count, shift < 64 else { throw SnapshotDamage() }
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A count of items still to come: never more than the bytes left (each takes at least one).
    mutating func count() throws(SnapshotDamage) -> Int {
        let value = try natural()
        guard value <= UInt64(bytes.count - position) else { throw SnapshotDamage() }
        return Int(value)
    }

    mutating func int() throws(SnapshotDamage) -> Int {
        let raw = try natural()
        return Int(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
    }

    mutating func bool() throws(SnapshotDamage) -> Bool {
        guard position < bytes.count, bytes[position] <= 1 else { throw SnapshotDamage() }
        position += 1
        return bytes[position - 1] == 1
    }

    mutating func date() throws(SnapshotDamage) -> Date {
        let seconds = Double(bitPattern: try natural())
        guard seconds.isFinite else { throw SnapshotDamage() }
        return Date(timeIntervalSince1970: seconds)
    }

    mutating func string() throws(SnapshotDamage) -> String {
        let index = try natural()
        guard index < UInt64(table.count) else { throw SnapshotDamage() }
        return table[Int(index)]
    }

    mutating func optional<T>(_ read: (inout SnapshotReader) throws(SnapshotDamage) -> T) throws(SnapshotDamage) -> T? {
        try bool() ? try read(&self) : nil
    }

    mutating func array<T>(_ read: (inout SnapshotReader) throws(SnapshotDamage) -> T) throws(SnapshotDamage) -> [T] {
        let count = try count()
        var values: [T] = []
        values.reserveCapacity(Self.reservable(count))
        for _ in 0..<count { values.append(try read(&self)) }
        return values
    }

    mutating func strings() throws(SnapshotDamage) -> [String] { try array { (r) throws(SnapshotDamage) in try r.string() } }
    mutating func optionalString() throws(SnapshotDamage) -> String? { try optional { (r) throws(SnapshotDamage) in try r.string() } }
    mutating func optionalInt() throws(SnapshotDamage) -> Int? { try optional { (r) throws(SnapshotDamage) in try r.int() } }
    mutating func optionalDate() throws(SnapshotDamage) -> Date? { try optional { (r) throws(SnapshotDamage) in try r.date() } }

    mutating func runSeqs() throws(SnapshotDamage) -> [String: Int] {
        let pairs = try array { (r) throws(SnapshotDamage) in (try r.string(), try r.int()) }
        return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
    }

    mutating func checkpoint() throws(SnapshotDamage) -> LedgerCheckpoint {
        let ledgerID = try string()
        let seq = try int()
        let head = try string()
        let offset = try int()
        let digest = try array { (r) throws(SnapshotDamage) -> UInt8 in
            let byte = try r.natural()
            guard byte <= 0xFF else { throw SnapshotDamage() }
            return UInt8(byte)
        }
        let count = try count()
        var lineOffsets: [Int] = []
        lineOffsets.reserveCapacity(Self.reservable(count))
        var previous = 0
        for _ in 0..<count {
            let delta = try int()
            let (next, overflow) = previous.addingReportingOverflow(delta)
            guard delta >= 0, !overflow else { throw SnapshotDamage() }
            previous = next
            lineOffsets.append(previous)
        }
        guard digest.count == 32, seq == lineOffsets.count, seq >= 1, offset > (lineOffsets.last ?? 0) else { throw SnapshotDamage() }
        return LedgerCheckpoint(ledgerID: ledgerID, seq: seq, head: head, offset: offset, prefixDigest: digest, lineOffsets: lineOffsets)
    }

    mutating func state() throws(SnapshotDamage) -> LedgerState {
        let recordCount = try int()
        let head = try string()
        // Straight into the tables: building arrays of pairs first copied every gate twice.
        let gateCount = try count()
        var gates = [GateKey: GateHistory](minimumCapacity: Self.reservable(gateCount))
        for _ in 0..<gateCount {
            let gate = try self.gate()
            gates[gate.key] = gate
        }
        let runCount = try count()
        var runs = [String: RunHistory](minimumCapacity: Self.reservable(runCount))
        for _ in 0..<runCount {
            let run = try self.run()
            runs[run.id] = run
        }
        var latest: [String: (playbookDigest: String, planDigest: String, seq: Int)] = [:]
        for _ in 0..<(try count()) {
            latest[try string()] = (try string(), try string(), try int())
        }
        var rejections: [PlanKey: [RejectionEntry]] = [:]
        for _ in 0..<(try count()) {
            rejections[PlanKey(playbookDigest: try string(), planDigest: try string())] = try array { (r) throws(SnapshotDamage) in
                try r.rejection()
            }
        }
        return LedgerState(
            restoring: gates, runs: runs, latestDigests: latest, planRejectionHistory: rejections, recordCount: recordCount, head: head)
    }

    mutating func gate() throws(SnapshotDamage) -> GateHistory {
        var gate = GateHistory(
            key: GateKey(playbookDigest: try string(), planDigest: try string(), step: try string()), playbook: try optionalString())
        gate.approvals = try array { (r) throws(SnapshotDamage) in try r.approval() }
        gate.rejections = try array { (r) throws(SnapshotDamage) in try r.rejection() }
        gate.expiredRuns = try runSeqs()
        gate.consumedRuns = try runSeqs()
        gate.waiting = try array { (r) throws(SnapshotDamage) in
            WaitingEntry(
                run: try r.string(), seq: try r.int(), since: try r.date(), deadline: try r.optionalDate(),
                approvalsRequired: try r.optionalInt())
        }
        gate.lastSeq = try int()
        return gate
    }

    mutating func approval() throws(SnapshotDamage) -> ApprovalEntry {
        ApprovalEntry(
            seq: try int(), approver: try account(), time: try date(), expires: try optionalDate(), run: try optionalString(),
            approvalsRequired: try optionalInt(),
            consumedBy: try optional { (r) throws(SnapshotDamage) in (run: try r.optionalString(), seq: try r.int()) },
            record: nil)
    }

    mutating func rejection() throws(SnapshotDamage) -> RejectionEntry {
        RejectionEntry(
            seq: try int(), rejecter: try account(), time: try date(), reason: try string(), run: try optionalString(),
            record: nil)
    }

    mutating func account() throws(SnapshotDamage) -> Operator {
        Operator(
            uid: try optionalInt(), name: try string(), groups: try strings(), tty: try optionalString(), sshSource: try optionalString())
    }

    mutating func run() throws(SnapshotDamage) -> RunHistory {
        var run = RunHistory(
            id: try string(), starter: try account(), playbook: try optionalString(), playbookDigest: try optionalString(),
            planDigest: try optionalString(), startedAt: try date(), seq: try int())
        run.ended = try optional { (r) throws(SnapshotDamage) in
            (type: RecordType(name: try r.string()), seq: try r.int(), reason: try r.optionalString())
        }
        run.pid = try optionalInt()
        run.host = try optionalString()
        run.startedBy = try optional { (r) throws(SnapshotDamage) in try r.startedBy() }
        run.openSteps = try strings()
        run.finishedSteps = try strings()
        run.outcome = try optionalString()
        run.lastSeq = try int()
        return run
    }

    mutating func startedBy() throws(SnapshotDamage) -> StartedBy {
        guard let kind = StartedBy.Kind(rawValue: try string()) else { throw SnapshotDamage() }
        return StartedBy(exactly: kind, trigger: try string(), source: try string())
    }
}
