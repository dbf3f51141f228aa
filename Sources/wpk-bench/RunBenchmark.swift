import Foundation
import WPKCore

/// `wpk run` costs: spawning one step process in its own group and reaping it (what every step
/// pays besides its two fsynced ledger appends). Returns report lines; `main` prints them.
func runStepProcessBenchmark(processes: Int = 200) -> [String] {
    let spec = ProcessSpec(arguments: ["/bin/true"], environment: ["PATH": "/usr/bin:/bin"], timeoutSeconds: 10)
    _ = StepProcess.run(spec)  // warm-up: the first spawn pays for loading and the subreaper call
    let start = DispatchTime.now()
    var cpu = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)
    let cpuStart = Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9
    for _ in 0..<processes {
        let outcome = StepProcess.run(spec)
        precondition(outcome.succeeded, "/bin/true failed: \(outcome.ending)")
    }
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)
    let cpuUsed = Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9 - cpuStart
    return [
        String(
            format:
                "step process (posix_spawn in its own group, pidfd wait, reap): %d runs of /bin/true, %.2f ms wall and %.2f ms CPU each",
            processes, wall * 1000 / Double(processes), cpuUsed * 1000 / Double(processes))
    ]
}
