import Foundation

/// One benchmark's best-of-N timing.
struct BenchmarkResult {
    var name: String
    var bytes: Int
    var seconds: Double

    var megabytesPerSecond: Double { Double(bytes) / seconds / 1_000_000 }
}

/// A named piece of work; it returns a count so the optimizer cannot drop it.
struct Workload {
    var name: String
    var body: () -> Int
}

/// Runs the workloads interleaved, `rounds` times each, keeping each one's fastest time.
///
/// Interleaving puts every workload under the same background load (this machine is shared),
/// so the ratios between them stay meaningful even when absolute times wander.
func measure(bytes: Int, rounds: Int, _ workloads: [Workload]) -> [BenchmarkResult] {
    var best = [Double](repeating: .infinity, count: workloads.count)
    var sink = 0
    for _ in 0..<rounds {
        for (index, workload) in workloads.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            sink &+= workload.body()
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best[index] = min(best[index], elapsed)
        }
    }
    if sink == Int.min { print("") }
    return zip(workloads, best).map { BenchmarkResult(name: $0.name, bytes: bytes, seconds: $1) }
}

/// Prints results as a table with each row's cost relative to the first.
func report(_ title: String, _ results: [BenchmarkResult]) {
    print("## \(title)")
    guard let floor = results.first else { return }
    for result in results {
        let ratio = result.seconds / floor.seconds
        print(
            String(
                format: "  %-44@ %8.2f ms  %8.1f MB/s  %5.2fx", result.name as NSString, result.seconds * 1000, result.megabytesPerSecond,
                ratio))
    }
}
