import Foundation
import WPKCore

/// What verifying signatures adds to `wpk validate`: 1,000 signed playbooks on disk (copies of
/// the examples, each signed with the published test key and its `.sig` beside it), checked the
/// way `wpk validate DIR` checks them (the directory walk, one checker per worker, as many
/// workers as processors), without signatures and with every one verified.
enum SignatureBenchmark {
    static func run(count: Int, schema: CompiledSchema, rounds: Int) throws -> [BenchmarkResult] {
        let root = FileManager.default.currentDirectoryPath
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-bench-signed-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try PEMPrivateKey(
            pem: String(contentsOfFile: root + "/Tests/Fixtures/signing/TEST-ONLY-wpk-example.pem", encoding: .utf8))
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/examples/playbooks").filter { $0.hasSuffix(".wpk.yaml") }
            .sorted()
        let texts = try names.map { try String(contentsOfFile: root + "/examples/playbooks/" + $0, encoding: .utf8) }
        var bytes = 0
        for index in 0..<count {
            // Each copy in a directory of its own, under the name its signature ref expects.
            let copyDirectory = directory + "/\(index / 100)/\(index)"
            try FileManager.default.createDirectory(atPath: copyDirectory, withIntermediateDirectories: true)
            let text = Array(Corpus.renamed(texts[index % texts.count], copy: index).utf8)
            let path = copyDirectory + "/" + names[index % names.count]
            try Data(text).write(to: URL(fileURLWithPath: path))
            try Data(try key.signatureFile(for: text)).write(to: URL(fileURLWithPath: path + ".sig"))
            bytes += text.count
        }
        let trust = PlaybookSignatureTrust(policy: MachinePolicy(trustedKeys: root + "/examples/keys"))
        guard trust.keys.count == 1 else { throw CocoaError(.fileReadCorruptFile) }
        let plain = PlaybookChecker(schema: schema, recordsDigest: false)
        var unchecked = plain
        unchecked.signatures = PlaybookSignatureTrust()
        var verifying = plain
        verifying.signatures = trust
        // As `wpk validate` runs: verdicts remembered in a cache directory (filled by a first pass).
        var remembering = verifying
        remembering.signatures?.rememberedVerdicts = VerdictLog(path: directory + "-verdicts.log")
        defer { try? FileManager.default.removeItem(atPath: directory + "-verdicts.log") }
        let workers = ProcessInfo.processInfo.activeProcessorCount
        func validate(_ checker: PlaybookChecker, expecting code: String?) -> Int {
            var reports = 0
            OrderedConcurrentMap.run(
                PlaybookFinder([directory]), workers: workers, window: workers * 32, chunk: 8,
                makeTransform: {
                    let own = checker.separateCopy()
                    return { own.check($0) }
                }
            ) { report in
                // Every copy must be valid, and (when checked) verified: a benchmark of failures would flatter.
                precondition(
                    report.isValid && (code == nil || report.diagnostics.contains { $0.code == code }),
                    "\(report.path): \(report.diagnostics)")
                reports += 1
            }
            return reports
        }
        _ = validate(remembering, expecting: "WPK501")
        return measure(
            bytes: bytes, rounds: rounds,
            [
                Workload(name: "validate \(count) files, signatures not read") { validate(plain, expecting: nil) },
                Workload(name: "+ signature files read, not verified") { validate(unchecked, expecting: "WPK502") },
                Workload(name: "+ every ed25519 signature verified") { validate(verifying, expecting: "WPK501") },
                Workload(name: "+ verified, verdicts remembered (validate)") { validate(remembering, expecting: "WPK501") },
            ])
    }
}
