import ArgumentParser

struct Approve: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Approve a gated step of a playbook or run (not built yet).")
    @Argument var arguments: [String] = []
}
