import Foundation
import WPKCore

/// Timings of loading and schema-validating one corpus.
struct SchemaBenchmarkResult {
    var documents: Int
    var bytes: Int
    var violations: Int
    /// Best wall-clock time over the rounds to load every document with `YAMLLoader`.
    var loadSeconds: Double
    /// Best wall-clock time over the rounds to validate every loaded document (`validate`, full report).
    var validateSeconds: Double
    /// Best wall-clock time for the yes/no check (`isValid`, stops at the first failure).
    var isValidSeconds: Double
}

/// Loads every document of `corpus`, then validates each against `schema`, best of `rounds`,
/// and prints the figures. Validation must cost less than loading (issue 3's target).
@discardableResult
func runSchemaBenchmark(corpus: [[UInt8]], schema: CompiledSchema, rounds: Int = 5) -> SchemaBenchmarkResult {
    let clock = ContinuousClock()
    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
    var roots: [Node] = []
    var load = Double.infinity, validate = Double.infinity, check = Double.infinity
    var violations = 0
    for _ in 0..<rounds {
        var loaded: [Node] = []
        loaded.reserveCapacity(corpus.count)
        load = min(load, seconds(clock.measure {
            for bytes in corpus { if let document = try? YAMLLoader.load(bytes) { loaded.append(document.root) } }
        }))
        roots = loaded
        var found = 0
        validate = min(validate, seconds(clock.measure {
            for root in roots { found += schema.validate(root).count }
        }))
        violations = found
        var valid = 0
        check = min(check, seconds(clock.measure {
            for root in roots where schema.isValid(root) { valid += 1 }
        }))
    }
    let result = SchemaBenchmarkResult(documents: roots.count, bytes: corpus.reduce(0) { $0 + $1.count }, violations: violations,
                                       loadSeconds: load, validateSeconds: validate, isValidSeconds: check)
    func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
    print("schema: \(result.documents) documents, \(result.bytes / 1024) KiB, \(result.violations) violations")
    print("schema:   load     \(ms(load))  (\(Int(Double(result.documents) / load)) documents/s)")
    print("schema:   validate \(ms(validate))  (\(Int(Double(result.documents) / validate)) documents/s, full report)")
    print("schema:   isValid  \(ms(check))  (\(Int(Double(result.documents) / check)) documents/s, first failure)")
    print("schema:   validate / load = \(String(format: "%.2f", validate / load)) (target: below 1)")
    return result
}

/// A deterministic corpus of realistic playbooks shaped like `Tests/Fixtures/schema/playbook.schema.yaml`:
/// 2 to 12 handlers each, with one document in ten carrying a mistake.
func generatedPlaybookCorpus(count: Int) -> [[UInt8]] {
    var generator = SplitMix64(seed: 0x5eed)
    let runtimes = ["k8s", "docker", "shell"]
    let failures = ["abort", "continue", "rollback"]
    return (0..<count).map { index in
        var text = """
            apiVersion: wpk/v1
            kind: WorkflowPackage
            metadata:
              name: playbook-\(index)
              version: 1.\(index % 7).\(index % 13)
              owner: team-\(index % 9)@example.com
              labels:
                team: platform-\(index % 5)
                app.kubernetes.io/name: service-\(index % 11)
            spec:
              mode: \(index % 3 == 0 ? "auto" : "manual")
              approvals: \(1 + index % 4)
              handlers:

            """
        let handlers = 2 + Int(generator.next() % 11)
        for h in 0..<handlers {
            let runtime = runtimes[Int(generator.next() % 3)]
            text += "    - name: step-\(h)-\(index % 17)\n"
            text += "      runtime: \(runtime)\n"
            if runtime == "k8s" { text += "      namespace: ns-\(index % 23)\n" }
            let broken = index % 10 == 9 && h == handlers - 1
            text += "      timeout: \(broken ? 7200 : 30 + Int(generator.next() % 3000))\n"
            if generator.next() % 2 == 0 { text += "      retry: {max_attempts: \(1 + generator.next() % 5), backoff: 0.\(1 + generator.next() % 9)}\n" }
            if h % 2 == 0 {
                text += "      command: [\"kubectl\", \"rollout\", \"restart\", \"deploy/svc-\(h)\", \"--namespace\", \"ns-\(index % 23)\"]\n"
            } else {
                text += "      command: \"systemctl restart service-\(h)\"\n"
            }
            text += "      on_failure: \(failures[Int(generator.next() % 3)])\n"
        }
        return Array(text.utf8)
    }
}

/// A small deterministic generator, so every run measures the same corpus.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// The fixture schema's path in a source checkout (the benchmark runs from one).
func schemaBenchmarkFixturePath() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        + "/Tests/Fixtures/schema/playbook.schema.yaml"
}
