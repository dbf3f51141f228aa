import Foundation
import Synchronization
import WPKCore
import WPKPostgres

/// The two ledger backends side by side: append latency (median and p99) with 1 and with 8
/// concurrent writers, and the time to read and verify 100,000 records (target: under 2 s).
/// The PostgreSQL half needs a server: `WPK_BENCH_PG_SOCKET_DIR` (or the test server's
/// `WPK_TEST_PG_SOCKET_DIR`), run as root (the benchmark's database is made and dropped as the
/// local postgres account).
enum LedgerBackendBenchmark {
    static func run(records: Int = 100_000, appendsPerWriter: Int = 200) -> [String] {
        var report: [String] = []
        let directory = NSTemporaryDirectory() + "/wpk-backend-bench-\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // The file: each writer its own descriptor, so flock serializes them as separate processes.
        for writers in [1, 8] {
            let path = directory + "/append-\(writers).jsonl"
            // Each writer remembering the heads it verified, as `wpk` does on either backend.
            let latencies = appendLatencies(writers: writers, perWriter: appendsPerWriter) { writer in
                var ledger = Ledger(path: path)
                ledger.memory = LedgerHeadMemory(directories: [directory + "/file-heads-\(writers)-\(writer)"])
                return ledger
            }
            report.append(line("file", writers: writers, latencies))
        }

        let environment = ProcessInfo.processInfo.environment
        guard let socket = environment["WPK_BENCH_PG_SOCKET_DIR"] ?? environment["WPK_TEST_PG_SOCKET_DIR"], !socket.isEmpty else {
            report.append(
                "postgresql: skipped (set WPK_BENCH_PG_SOCKET_DIR to a server's socket directory, or eval \"$(scripts/test-postgres.sh start)\")"
            )
            return report
        }
        do {
            report += try postgres(socket: socket, directory: directory, records: records, appendsPerWriter: appendsPerWriter)
        } catch {
            report.append("postgresql: \(error)")
        }
        return report
    }

    private static func postgres(socket: String, directory: String, records: Int, appendsPerWriter: Int) throws -> [String] {
        var report: [String] = []
        let name = "wpk_bench_\(getpid())"
        let url = PostgresURL(user: name, database: name, endpoint: .unixSocket(directory: socket, port: 5432))
        let passwordFile = directory + "/password"
        _ = try PostgresLedgerSetup.initialize(ledger: url, passwordFile: passwordFile, administrator: .init(), group: "root")
        defer { try? PostgresLedgerSetup.dropForBenchmark(url) }
        let password = try PostgresPasswordFile.read(passwordFile)
        /// Each writer is a client of its own (its connection, its head memory), as on separate hosts.
        func client(_ tag: String) -> PostgresLedger {
            PostgresLedger(
                url: url, password: password,
                headMemory: LedgerHeadMemory(directories: [directory + "/heads-\(tag)"]))
        }
        for writers in [1, 8] {
            let latencies = appendLatencies(writers: writers, perWriter: appendsPerWriter) { client("w\(writers)-\($0)") }
            report.append(line("postgresql", writers: writers, latencies))
        }

        // 100,000 records in a database of their own, copied from a file as `wpk approvals migrate` does.
        let bigURL = url.database(name + "_big")
        _ = try PostgresLedgerSetup.initialize(ledger: bigURL, passwordFile: passwordFile, administrator: .init(), group: "root")
        defer { try? PostgresLedgerSetup.dropForBenchmark(bigURL, role: false) }
        let bigPath = directory + "/big.jsonl"
        try Data(realisticLedgerBytes(records: records)).write(to: URL(fileURLWithPath: bigPath))
        let copyTarget = PostgresLedger(
            url: bigURL, password: password,
            headMemory: LedgerHeadMemory(directories: [directory + "/heads-copy"]))
        _ = try PostgresLedgerSetup.migrate(from: Ledger(path: bigPath), to: copyTarget)
        // A client that never saw it: connects, reads every row, verifies the chain, checks and remembers the head.
        let reader = PostgresLedger(
            url: bigURL, password: password,
            headMemory: LedgerHeadMemory(directories: [directory + "/heads-reader"]))
        let start = DispatchTime.now()
        let cpuStart = cpuSeconds()
        let reading = try reader.read()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        guard reading.isIntact, reading.records.count == records else {
            throw BenchmarkFailure(message: "the copied ledger did not verify")
        }
        report.append(
            String(
                format:
                    "postgresql verify (connect, SELECT every row, parse, re-hash): %d records in %.3f s wall, %.3f s CPU (target < 2 s)",
                records, wall, cpuSeconds() - cpuStart))
        return report
    }

    /// Every append's latency in seconds: `writers` threads, each with the ledger `make` gives it,
    /// appending `perWriter` run events as fast as they can.
    static func appendLatencies(writers: Int, perWriter: Int, make: (Int) -> any LedgerBackend) -> [Double] {
        let ledgers = (0..<writers).map(make)
        let collected = Mutex<[Double]>([])
        let failures = Mutex<[String]>([])
        let op = Operator.current()
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            var own: [Double] = []
            own.reserveCapacity(perWriter)
            for i in 0..<perWriter {
                let start = DispatchTime.now()
                do {
                    try ledgers[writer].append(
                        RecordDraft(type: .stepFinished, run: "bench-\(writer)", step: "step-\(i)", reason: "benchmark"),
                        operator: op, now: Date())
                } catch {
                    failures.withLock { $0.append("\(error)") }
                    return
                }
                own.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
            }
            collected.withLock { $0 += own }
        }
        if let failure = failures.withLock({ $0.first }) { print("append failed: \(failure)") }
        return collected.withLock { $0 }
    }

    private static func line(_ backend: String, writers: Int, _ latencies: [Double]) -> String {
        let sorted = latencies.sorted()
        guard !sorted.isEmpty else { return "\(backend) append, \(writers) writer(s): no append succeeded" }
        let median = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
        return String(
            format: "%@ append, %d concurrent writer%@: %d appends, median %.2f ms, p99 %.2f ms", backend, writers, writers == 1 ? "" : "s",
            sorted.count, median * 1000, p99 * 1000)
    }
}
