import ArgumentParser

struct Review: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Review playbooks and approve gated steps in a terminal UI (not built yet).")
    @Argument var arguments: [String] = []
}
