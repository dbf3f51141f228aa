import Foundation
import WPKCore

// wpk-bench: `swift run -c release wpk-bench [documents] [schema-file]`; each measurement is
// printed next to its floor, all in one run.
let arguments = Array(CommandLine.arguments.dropFirst())
let documents = arguments.first.flatMap { Int($0) } ?? 1000
let rounds = Int(ProcessInfo.processInfo.environment["WPK_BENCH_ROUNDS"] ?? "") ?? 15
let corpus = Corpus.playbooks(count: documents)
let megabytes = Double(corpus.reduce(0) { $0 + $1.count }) / 1_000_000
print("corpus: \(documents) generated playbooks, \(String(format: "%.2f", megabytes)) MB")
report("YAML loading", LoaderBenchmark.run(corpus: corpus, rounds: rounds))
report("Planning the five examples (\(documents) plans)", PlanBenchmark.run(count: documents, rounds: rounds))

// Schema validation against a realistic schema (by default the fixture of the schema tests).
do {
    let path = arguments.dropFirst().first ?? schemaBenchmarkFixturePath()
    let schema = try CompiledSchema(contentsOfFile: path)
    print("schema file: \(path)")
    runSchemaBenchmark(corpus: generatedPlaybookCorpus(count: documents), schema: schema)
} catch {
    print("schema benchmark: \(error)")
}

// The approval ledger: appends with fsync, verifying and folding 100,000 records.
do {
    for line in try runLedgerBenchmarks() { print(line) }
} catch {
    print("ledger benchmark: \(error)")
}
