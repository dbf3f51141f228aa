import Foundation
import WPKCore

/// What `wpk validate` spends per stage on the corpus, each stage cumulative, next to libyaml's
/// bare event parse (the floor issue 4 measures against).
enum CheckBenchmark {
    static func run(corpus: [[UInt8]], schema: CompiledSchema, rounds: Int) -> [BenchmarkResult] {
        let bytes = corpus.reduce(0) { $0 + $1.count }
        let rulesOnly = PlaybookChecker(schema: nil)
        let schemaOnly = PlaybookChecker(schema: schema, appliesRules: false)
        let full = PlaybookChecker(schema: schema)
        func diagnostics(_ checker: PlaybookChecker) -> Int {
            corpus.reduce(0) { $0 + checker.check(bytes: $1, path: "p.wpk.yaml").diagnostics.count + 1 }
        }
        return measure(
            bytes: bytes, rounds: rounds,
            [
                Workload(name: "libyaml bare event parse") { LoaderBenchmark.bareEventParse(corpus) },
                Workload(name: "load") { LoaderBenchmark.load(corpus) },
                Workload(name: "load + schema") { diagnostics(schemaOnly) },
                Workload(name: "load + rules") { diagnostics(rulesOnly) },
                Workload(name: "load + schema + rules (check)") { diagnostics(full) },
            ])
    }
}
