import FuzzSupport
import WPKCore

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
    guard case .planned(let plan, _) = Planner.plan(bytes: bytes, path: "fuzz", inputs: inputs, checker: wpkChecker) else { return 0 }
    guard case .planned(let again, _) = Planner.plan(bytes: bytes, path: "fuzz", inputs: inputs, checker: wpkChecker) else {
        preconditionFailure("planning the same bytes twice gave a plan once")
    }
    precondition(again.planDigest == plan.planDigest, "plan digest is not deterministic")
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
