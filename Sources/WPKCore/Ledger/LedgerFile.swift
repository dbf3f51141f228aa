internal import CProcess
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `write(2)`, named apart from the methods called `write` (here and in `WholeFile`).
func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// Why the ledger could not be read or written: environmental failures, thrown.
public struct LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The ledger or its directory is writable by everyone, so anyone could rewrite history.
        case unsafePermissions
        /// The path is not a regular file (or is a symbolic link).
        case notRegularFile
        /// A system call failed.
        case io
        /// The chain is damaged, so no decision may be taken on it.
        case chainBroken(LedgerFault)
        /// A record would be longer than `Ledger.maxLineBytes`.
        case recordTooLarge
        /// The record could not be signed (no key, ssh-keygen failed, the key is not listed).
        case signingFailed
        /// The machine policy forbids this ledger (or cannot be trusted).
        case policy
        /// The ledger no longer extends a head this machine verified before: records were removed or rewritten.
        case rolledBack
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func system(_ operation: String, _ path: String, _ code: Int32 = errno) -> LedgerError {
        LedgerError(.io, "cannot \(operation) \(path): \(String(cString: strerror(code)))")
    }
}

/// The first record that breaks the chain, named for a person.
public struct LedgerFault: Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the bad record (the seq it should have had).
    public var line: Int
    /// Byte offset where the bad line starts.
    public var offset: Int
    /// The seq the line claims, when it could be read.
    public var claimedSeq: Int?
    public var problem: String

    public var description: String {
        let seq = claimedSeq.map { " (seq \($0))" } ?? ""
        return "record at line \(line)\(seq): \(problem)"
    }
}

/// The result of reading a ledger: the intact prefix of the chain and the first fault, if any.
public struct LedgerReading: Sendable {
    /// Records up to (not including) the first fault, in order.
    public var records: [LedgerRecord]
    /// The first bad record; nil when the chain is intact.
    public var fault: LedgerFault?
    /// Bytes after the last newline: a write cut short by a crash, never acknowledged.
    public var tornTailBytes: Int
    /// Hash of the last intact record (`LedgerRecord.genesis` when there is none).
    public var head: String { records.last?.hash ?? LedgerRecord.genesis }
    /// Whether every complete line verified.
    public var isIntact: Bool { fault == nil }
}

/// The approval ledger: an append-only JSON Lines file whose records form a SHA-256 hash chain.
///
/// Every append takes an exclusive `flock`, re-reads the head under it, writes one whole line
/// with `O_APPEND` and `fsync`s before returning, so concurrent writers never interleave and an
/// acknowledged record survives a crash. Readers take a shared lock.
public struct Ledger: Sendable {
    /// Longest record line accepted, newline included; anything longer is damage.
    public static let maxLineBytes = 65_536

    public let path: String
    /// Whether the machine policy names this ledger (a team ledger), rather than single-user mode.
    public var isTeamLedger = false
    /// Whether a ledger without the append-only attribute is refused (`require_append_only`).
    public var requireAppendOnly = false
    /// Heads verified before, checked on every full read; nil remembers nothing.
    public var memory: LedgerHeadMemory?

    public init(path: String) {
        self.path = path
    }

    /// The ledger path the contract prescribes: `WPK_LEDGER`, else `$XDG_STATE_HOME/wpk/ledger.jsonl`,
    /// else `~/.local/state/wpk/ledger.jsonl` (`--ledger` is applied by the caller before this).
    public static func defaultPath(environment: [String: String], home: String) -> String {
        if let explicit = environment["WPK_LEDGER"], !explicit.isEmpty { return explicit }
        return StateDirectory.path(environment: environment, home: home) + "/ledger.jsonl"
    }

    // MARK: Reading

    /// Reads and verifies the whole ledger under a shared lock; a missing file reads as empty.
    public func read() throws(LedgerError) -> LedgerReading {
        try read(after: nil).reading
    }

    /// Reads on from `checkpoint` when the file still starts with exactly the bytes it was made
    /// from (their SHA-256 is compared, so nothing before it can have changed): only the records
    /// after it are parsed and verified. Otherwise (no checkpoint, the file changed before it or
    /// is shorter) the whole chain is read and verified, as `read()` does. Either way the heads
    /// remembered before are checked, and the result says where the next reader may start.
    public func read(after checkpoint: LedgerCheckpoint?) throws(LedgerError) -> LedgerContinuation {
        try checkDirectory(create: false)
        // A missing file is judged by what was remembered before looking: another process may create
        // the ledger, append and remember its first record between the open and a later look at the
        // memory, and that is growth, not a ledger emptied.
        let empty = LedgerReading(records: [], fault: nil, tornTailBytes: 0)
        let missingFileProblem = memory?.problem(path: path, reading: empty)
        // O_NONBLOCK: a FIFO planted at the path must not hang wpk before the regular-file check.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            if errno == ENOENT {
                if let missingFileProblem { throw missingFileProblem }
                return LedgerContinuation(reading: empty, fromStart: true, checkpoint: nil)
            }
            throw openError()
        }
        defer { close(fd) }
        try checkFile(fd)
        try lock(fd, LOCK_SH)
        // Every byte before the checkpoint is hashed again, also on an append-only file: a
        // descriptor opened for writing before the attribute was set still writes anywhere.
        if let checkpoint, checkpoint.offset > 0, try fileSize(fd) >= checkpoint.offset,
            let prefix = try hashedPrefix(fd, upTo: checkpoint.offset, equalTo: checkpoint.prefixDigest)
        {
            var scanner = LedgerScanner(after: checkpoint, prefix: prefix)
            try feed(fd, from: checkpoint.offset, to: &scanner)
            let reading = scanner.finish()
            try checkRemembered(reading, after: checkpoint, fd)
            return LedgerContinuation(
                reading: reading, fromStart: false, checkpoint: scanner.checkpoint(ledgerID: checkpoint.ledgerID, before: checkpoint))
        }
        var scanner = LedgerScanner(makingCheckpoints: true)
        let reading = try scan(fd, with: &scanner)
        return LedgerContinuation(reading: reading, fromStart: true, checkpoint: scanner.checkpoint(ledgerID: nil, before: nil))
    }

    /// The running SHA-256 of the file's first `end` bytes, when it equals `digest`; nil otherwise.
    private func hashedPrefix(_ fd: Int32, upTo end: Int, equalTo digest: [UInt8]) throws(LedgerError) -> SHA256? {
        var hasher = SHA256()
        let reachedEnd = try forEachChunk(fd, from: 0, upTo: end) { chunk in
            chunk.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            return true
        }
        let copy = hasher
        return reachedEnd && Array(copy.finalize()) == digest ? hasher : nil
    }

    /// The head-memory check of a read that started at `checkpoint`: a remembered head inside
    /// the verified prefix is looked up at its line (its bytes are the checkpoint's).
    private func checkRemembered(_ reading: LedgerReading, after checkpoint: LedgerCheckpoint, _ fd: Int32) throws(LedgerError) {
        guard let memory, reading.isIntact else { return }
        let last = reading.records.last.map { ($0.seq, $0.hash) } ?? (checkpoint.seq, checkpoint.head)
        let problem = memory.problem(path: path, id: checkpoint.ledgerID, last: last) { seq in
            if seq > checkpoint.seq {
                return seq - checkpoint.seq <= reading.records.count ? reading.records[seq - checkpoint.seq - 1].hash : nil
            }
            if seq == checkpoint.seq { return checkpoint.head }
            guard seq >= 1, seq <= checkpoint.lineOffsets.count else { return nil }
            let start = checkpoint.lineOffsets[seq - 1]
            let end = seq < checkpoint.lineOffsets.count ? checkpoint.lineOffsets[seq] : checkpoint.offset
            // Unreadable counts as different: a remembered head is never skipped.
            // Up to its own newline: a torn line closed off by a torn_tail record may follow it.
            guard end > start, let bytes = try? readBytes(fd, at: start, count: end - start), let newline = bytes.firstIndex(of: 0x0A),
                case .success(let record) = LedgerScanner.verifyLine(bytes[..<newline]), record.seq == seq
            else { return "unreadable" }
            return record.hash
        }
        if let problem { throw problem }
        memory.remember(path: path, id: checkpoint.ledgerID, seq: last.0, hash: last.1)
    }

    /// Whether the file has the Linux append-only attribute (`chattr +a`); nil when it cannot be
    /// told (no file, or a file system without inode flags).
    public func appendOnlyAttribute() -> Bool? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return Ledger.isAppendOnly(fd)
    }

    static func isAppendOnly(_ fd: Int32) -> Bool? {
        var flags: Int32 = 0
        guard wpk_get_inode_flags(fd, &flags) == 0 else { return nil }
        return flags & wpk_append_only_flag() != 0
    }

    /// Whether the ledger file exists.
    public var exists: Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    // MARK: Appending

    /// Appends one record after the current head and returns it once it is on disk.
    ///
    /// Only the head is read (not the whole chain), so run events stay cheap on a long ledger;
    /// decisions go through `appendChecked`, which verifies everything.
    @discardableResult
    public func append(_ draft: RecordDraft, operator op: Operator, now: Date) throws(LedgerError) -> LedgerRecord {
        try withExclusiveLock { (fd) throws(LedgerError) -> LedgerRecord in
            let id = try checkRememberedHead(fd)
            let head = try readHead(fd)
            let record = LedgerRecord(seq: head.seq + 1, time: now, draft: draft, operator: op, prev: head.hash)
            try write(record, to: fd)
            memory?.remember(path: path, id: id ?? record.hash, seq: record.seq, hash: record.hash)
            return record
        }
    }

    /// Reads and verifies the whole chain under the exclusive lock, lets `decide` look at it, and
    /// appends the record it returns, if any, before anyone else can write.
    ///
    /// This is how a check and its record stay atomic: two operators approving at once, or two
    /// runs consuming the same approval, are serialized here. A damaged chain refuses every write.
    public func appendChecked<T>(
        operator op: Operator, now: Date,
        _ decide: (LedgerReading) -> (RecordDraft?, T)
    ) throws(LedgerError) -> (record: LedgerRecord?, outcome: T) {
        try withExclusiveLock { (fd) throws(LedgerError) -> (record: LedgerRecord?, outcome: T) in
            let reading = try scanForWriting(fd)
            if let fault = reading.fault {
                throw LedgerError(.chainBroken(fault), "the ledger \(path) is damaged, no decision can be recorded: \(fault)")
            }
            let (draft, outcome) = decide(reading)
            guard let draft else { return (nil, outcome) }
            let record = LedgerRecord(seq: reading.records.count + 1, time: now, draft: draft, operator: op, prev: reading.head)
            try write(record, to: fd)
            memory?.remember(path: path, id: reading.records.first?.hash ?? record.hash, seq: record.seq, hash: record.hash)
            return (record, outcome)
        }
    }

    /// Writes a record built (and signed) outside the lock, but only if the chain still ends
    /// where the record says (`seq` and `prev`); false when another writer got there first.
    public func appendPrepared(_ record: LedgerRecord) throws(LedgerError) -> Bool {
        try withExclusiveLock { (fd) throws(LedgerError) -> Bool in
            let reading = try scanForWriting(fd)
            if let fault = reading.fault {
                throw LedgerError(.chainBroken(fault), "the ledger \(path) is damaged, no decision can be recorded: \(fault)")
            }
            guard reading.head == record.prev, reading.records.count + 1 == record.seq else { return false }
            try write(record, to: fd)
            memory?.remember(path: path, id: reading.records.first?.hash ?? record.hash, seq: record.seq, hash: record.hash)
            return true
        }
    }

    /// The whole chain verified (and checked against the remembered heads) before a torn tail is
    /// set aside, so a record cut from the end (its final newline removed) is noticed, not set aside.
    func scanForWriting(_ fd: Int32) throws(LedgerError) -> LedgerReading {
        let reading = try scan(fd)
        return try setAsideTornTail(fd) > 0 ? try scan(fd) : reading
    }

    /// Checks the last complete record against the remembered heads without reading the whole
    /// chain (run events are appended often); returns the ledger's id (its first record's hash).
    private func checkRememberedHead(_ fd: Int32) throws(LedgerError) -> String? {
        guard let memory else { return nil }
        let size = try fileSize(fd)
        let end = size > 0 ? try endOfLastLine(fd, size: size) : 0
        guard end > 0 else {
            if let problem = memory.problem(path: path, id: nil, last: nil, hashAt: { _ in nil }) { throw problem }
            return nil
        }
        let first = try lastRecord(fd, end: try endOfFirstLine(fd))
        let last = try lastRecord(fd, end: end)
        if let problem = memory.problem(path: path, id: first.hash, last: last, hashAt: { $0 == last.seq ? last.hash : nil }) {
            throw problem
        }
        return first.hash
    }

    /// The offset just past the first newline.
    private func endOfFirstLine(_ fd: Int32) throws(LedgerError) -> Int {
        let bytes = try readBytes(fd, at: 0, count: Ledger.maxLineBytes + 1)
        guard let newline = bytes.firstIndex(of: 0x0A) else {
            throw LedgerError(
                .chainBroken(LedgerFault(line: 1, offset: 0, claimedSeq: nil, problem: "the first line is unterminated or too long")),
                "the ledger \(path) is damaged at its first record; run `wpk approvals verify`")
        }
        return newline + 1
    }

    private func withExclusiveLock<T>(_ body: (Int32) throws(LedgerError) -> T) throws(LedgerError) -> T {
        try checkDirectory(create: true)
        let fd = try openForAppend()
        defer { close(fd) }
        try lock(fd, LOCK_EX)
        return try body(fd)
    }

    /// Opens the ledger for appending, creating it (0600, or 0660 in a setgid team directory)
    /// and syncing its directory when it is new.
    private func openForAppend() throws(LedgerError) -> Int32 {
        let flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
        var fd = open(path, flags)
        if fd < 0 && errno == ENOENT && requireAppendOnly {
            throw LedgerError(
                .unsafePermissions,
                "the team ledger \(path) does not exist, and the machine policy requires it to be append-only; create it with: wpk approvals init"
            )
        }
        if fd < 0 && errno == ENOENT {
            let teamDirectory = directoryMode().map { $0 & S_ISGID != 0 } ?? false
            let mode: mode_t = teamDirectory ? 0o660 : 0o600
            fd = open(path, flags | O_CREAT | O_EXCL, mode)
            if fd >= 0 {
                // The umask may have removed bits; set exactly what the ledger needs.
                guard fchmod(fd, mode) == 0 else {
                    let e = errno
                    close(fd)
                    throw .system("set the mode of", path, e)
                }
                try syncDirectory()
            } else if errno == EEXIST {
                fd = open(path, flags)
            }
        }
        guard fd >= 0 else { throw openError() }
        do throws(LedgerError) {
            try checkFile(fd)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    private func openError() -> LedgerError {
        if errno == ELOOP {
            return LedgerError(.notRegularFile, "the ledger \(path) is a symbolic link; wpk writes only to a regular file")
        }
        return .system("open", path)
    }

    private func write(_ record: LedgerRecord, to fd: Int32) throws(LedgerError) {
        let line = record.line
        guard line.count <= Ledger.maxLineBytes else {
            throw LedgerError(.recordTooLarge, "a record of \(line.count) bytes is longer than the ledger allows (\(Ledger.maxLineBytes))")
        }
        try write(line: line, to: fd)
    }

    private func write(line: [UInt8], to fd: Int32) throws(LedgerError) {
        // One write call for the whole line: with O_APPEND and the lock, no other bytes interleave.
        var written = 0
        while written < line.count {
            let n = line.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, line.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("write to", path)
            }
            written += n
        }
        while fsync(fd) != 0 {
            if errno != EINTR { throw .system("fsync", path) }
        }
    }

    // MARK: Torn tail and head

    /// Moves bytes after the last newline (a write cut short by a crash) to `<ledger>.torn` and
    /// truncates them away; returns how many bytes were set aside. Only an unterminated last
    /// line is ever touched: damage before it is left for verification to report.
    @discardableResult
    func setAsideTornTail(_ fd: Int32) throws(LedgerError) -> Int {
        let size = try fileSize(fd)
        guard size > 0 else { return 0 }
        let keep = try endOfLastLine(fd, size: size)
        guard keep < size else { return 0 }
        let tail = try readBytes(fd, at: keep, count: size - keep)
        let tornPath = path + ".torn"
        let tornFD = open(tornPath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard tornFD >= 0 else { throw .system("open", tornPath) }
        defer { close(tornFD) }
        let header = Array("# \(tail.count) bytes set aside from \(path) at byte \(keep)\n".utf8)
        let block = header + tail + [0x0A]
        guard block.withUnsafeBytes({ systemWrite(tornFD, $0.baseAddress!, block.count) }) == block.count, fsync(tornFD) == 0 else {
            throw .system("write to", tornPath)
        }
        if ftruncate(fd, off_t(keep)) != 0 {
            let code = errno
            guard code == EPERM, Ledger.isAppendOnly(fd) == true else { throw .system("truncate", path, code) }
            try closeOffTornTail(fd, tail: tail, at: keep)
            return tail.count
        }
        guard fsync(fd) == 0 else { throw .system("fsync", path) }
        return tail.count
    }

    /// An append-only file cannot be truncated: a newline ends the torn bytes as one line, and a
    /// `torn_tail` record right after it names their digest and chains from the record before
    /// them, so verification recognises exactly that line (and no other) as a closed-off write.
    private func closeOffTornTail(_ fd: Int32, tail: [UInt8], at offset: Int) throws(LedgerError) {
        let head = try lastRecord(fd, end: offset)
        let draft = RecordDraft(
            type: .tornTail,
            reason:
                "\(tail.count) bytes of an unfinished write at byte \(offset) closed off; the ledger is append-only, so they stay (a copy is in \(path).torn)",
            outputDigest: ContentDigest.sha256(tail))
        let record = LedgerRecord(seq: head.seq + 1, time: Date(), draft: draft, operator: Operator.current(), prev: head.hash)
        try write(line: [0x0A] + record.line, to: fd)
    }

    /// The offset just past the last newline (0 when there is none), scanning backwards in chunks.
    private func endOfLastLine(_ fd: Int32, size: Int) throws(LedgerError) -> Int {
        var end = size
        let chunk = 65_536
        while end > 0 {
            let start = max(0, end - chunk)
            let bytes = try readBytes(fd, at: start, count: end - start)
            if let last = bytes.lastIndex(of: 0x0A) { return start + last + 1 }
            end = start
        }
        return 0
    }

    /// Seq and hash of the last complete record, after setting aside a torn tail. The head
    /// record's own hash is checked so nothing is chained onto a visibly edited record.
    private func readHead(_ fd: Int32) throws(LedgerError) -> (seq: Int, hash: String) {
        try setAsideTornTail(fd)
        return try lastRecord(fd, end: try fileSize(fd))
    }

    /// Seq and hash of the complete record that ends at byte `size` (genesis when there is none).
    private func lastRecord(_ fd: Int32, end size: Int) throws(LedgerError) -> (seq: Int, hash: String) {
        guard size > 0 else { return (0, LedgerRecord.genesis) }
        let window = min(size, Ledger.maxLineBytes + 1)
        let bytes = try readBytes(fd, at: size - window, count: window)
        let body = bytes.dropLast()
        let lineStart = body.lastIndex(of: 0x0A).map { $0 + 1 } ?? body.startIndex
        guard lineStart > body.startIndex || window == size else {
            throw LedgerError(
                .chainBroken(
                    LedgerFault(
                        line: 0, offset: size - window, claimedSeq: nil,
                        problem: "the last line is longer than \(Ledger.maxLineBytes) bytes")),
                "the ledger \(path) is damaged: its last line is too long")
        }
        switch LedgerScanner.verifyLine(body[lineStart...]) {
        case .success(let record): return (record.seq, record.hash)
        case .failure(let problem):
            let fault = LedgerFault(line: 0, offset: size - window + lineStart, claimedSeq: nil, problem: problem.message)
            throw LedgerError(
                .chainBroken(fault), "the ledger \(path) is damaged at its last record: \(problem.message); run `wpk approvals verify`")
        }
    }

    // MARK: Scanning

    /// Verifies the whole file from the start, in bounded chunks.
    private func scan(_ fd: Int32) throws(LedgerError) -> LedgerReading {
        var scanner = LedgerScanner()
        return try scan(fd, with: &scanner)
    }

    private func scan(_ fd: Int32, with scanner: inout LedgerScanner) throws(LedgerError) -> LedgerReading {
        try feed(fd, from: 0, to: &scanner)
        let reading = scanner.finish()
        if let memory {
            if let problem = memory.problem(path: path, reading: reading) { throw problem }
            memory.remember(path: path, reading: reading)
        }
        return reading
    }

    /// Feeds the file from `start` to its end into `scanner`, in bounded chunks, until a fault.
    private func feed(_ fd: Int32, from start: Int, to scanner: inout LedgerScanner) throws(LedgerError) {
        _ = try forEachChunk(fd, from: start, upTo: nil) { chunk in
            scanner.feed(chunk)
            return scanner.fault == nil
        }
    }

    /// Hands the file's bytes from `start` to `end` (or to its end) to `body` in chunks of 1 MiB,
    /// until `body` says stop; whether every byte up to `end` was there.
    private func forEachChunk(
        _ fd: Int32, from start: Int, upTo end: Int?, _ body: (ArraySlice<UInt8>) -> Bool
    ) throws(LedgerError) -> Bool {
        var offset = start
        let chunkSize = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while end.map({ offset < $0 }) ?? true {
            let wanted = min(chunkSize, (end ?? Int.max) - offset)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, wanted, off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("read", path)
            }
            if n == 0 { return end == nil }
            offset += n
            guard body(buffer[0..<n]) else { return false }
        }
        return true
    }

    private func fileSize(_ fd: Int32) throws(LedgerError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("stat", path) }
        return Int(info.st_size)
    }

    private func readBytes(_ fd: Int32, at offset: Int, count: Int) throws(LedgerError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("read", path)
            }
            if n == 0 { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }

    // MARK: Locks and permissions

    private func lock(_ fd: Int32, _ operation: Int32) throws(LedgerError) {
        while flock(fd, operation) != 0 {
            if errno != EINTR { throw .system("lock", path) }
        }
    }

    private var directory: String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    private func directoryMode() -> mode_t? {
        var info = stat()
        return stat(directory, &info) == 0 ? info.st_mode : nil
    }

    /// Refuses a world-writable directory; creates a missing one (0700) when about to write.
    private func checkDirectory(create: Bool) throws(LedgerError) {
        if directoryMode() == nil, create {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            } catch {
                throw LedgerError(.io, "cannot create the ledger directory \(directory): \(error.localizedDescription)")
            }
        }
        guard let mode = directoryMode() else { return }
        if mode & S_IWOTH != 0 {
            throw LedgerError(
                .unsafePermissions,
                "the ledger directory \(directory) is writable by everyone (mode \(String(mode & 0o7777, radix: 8))); anyone could replace the ledger. Fix it with: chmod o-w \(directory)"
            )
        }
    }

    /// Refuses anything but a regular file, and a world-writable one.
    private func checkFile(_ fd: Int32) throws(LedgerError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("stat", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw LedgerError(.notRegularFile, "the ledger \(path) is not a regular file")
        }
        if info.st_mode & S_IWOTH != 0 {
            throw LedgerError(
                .unsafePermissions,
                "the ledger \(path) is writable by everyone (mode \(String(info.st_mode & 0o7777, radix: 8))); anyone could rewrite it. Fix it with: chmod o-w \(path)"
            )
        }
        if requireAppendOnly, Ledger.isAppendOnly(fd) != true {
            throw LedgerError(
                .unsafePermissions,
                "the machine policy requires the append-only attribute on the ledger \(path), and it is not set; set it with: chattr +a \(path) (as root), or create the ledger with wpk approvals init"
            )
        }
    }

    private func syncDirectory() throws(LedgerError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .system("fsync", directory) }
    }
}

/// Verifies ledger bytes line by line as they arrive, keeping only the current partial line.
/// It starts at the beginning of the chain, or right after a checkpoint's record (what came
/// before is then the checkpoint's, verified by whoever primed the scanner).
/// Unchecked: swift-crypto's `SHA256` is a copy-on-write value but not marked `Sendable`.
struct LedgerScanner: @unchecked Sendable {
    /// The records verified by this scanner (after the checkpoint it started from, if any).
    private(set) var records: [LedgerRecord] = []
    private(set) var fault: LedgerFault?
    private var partial: [UInt8] = []
    private var offset = 0
    /// A line that did not verify: damage, unless the next record is the `torn_tail` naming its digest.
    private var pendingDamage: (fault: LedgerFault, digest: String)?
    /// How many records came before the first one this scanner reads, and the last one's hash.
    private var recordsBefore = 0
    private var headBefore = LedgerRecord.genesis
    /// The byte offset of each record line read (scans that make checkpoints).
    private(set) var lineOffsets: [Int] = []
    /// SHA-256 of every byte accepted so far from the start of the file (scans that make checkpoints).
    private var prefixHasher: SHA256?

    /// A scanner for the start of the chain; `makingCheckpoints` keeps what a checkpoint needs.
    init(makingCheckpoints: Bool = false) {
        if makingCheckpoints { prefixHasher = SHA256() }
    }

    /// A scanner that reads on right after `checkpoint`'s record, at its offset; `prefix` holds
    /// the digest of the bytes before it, as the caller just computed it from the file.
    init(after checkpoint: LedgerCheckpoint, prefix: SHA256) {
        recordsBefore = checkpoint.seq
        headBefore = checkpoint.head
        offset = checkpoint.offset
        prefixHasher = prefix
    }

    /// Where the next reader may start: after the last record, when everything read verified
    /// and the scanner keeps checkpoints; nil otherwise. `before` is the checkpoint it started from.
    func checkpoint(ledgerID: String?, before: LedgerCheckpoint?) -> LedgerCheckpoint? {
        guard fault == nil, pendingDamage == nil, let prefixHasher, let id = ledgerID ?? records.first?.hash else { return nil }
        guard let last = records.last else { return before }
        return LedgerCheckpoint(
            ledgerID: id, seq: last.seq, head: last.hash, offset: offset, prefixDigest: Array(prefixHasher.finalize()),
            lineOffsets: (before?.lineOffsets ?? []) + lineOffsets)
    }

    /// Why one line does not verify on its own.
    struct LineProblem: Error {
        var message: String
        var claimedSeq: Int?
    }

    mutating func feed(_ bytes: ArraySlice<UInt8>) {
        var start = bytes.startIndex
        while fault == nil, let newline = bytes[start...].firstIndex(of: 0x0A) {
            if partial.isEmpty {
                accept(bytes[start..<newline])
            } else {
                partial.append(contentsOf: bytes[start..<newline])
                let line = partial
                partial = []
                accept(line[...])
            }
            start = newline + 1
        }
        guard fault == nil else { return }
        partial.append(contentsOf: bytes[start...])
        if partial.count >= Ledger.maxLineBytes {
            fault = LedgerFault(
                line: recordsBefore + records.count + 1, offset: offset, claimedSeq: nil,
                problem: "the line is longer than \(Ledger.maxLineBytes) bytes")
        }
    }

    func finish() -> LedgerReading {
        let fault = fault ?? pendingDamage?.fault
        return LedgerReading(records: records, fault: fault, tornTailBytes: fault == nil ? partial.count : 0)
    }

    private static let newline: [UInt8] = [0x0A]

    mutating func accept(_ line: ArraySlice<UInt8>) {
        let lineNumber = recordsBefore + records.count + 1
        let expectedPrev = records.last?.hash ?? headBefore
        let lineOffset = offset
        defer { offset += line.count + 1 }
        if prefixHasher != nil {
            prefixHasher!.update(data: line)
            prefixHasher!.update(data: Self.newline)
        }
        if let damage = pendingDamage {
            pendingDamage = nil
            // Only the record right after, chained from the last good one and naming these exact bytes, excuses the line.
            guard case .success(let record) = LedgerScanner.verifyLine(line), record.draft.type == .tornTail,
                record.seq == lineNumber, record.prev == expectedPrev, record.draft.outputDigest == damage.digest
            else {
                fault = damage.fault
                return
            }
            append(record, at: lineOffset)
            return
        }
        guard line.count < Ledger.maxLineBytes else {
            fault = LedgerFault(
                line: lineNumber, offset: offset, claimedSeq: nil, problem: "the line is longer than \(Ledger.maxLineBytes) bytes")
            return
        }
        switch LedgerScanner.verifyLine(line) {
        case .failure(let problem):
            pendingDamage = (
                LedgerFault(line: lineNumber, offset: offset, claimedSeq: problem.claimedSeq, problem: problem.message),
                ContentDigest.sha256(line)
            )
        case .success(let record):
            if record.seq != lineNumber {
                fault = LedgerFault(
                    line: lineNumber, offset: offset, claimedSeq: record.seq,
                    problem: "expected seq \(lineNumber): a record before it was deleted, or records were inserted or reordered")
            } else if record.prev != expectedPrev {
                fault = LedgerFault(
                    line: lineNumber, offset: offset, claimedSeq: record.seq,
                    problem: "its prev does not match the hash of the record before it: records were deleted, inserted or reordered")
            } else {
                append(record, at: lineOffset)
            }
        }
    }

    private mutating func append(_ record: LedgerRecord, at lineOffset: Int) {
        records.append(record)
        if prefixHasher != nil { lineOffsets.append(lineOffset) }
    }

    /// Parses one line and checks that its hash covers its content.
    ///
    /// wpk writes each line as the canonical JSON of the record, so the record's canonical
    /// content is exactly the line without its `hash` member; hashing those bytes checks the
    /// chain without re-serializing 100,000 records. Any edit to those bytes (even whitespace)
    /// fails; the fields used are parsed from the very bytes the hash covers.
    static func verifyLine(_ line: ArraySlice<UInt8>) -> Result<LedgerRecord, LineProblem> {
        line.withUnsafeBufferPointer { verifyLine($0) }
    }

    private static func verifyLine(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<LedgerRecord, LineProblem> {
        let parsed: (value: JSONValue, memberRanges: [(key: String, range: Range<Int>)])
        do {
            parsed = try JSONValue.parseWithMemberRanges(bytes, maxDepth: 8)
        } catch {
            return .failure(LineProblem(message: "not valid JSON (\(error))"))
        }
        let value = parsed.value
        guard case .object = value else { return .failure(LineProblem(message: "not a JSON object")) }
        let claimedSeq = value["seq"]?.intValue
        guard let stored = value["hash"]?.stringValue, let member = parsed.memberRanges.first(where: { $0.key == "hash" }) else {
            return .failure(LineProblem(message: "it has no hash", claimedSeq: claimedSeq))
        }
        var start = member.range.lowerBound
        var end = member.range.upperBound
        // Take one separating comma with the member, as the canonical form without it would have.
        if end < bytes.count, bytes[end] == UInt8(ascii: ",") {
            end += 1
        } else if start > 0, bytes[start - 1] == UInt8(ascii: ",") {
            start -= 1
        }
        let raw = UnsafeRawBufferPointer(bytes)
        guard
            LedgerRecord.hash(ofCanonicalParts: [
                UnsafeRawBufferPointer(rebasing: raw[..<start]), UnsafeRawBufferPointer(rebasing: raw[end...]),
            ]) == stored
        else {
            return .failure(LineProblem(message: "its hash does not match its content: the record was edited", claimedSeq: claimedSeq))
        }
        switch LedgerRecord.decode(value) {
        case .success(let record): return .success(record)
        case .failure(let error): return .failure(LineProblem(message: error.message, claimedSeq: claimedSeq))
        }
    }
}
