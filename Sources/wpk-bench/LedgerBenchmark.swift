import Foundation
import WPKCore

/// Ledger benchmarks: appends per second with `fsync`, and the time to verify and to fold a
/// ledger of `records` records (target: under a second each for 100,000). Returns report lines;
/// `main` prints them. Run with `swift run -c release wpk-bench`.
func runLedgerBenchmarks(records: Int = 100_000, appends: Int = 500) throws -> [String] {
    let directory = NSTemporaryDirectory() + "/wpk-ledger-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let op = Operator.current()
    var report: [String] = []

    // 1. Appends through the real path: lock, head re-read, O_APPEND write, fsync.
    let appendLedger = Ledger(path: directory + "/append.jsonl")
    let appendStart = DispatchTime.now()
    for i in 1...appends {
        try appendLedger.append(
            RecordDraft(type: .stepFinished, run: "bench", step: "step-\(i)", reason: "benchmark"), operator: op, now: Date())
    }
    let appendSeconds = seconds(since: appendStart)
    report.append(
        String(
            format: "ledger append (flock + O_APPEND + fsync): %d appends in %.3f s = %.0f appends/s", appends, appendSeconds,
            Double(appends) / appendSeconds))

    // 2. A large realistic ledger, written in one go (a chain built in memory, not 100,000 fsyncs).
    let bigPath = directory + "/big.jsonl"
    let bytes = realisticLedgerBytes(records: records)
    try Data(bytes).write(to: URL(fileURLWithPath: bigPath))
    chmod(bigPath, 0o600)
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    let bigLedger = Ledger(path: bigPath)
    let verifyStart = DispatchTime.now()
    let verifyCPUStart = cpuSeconds()
    let reading = try bigLedger.read()
    let verifySeconds = seconds(since: verifyStart)
    let verifyCPU = cpuSeconds() - verifyCPUStart
    guard reading.isIntact, reading.records.count == records else { throw BenchmarkFailure(message: "the generated ledger did not verify") }
    report.append(
        String(
            format: "ledger verify (read, parse, re-hash): %d records, %.1f MB in %.3f s wall, %.3f s CPU", records,
            Double(bytes.count) / 1e6, verifySeconds, verifyCPU))

    let foldStart = DispatchTime.now()
    let foldCPUStart = cpuSeconds()
    let state = LedgerState(records: reading.records)
    let overview = state.overview(at: start.addingTimeInterval(Double(records)))
    let foldSeconds = seconds(since: foldStart)
    let foldCPU = cpuSeconds() - foldCPUStart
    report.append(
        String(
            format: "ledger fold (state + overview): %d records into %d gates and %d runs in %.3f s wall, %.3f s CPU", records,
            overview.count, state.runs.count, foldSeconds, foldCPU))

    // What a waiting `wpk run` pays each time the ledger changes: settle its gate under the lock
    // (verify everything, fold, decide). A run id that is not in the ledger: nothing is written.
    let subject = GateSubject(
        playbook: "playbook-1", playbookDigest: "sha256:" + String(repeating: "1", count: 64),
        planDigest: "sha256:" + String(repeating: "0", count: 64), step: "migrate",
        gate: GateRequirement(required: true, approvals: 1), safety: SafetySettings(), run: "bench-run")
    let settleStart = DispatchTime.now()
    let settleCPUStart = cpuSeconds()
    _ = try bigLedger.settleGate(subject: subject, policy: .loaded(.builtIn), operator: op, now: start.addingTimeInterval(Double(records)))
    report.append(
        String(
            format: "gate wake of a waiting run (settleGate: lock, verify, fold, decide): %d records in %.3f s wall, %.3f s CPU",
            records, seconds(since: settleStart), cpuSeconds() - settleCPUStart))
    return report
}

/// A realistic ledger of `records` records (runs starting, waiting, approved twice, consuming,
/// steps, finishing; 20 operators), as the bytes of its file: a chain built in memory.
func realisticLedgerBytes(records: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(records * 420)
    var prev = LedgerRecord.genesis
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let operators = (0..<20).map { Operator(uid: 2000 + $0, name: "operator\($0)", tty: "/dev/pts/\($0)", sshSource: "10.0.0.\($0)") }
    for seq in 1...records {
        let playbook = "playbook-\(seq % 50)"
        let digest = "sha256:" + String(repeating: String(seq % 50 % 10), count: 64)
        let plan = "sha256:" + String(repeating: String((seq / 1000) % 10), count: 64)
        let run = "run-\(seq / 10)"
        let draft: RecordDraft
        switch seq % 10 {
        case 0: draft = RecordDraft(type: .runStarted, run: run, playbook: playbook, playbookDigest: digest, planDigest: plan)
        case 1:
            draft = RecordDraft(
                type: .waiting, run: run, playbook: playbook, playbookDigest: digest, planDigest: plan, step: "migrate",
                approvalsRequired: 2, expires: start.addingTimeInterval(Double(seq + 600)))
        case 2, 3:
            draft = RecordDraft(
                type: .approved, playbook: playbook, playbookDigest: digest, planDigest: plan, step: "migrate",
                approvalsRequired: 2, expires: start.addingTimeInterval(Double(seq + 600)))
        case 4:
            draft = RecordDraft(
                type: .consumed, run: run, playbook: playbook, playbookDigest: digest, planDigest: plan, step: "migrate",
                consumes: [seq - 2, seq - 1])
        case 9: draft = RecordDraft(type: .runFinished, run: run, reason: "succeeded")
        default:
            draft = RecordDraft(
                type: .stepFinished, run: run, playbook: playbook, playbookDigest: digest, planDigest: plan,
                step: "step-\(seq % 10)", reason: "exit 0 after 1 attempt")
        }
        let record = LedgerRecord(
            seq: seq, time: start.addingTimeInterval(Double(seq)), draft: draft, operator: operators[seq % 20], prev: prev)
        prev = record.hash
        bytes += record.line
    }
    return bytes
}

/// A benchmark that could not measure what it should.
struct BenchmarkFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// CPU time of this process: on a machine shared with other builds, wall time overstates cost.
/// This process's CPU time (user and system), in seconds.
func cpuSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

private func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
