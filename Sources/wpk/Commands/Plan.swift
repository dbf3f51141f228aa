import ArgumentParser

struct Plan: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Show the dry-run plan of every handler (not built yet).")
    @Argument var arguments: [String] = []
}
