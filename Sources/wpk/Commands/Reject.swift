import ArgumentParser

struct Reject: NotBuiltYet {
    static let configuration = CommandConfiguration(abstract: "Reject a gated step with a reason (not built yet).")
    @Argument var arguments: [String] = []
}
