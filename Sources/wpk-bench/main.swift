import Foundation

// wpk-bench: `swift run -c release wpk-bench [documents]`; prints each measurement next to its floor.
let arguments = CommandLine.arguments.dropFirst()
let documents = arguments.first.flatMap { Int($0) } ?? 1000
let corpus = Corpus.playbooks(count: documents)
let megabytes = Double(corpus.reduce(0) { $0 + $1.count }) / 1_000_000
print("corpus: \(documents) generated playbooks, \(String(format: "%.2f", megabytes)) MB")
report("YAML loading", LoaderBenchmark.run(corpus: corpus, rounds: Int(ProcessInfo.processInfo.environment["WPK_BENCH_ROUNDS"] ?? "") ?? 15))
