import Foundation
import WPKCore

/// Planning cost next to loading the same bytes: the five bundled examples, each with the inputs
/// its golden plan uses, repeated to `count` documents.
enum PlanBenchmark {
    static let inputs: [String: [String: String]] = [
        "requeue-job": ["cronjob": "nightly-report", "failed_job": "nightly-report-29012"],
        "restart-unhealthy": ["deployment": "checkout", "app_label": "checkout"],
        "scale-on-latency": ["replicas": "12"],
    ]

    /// The examples' bytes with their inputs, found from this file's path.
    static func corpus(count: Int) -> [(bytes: [UInt8], inputs: [String: String])] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/playbooks")
        let names = ["backup-verify", "requeue-job", "restart-unhealthy", "rotate-secret", "scale-on-latency"]
        let examples = names.compactMap { name -> (bytes: [UInt8], inputs: [String: String])? in
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("\(name).wpk.yaml").path) else {
                return nil
            }
            return (Array(data), inputs[name] ?? [:])
        }
        guard !examples.isEmpty else { return [] }
        return (0..<count).map { examples[$0 % examples.count] }
    }

    static func run(count: Int, rounds: Int) -> [BenchmarkResult] {
        let corpus = corpus(count: count)
        let bytes = corpus.reduce(0) { $0 + $1.bytes.count }
        return measure(
            bytes: bytes, rounds: rounds,
            [
                Workload(name: "load examples") {
                    corpus.reduce(0) { sum, item in sum + ((try? YAMLLoader.load(item.bytes))?.root.mapping?.count ?? 0) }
                },
                Workload(name: "load + plan (inputs, substitution, digest)") {
                    corpus.reduce(0) { sum, item in
                        guard let document = try? YAMLLoader.load(item.bytes),
                            case .success(let plan) = Planner.plan(document, path: "bench", digest: "sha256:", inputs: item.inputs)
                        else { return sum }
                        return sum + plan.steps.count
                    }
                },
            ])
    }
}
