import FuzzSupport
import WPKCore
import WPKReview

/// The review core's render of a playbook view at a random size: the first two bytes pick the
/// terminal size (1x1 to 160x60), the rest is the playbook. Every pane, the help screen and the
/// approval dialog are drawn; every screen must have exactly the requested size and no cell may
/// hold a control character (nothing from the file may reach the terminal as a sequence).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    let screenSize = Size(width: Int(input[0]) % 160 + 1, height: Int(input[1]) % 60 + 1)
    let bytes = Array(input.dropFirst(2))
    let document = try? YAMLLoader.load(bytes)
    var inputs: [String: String] = [:]
    for declared in document.map({ Playbook(root: $0.root).inputs }) ?? [] where declared.defaultValue == nil && !declared.secret {
        inputs[declared.name.value] = declared.type == "integer" || declared.type == "number" ? "3" : "fuzz-value"
    }
    let outcome = Planner.plan(bytes: bytes, path: "fuzz.wpk.yaml", inputs: inputs, checker: wpkChecker)
    var plan: Plan?
    if case .planned(let planned, _) = outcome { plan = planned }
    let entry = PlaybookReader.entry(
        path: "fuzz.wpk.yaml", root: document?.root, diagnostics: outcome.report.diagnostics, fallbackName: "fuzz")
    let detail = PlaybookDetail(
        entry: entry, overview: document.map { PlaybookReader.overview($0.root) } ?? [], source: bytes,
        diagnostics: outcome.report.diagnostics,
        plan: plan.map { plan in plan.steps.enumerated().map { PlanStepView($1, index: $0, plan: plan, gateState: .pending) } },
        planDigest: plan?.planDigest, planNote: "no plan", history: [], historyNote: "no history")

    var state = ReviewState(options: ReviewOptions(asciiOnly: input[0] & 1 == 1), size: screenSize)
    var events: [ReviewEvent] = [.listLoaded([entry]), .key(.enter), .detailLoaded(detail)]
    events += [
        .key(.tab), .key(.tab), .key(.end), .key(.tab), .key(.tab), .key(.down), .key(.character("a")),
        .key(.escape), .key(.character("?")), .resize(Size(width: screenSize.height, height: screenSize.width)),
    ]
    for event in events {
        state = update(state, event).0
        let screen = render(state)
        precondition(screen.size == state.size, "screen \(screen.size) for a terminal of \(state.size)")
        for row in 0..<screen.size.height {
            for column in 0..<screen.size.width {
                for scalar in screen[row, column].character.unicodeScalars {
                    precondition(
                        scalar.value >= 0x20 && !(0x7F...0x9F).contains(scalar.value),
                        "control character U+\(String(scalar.value, radix: 16)) in a cell")
                }
            }
        }
    }
    return 0
}

@main
enum FuzzReviewRender {
    static func main() { runFuzzer(fuzzOneInput) }
}
