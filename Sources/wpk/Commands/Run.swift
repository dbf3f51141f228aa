import ArgumentParser

struct Run: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Execute a playbook, waiting at each gated step for approval (not built yet).")
    @Argument var arguments: [String] = []
}
