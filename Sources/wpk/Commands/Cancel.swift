import ArgumentParser

struct Cancel: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Cancel a run in any state (not built yet).")
    @Argument var arguments: [String] = []
}
