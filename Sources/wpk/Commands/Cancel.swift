import ArgumentParser
import Foundation
import WPKCore

/// `wpk cancel RUN_ID --reason TEXT`: stops a run in any state and records who and why.
struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a run in any state, waiting or running.",
        discussion: """
            Writes a `cancelled` record for the run. A waiting run stops waiting; a running step's \
            process group gets SIGTERM (then SIGKILL after the run's grace period). When the run's \
            process is alive on this host, waits up to --wait seconds for it to confirm.
            Exit codes: 0 cancelled, 1 no such run, it has already ended, or the ledger cannot be written, 2 usage error.
            """
    )

    @OptionGroup var ledgerOptions: LedgerOptions

    @Argument(help: "The run id `wpk run` printed.")
    var runID: String

    @Option(name: .long, help: "Why the run is cancelled (recorded).")
    var reason: String

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the run to confirm it stopped (0: do not wait).", valueName: "SECONDS"))
    var wait: Double = 15

    func run() throws {
        let s = DisplaySanitizer.sanitize
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw UsageFailure("--reason must say why") }
        guard reason.count <= ApprovalPolicy.maxReasonLength else {
            throw UsageFailure("--reason is longer than \(ApprovalPolicy.maxReasonLength) characters")
        }
        guard wait >= 0, wait <= 3600 else { throw UsageFailure("--wait must be between 0 and 3600 seconds") }
        let ledger = try ledgerOptions.chosen("wpk cancel", policy: MachinePolicy.load())
        let now = Date()
        let outcome: CancelOutcome
        do {
            outcome = try ledger.recordCancellation(run: runID, reason: reason, operator: Operator.current(), now: now)
        } catch {
            printError("wpk cancel: \(error)")
            throw ExitCode(1)
        }
        switch outcome {
        case .unknown:
            printError("wpk cancel: no run \(s(runID)) in \(s(ledger.location))")
            throw ExitCode(1)
        case .ended(let outcome):
            printError("wpk cancel: run \(s(runID)) has already ended (\(s(outcome))); nothing to cancel")
            throw ExitCode(1)
        case .cancelled(let status, let record):
            let seq = record.map { " (record \($0.seq))" } ?? ""
            switch status {
            case .waiting(let step, _, _):
                writeOut("cancelled run \(s(runID))\(seq): it was waiting at \(s(step))\n")
            case .running(let steps):
                let what = steps.isEmpty ? "between steps" : "running \(steps.map(s).joined(separator: ", "))"
                writeOut("cancelled run \(s(runID))\(seq): it was \(what)\n")
            case .processGone(let open):
                let unknown =
                    open.isEmpty ? "" : "; outcome unknown for started steps: \(open.map(s).joined(separator: ", ")) (check them by hand)"
                writeOut("cancelled run \(s(runID))\(seq): its process is gone\(unknown)\n")
                return
            case .ended:
                return
            }
            if let confirmed = awaitConfirmation(ledger: ledger) {
                writeOut("run \(s(runID)) stopped: \(s(confirmed))\n")
            } else if wait > 0 {
                writeOut("run \(s(runID)) has not confirmed yet; it stops at its next check\n")
            }
        }
    }

    /// Waits (on ledger changes, not a busy loop) for the run's `run_finished` record.
    private func awaitConfirmation(ledger: any LedgerBackend) -> String? {
        guard wait > 0 else { return nil }
        let monitor = RunMonitor(ledger: ledger, run: runID, interrupt: nil, slowPollSeconds: 1)
        let deadline = Date().addingTimeInterval(wait)
        while Date() < deadline {
            if let records = try? ledger.read().records,
                let finished = records.last(where: { $0.draft.type == .runFinished && $0.draft.run == runID })
            {
                return finished.draft.outcome ?? "finished"
            }
            monitor.sleep(upTo: min(1, deadline.timeIntervalSinceNow))
        }
        return nil
    }
}
