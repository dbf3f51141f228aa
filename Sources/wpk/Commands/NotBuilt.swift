import ArgumentParser

/// Commands of the contract that exist in `--help` but are not implemented yet: they say so and
/// exit 2, so no script mistakes them for success.
protocol NotBuiltYet: ParsableCommand {}

extension NotBuiltYet {
    func run() throws {
        let name = Self._commandName
        printError("wpk \(name): not built yet")
        throw ExitCode(2)
    }
}
