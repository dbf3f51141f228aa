import ArgumentParser
import Foundation

/// The `wpk` root command: review and approve workflow packages before they touch production.
@main
struct WPK: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wpk",
        abstract: "Review, plan, approve and run workflow packages (*.wpk.yaml).",
        discussion: """
            Exit codes: 0 success, 1 diagnostics or a rejected/failed step, 2 usage error.
            """,
        version: "0.1.0",
        subcommands: [
            Validate.self, PlanCommand.self, Review.self, Approve.self, Reject.self,
            Approvals.self, Run.self, Cancel.self, SchemaCommand.self, Sign.self, Verify.self, Serve.self,
        ]
    )

    /// Parses and runs, mapping argument errors to exit code 2 as the contract requires
    /// (swift-argument-parser's own default is 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as UsageFailure {
            printError("Error: \(failure.description)")
            Foundation.exit(2)
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
