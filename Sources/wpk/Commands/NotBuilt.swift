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

struct Plan: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Show the dry-run plan of every handler (not built yet).")
    @Argument var arguments: [String] = []
}

struct Review: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Review playbooks and approve gated steps in a terminal UI (not built yet).")
    @Argument var arguments: [String] = []
}

struct Approve: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Approve a gated step of a playbook or run (not built yet).")
    @Argument var arguments: [String] = []
}

struct Reject: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Reject a gated step with a reason (not built yet).")
    @Argument var arguments: [String] = []
}

struct Approvals: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or verify the approval ledger.",
        subcommands: [List.self, Verify.self]
    )

    struct List: NotBuiltYet {
        static let configuration = CommandConfiguration(abstract: "List approvals, pending first (not built yet).")
        @Argument var arguments: [String] = []
    }

    struct Verify: NotBuiltYet {
        static let configuration = CommandConfiguration(abstract: "Verify the ledger's hash chain (not built yet).")
        @Argument var arguments: [String] = []
    }
}

struct Run: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Execute a playbook, waiting at each gated step for approval (not built yet).")
    @Argument var arguments: [String] = []
}

struct Cancel: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Cancel a run in any state (not built yet).")
    @Argument var arguments: [String] = []
}

struct Validate: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Validate playbooks against the schema and the WPK rules (not built yet).")
    @Argument var arguments: [String] = []
}
