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
    var load = Double.infinity
    var validate = Double.infinity
    var check = Double.infinity
    var violations = 0
    for _ in 0..<rounds {
        var loaded: [Node] = []
        loaded.reserveCapacity(corpus.count)
        load = min(
            load,
            seconds(
                clock.measure {
                    for bytes in corpus { if let document = try? YAMLLoader.load(bytes) { loaded.append(document.root) } }
                }))
        roots = loaded
        var found = 0
        validate = min(
            validate,
            seconds(
                clock.measure {
                    for root in roots { found += schema.validate(root).count }
                }))
        violations = found
        var valid = 0
        check = min(
            check,
            seconds(
                clock.measure {
                    for root in roots where schema.isValid(root) { valid += 1 }
                }))
    }
    let result = SchemaBenchmarkResult(
        documents: roots.count, bytes: corpus.reduce(0) { $0 + $1.count }, violations: violations,
        loadSeconds: load, validateSeconds: validate, isValidSeconds: check)
    func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
    print("schema: \(result.documents) documents, \(result.bytes / 1024) KiB, \(result.violations) violations")
    print("schema:   load     \(ms(load))  (\(Int(Double(result.documents) / load)) documents/s)")
    print("schema:   validate \(ms(validate))  (\(Int(Double(result.documents) / validate)) documents/s, full report)")
    print("schema:   isValid  \(ms(check))  (\(Int(Double(result.documents) / check)) documents/s, first failure)")
    print("schema:   validate / load = \(String(format: "%.2f", validate / load)) (target: below 1)")
    return result
}
