import Foundation
import WPKCore
import WPKReview

// wpk-bench [DOCUMENTS] [SCHEMA]: run from the package root, release build. Every measurement is
// printed next to its floor, all in one run, on a corpus of the bundled example playbooks.
let arguments = Array(CommandLine.arguments.dropFirst())
let documents = arguments.first.flatMap { Int($0) } ?? 1000
let schemaPath = arguments.dropFirst().first ?? "specs/wpk_schema.yaml"
let rounds = Int(ProcessInfo.processInfo.environment["WPK_BENCH_ROUNDS"] ?? "") ?? 15
// WPK_BENCH_ONLY=runs: only the Runs view of the review UI.
// WPK_BENCH_WRITE_RUNS_LEDGER=PATH: write that ledger (10,000 runs, 100 waiting) for timing `wpk review` on it.
if let path = ProcessInfo.processInfo.environment["WPK_BENCH_WRITE_RUNS_LEDGER"] {
    do { try ReviewBenchmark.writeRunLedger(to: path) } catch {
        print("wpk-bench: \(error)")
        exit(1)
    }
    exit(0)
}
// WPK_BENCH_ONLY=ledgers: only the two ledger backends side by side (PostgreSQL needs a server).
if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "ledgers" {
    for line in LedgerBackendBenchmark.run() { print(line) }
    exit(0)
}
// WPK_BENCH_ONLY=fold: one fold of the 10,000-run ledger, nothing else (for callgrind).
if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "fold" {
    // WPK_BENCH_RUNS: fewer runs keep building the records (hashing them) from drowning the fold in a profile.
    let runs = Int(ProcessInfo.processInfo.environment["WPK_BENCH_RUNS"] ?? "") ?? 10_000
    let records = ReviewBenchmark.runLedger(runs: runs, waiting: min(100, runs))
    let start = cpuSeconds()
    let state = LedgerState(records: records)
    print(
        String(
            format: "fold: %d records, %d runs, %d gates in %.3f s CPU", state.recordCount, state.runs.count, state.gates.count,
            cpuSeconds() - start))
    exit(0)
}
// WPK_BENCH_ONLY=snapshot: decode the 10,000-run ledger's snapshot 50 times, nothing else (for perf).
if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "snapshot" {
    let records = ReviewBenchmark.runLedger(runs: 10_000, waiting: 100)
    let state = LedgerState(records: records)
    var offsets: [Int] = []
    var offset = 0
    for record in records {
        offsets.append(offset)
        offset += record.line.count
    }
    let checkpoint = LedgerCheckpoint(
        ledgerID: records[0].hash, seq: records.count, head: state.head, offset: offset, prefixDigest: Array(repeating: 0, count: 32),
        lineOffsets: offsets)
    let bytes = LedgerSnapshot(checkpoint: checkpoint, state: state).encoded()
    let start = cpuSeconds()
    for _ in 0..<50 { precondition(LedgerSnapshot(decoding: bytes) != nil) }
    print(String(format: "snapshot: %d bytes, decoded in %.1f ms CPU each", bytes.count, (cpuSeconds() - start) * 20))
    exit(0)
}
// WPK_BENCH_ONLY=rows: the Runs view's rows of the 10,000-run ledger, 50 times (for perf).
if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "rows" {
    let state = LedgerState(records: ReviewBenchmark.runLedger(runs: 10_000, waiting: 100))
    let now = Date(timeIntervalSince1970: 1_800_000_000 + 20_000)
    let start = cpuSeconds()
    for _ in 0..<50 { precondition(ReviewBenchmark.rows(of: state, at: now).count == 10_000) }
    print(String(format: "rows: %.1f ms CPU each", (cpuSeconds() - start) * 20))
    exit(0)
}
if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "runs" {
    ReviewBenchmark.runsView(size: Size(width: 120, height: 40))
    exit(0)
}
do {
    let corpus = try Corpus.playbooks(count: documents)
    let megabytes = Double(corpus.reduce(0) { $0 + $1.count }) / 1_000_000
    print("corpus: \(documents) copies of the example playbooks, \(String(format: "%.2f", megabytes)) MB")
    if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "check" {
        // The stages of `wpk validate`, one thread (for profiling the checker).
        report(
            "Checking (wpk validate's stages)",
            CheckBenchmark.run(corpus: corpus, schema: try CompiledSchema(contentsOfFile: schemaPath), rounds: rounds))
        exit(0)
    }
    if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "signatures" {
        // Verifying 1,000 signed playbooks against wpk validate's time on them (issue 17: < 20% more).
        report(
            "Signed playbooks (\(ProcessInfo.processInfo.activeProcessorCount) workers, as wpk validate DIR)",
            try SignatureBenchmark.run(count: documents, schema: try CompiledSchema(contentsOfFile: schemaPath), rounds: rounds))
        exit(0)
    }
    report("YAML loading", LoaderBenchmark.run(corpus: corpus, rounds: rounds))
    // WPK_BENCH_ONLY=loader stops here (for profiling the loader alone).
    if ProcessInfo.processInfo.environment["WPK_BENCH_ONLY"] == "loader" { exit(0) }
    report("Planning the five examples (\(documents) plans)", PlanBenchmark.run(count: documents, rounds: rounds))
    let schema = try CompiledSchema(contentsOfFile: schemaPath)
    print("schema file: \(schemaPath)")
    runSchemaBenchmark(corpus: corpus, schema: schema)
} catch {
    print("wpk-bench: \(error) (run it from the package root)")
}

// The approval ledger: appends with fsync, verifying and folding 100,000 records.
do {
    for line in try runLedgerBenchmarks() { print(line) }
} catch {
    print("ledger benchmark: \(error)")
}
for line in LedgerBackendBenchmark.run() { print(line) }

// wpk run: the cost of one step's process.
for line in runStepProcessBenchmark() { print(line) }

// The review UI: time to first frame, keystroke update + render, bytes per cursor move.
ReviewBenchmark.run()
