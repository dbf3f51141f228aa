import FuzzSupport
import WPKCore

private let checker: PlaybookChecker = {
    do {
        return PlaybookChecker(schema: try CompiledSchema(contentsOfFile: repositoryRoot + "/specs/wpk_schema.yaml"))
    } catch {
        fatalError("cannot compile the WPK schema: \(error)")
    }
}()

/// The planner on documents that pass validation: every declared input without a default gets a
/// value (numbers for numeric inputs), and a plan must come out deterministic and self-consistent.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    guard let document = try? YAMLLoader.load(bytes) else { return 0 }
    var inputs: [String: String] = [:]
    for input in Playbook(root: document.root).inputs where input.defaultValue == nil && !input.secret {
        inputs[input.name.value] = input.type == "integer" || input.type == "number" ? "3" : "fuzz-value"
    }
    let first = PlannedPlaybook.load(bytes: bytes, path: "fuzz", checker: checker, inputs: inputs)
    guard let plan = first.plan else { return 0 }
    let second = PlannedPlaybook.load(bytes: bytes, path: "fuzz", checker: checker, inputs: inputs)
    precondition(second.plan?.planDigest == plan.planDigest, "plan digest is not deterministic")
    precondition(plan.summary.steps == plan.steps.count, "summary disagrees with the steps")
    for step in plan.steps {
        precondition(!step.commands.isEmpty && step.commands.allSatisfy { !$0.isEmpty }, "empty command in \(step.handler)")
        precondition(step.retry.delaysSeconds.count == max(0, step.retry.maxAttempts - 1), "retry schedule of \(step.handler)")
    }
    _ = plan.json.serialized(.canonical)
    return 0
}

@main
enum FuzzPlanner {
    static func main() { runFuzzer(fuzzOneInput) }
}
