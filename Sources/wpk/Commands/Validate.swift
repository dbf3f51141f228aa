import ArgumentParser

struct Validate: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Validate playbooks against the schema and the WPK rules (not built yet).")
    @Argument var arguments: [String] = []
}
