import ArgumentParser

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
