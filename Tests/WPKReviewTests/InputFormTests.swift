import Foundation
import Testing
import WPKCore

@testable import WPKReview

/// A playbook whose input declarations are hostile: escape sequences, bidi controls and a long
/// line in descriptions, defaults and patterns, as a careless or malicious author could write them.
let hostileInputsYAML = """
    apiVersion: wpk/v1
    kind: WorkflowPackage
    metadata: {name: hostile-inputs, version: 1.0.0}
    spec:
      runtime:
        type: shell
        shell: {interpreter: /bin/sh}
      safety: {mode: manual}
      inputs:
        - name: target
          type: string
          description: "Deploy \\e[31mRED\\e[0m \\u202Eevil\\u202C target\\e]0;pwned\\a"
          default: "\\e[2Jcleared"
          pattern: "^[a-z]+$"
        - name: count
          type: integer
          description: "\(String(repeating: "long description ", count: 400))"
          default: 3
        - name: token
          type: string
          secret: true
          secret_ref: env:TOKEN
      handlers:
        - name: show
          action: script
          params: {script: "echo ${{ inputs.target }} ${{ inputs.count }}"}
    """

/// The path the form is for in these tests.
let formPath = "Fixtures/restart-payments.wpk.yaml"

/// A stand-in for the backend's two input effects that runs the real planner check on real YAML
/// (`InputCheck`, the rules `wpk plan --set` applies), so the screens show the core's own words.
struct FormChecker {
    let document: Document
    let digest: String

    init(_ yaml: String) throws {
        document = try YAMLLoader.load(yaml)
        digest = ContentDigest.sha256(Array(yaml.utf8))
    }

    var declarations: [InputDeclaration] { InputDeclaration.all(document.root) }

    /// Feeds events, answering every `.checkInputs` with the real check.
    func run(_ state: ReviewState, _ events: [ReviewEvent]) -> (ReviewState, [Effect]) {
        var state = state
        var all: [Effect] = []
        var queue = events
        while !queue.isEmpty {
            let (next, effects) = update(state, queue.removeFirst())
            state = next
            all += effects
            for case .checkInputs(let path, let values) in effects {
                let check = InputCheck.check(document, path: path, digest: digest, inputs: values)
                queue.insert(.inputsChecked(path: path, values: values, problems: check.problems, general: check.general), at: 0)
            }
        }
        return (state, all)
    }

    /// restart-payments opened from the list with these declarations, the form opened with `i`.
    func formState(_ size: Size, keys: [ReviewEvent] = [], values: [String: String] = [:]) throws -> (ReviewState, [Effect]) {
        var detail = try fixture("restart-payments")
        detail.inputs = declarations
        detail.inputValues = values
        let list = try listState(size)
        let index = try #require(fixtureNames.firstIndex(of: "restart-payments"))
        return run(list, Array(repeating: .key(.down), count: index) + [.key(.character("i")), .detailLoaded(detail)] + keys)
    }
}

@Suite("The inputs form")
struct InputFormTests {
    let payments = try! FormChecker(
        String(contentsOf: fixturesDirectory.appendingPathComponent("restart-payments.wpk.yaml"), encoding: .utf8))

    @Test func iOnTheListLoadsThePlaybookAndOpensTheFormOverEveryDeclaredInput() throws {
        let (state, effects) = try payments.formState(Size(width: 80, height: 24))
        #expect(effects.contains(.loadDetail(path: formPath)))
        guard case .inputs(let form) = state.overlay else {
            Issue.record("no form: \(String(describing: state.overlay))")
            return
        }
        #expect(form.fields.map(\.declaration.name) == ["deployment", "app_label"])
        #expect(form.fields[0].declaration.pattern == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        // Checked at once: both are required and empty.
        #expect(form.checked && form.fields.allSatisfy { $0.problems.first?.contains("is required") == true })
    }

    @Test func eachValueIsCheckedAsTypedAndEnterPlansOnlyWhenAllFit() throws {
        var (state, _) = try payments.formState(Size(width: 80, height: 24), keys: typing("Checkout"))
        guard case .inputs(let bad) = state.overlay else {
            Issue.record("no form")
            return
        }
        #expect(bad.fields[0].value == "Checkout" && bad.fields[0].problems.first?.contains("does not match its pattern") == true)
        var effects: [Effect]
        (state, effects) = payments.run(state, [.key(.enter)])
        #expect(effects.isEmpty && state.status?.text.contains("fix the values") == true)
        (state, _) = payments.run(
            state, Array(repeating: .key(.backspace), count: 8) + typing("checkout") + [.key(.tab)] + typing("checkout"))
        guard case .inputs(let good) = state.overlay else {
            Issue.record("no form")
            return
        }
        #expect(good.isAcceptable && good.values == ["deployment": "checkout", "app_label": "checkout"])
        (state, effects) = payments.run(state, [.key(.enter)])
        #expect(effects == [.planWithInputs(path: formPath, values: ["deployment": "checkout", "app_label": "checkout"])])
        #expect(state.overlay == nil && state.pane == .plan)
    }

    @Test func aStaleAnswerIsIgnoredAndEscLeavesThePlanAsItWas() throws {
        var (state, _) = try payments.formState(Size(width: 80, height: 24), keys: typing("web"))
        // An answer for values no longer in the form (typing went on) changes nothing.
        state =
            update(state, .inputsChecked(path: formPath, values: ["deployment": "we"], problems: ["deployment": ["stale"]], general: [])).0
        guard case .inputs(let form) = state.overlay else {
            Issue.record("no form")
            return
        }
        #expect(form.fields[0].problems.isEmpty)
        let (after, effects) = update(state, .key(.escape))
        #expect(after.overlay == nil && effects.isEmpty && after.status?.text == "inputs unchanged")
    }

    @Test func aSecretTakesNoTypedValue() throws {
        let hostile = try FormChecker(hostileInputsYAML)
        var (state, _) = try hostile.formState(Size(width: 80, height: 24), keys: [.key(.down), .key(.down)] + typing("s3cret"))
        guard case .inputs(let form) = state.overlay else {
            Issue.record("no form")
            return
        }
        #expect(form.focus == 2 && form.fields[2].value.isEmpty && !form.values.keys.contains("token"))
        #expect(state.status?.text.contains("is a secret") == true)
        state = hostile.run(state, [.key(.up)] + typing("7")).0
        guard case .inputs(let typed) = state.overlay else {
            Issue.record("no form")
            return
        }
        #expect(typed.values == ["count": "7"])
    }

    @Test func hostileDeclarationsReachTheScreenOnlyAsVisibleEscapes() throws {
        let hostile = try FormChecker(hostileInputsYAML)
        for size in [Size(width: 80, height: 24), Size(width: 120, height: 40)] {
            let text = render(try hostile.formState(size).0).textDump()
            #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E || $0.value == 0x202C })
            #expect(text.contains("\\x1b[31mRED") && text.contains("<U+202E>"))
        }
    }
}

@Suite("The values a pending gate was planned with")
struct PlannedWithTests {
    /// The list's status line names the values of the selected playbook's pending gate, at both
    /// widths (with the path too below 110 columns, where the path has no column).
    @Test(arguments: [Size(width: 80, height: 24), Size(width: 120, height: 40)])
    func theListSaysWhichValuesAPendingGateWasPlannedWith(size: Size) throws {
        var entries = try fixtureNames.map { try fixture($0).entry }
        entries[2].plannedWith = "deployment=\u{1B}[2Jx"
        let state = run(ReviewState(size: size), [.listLoaded(entries), .key(.down), .key(.down)]).0
        let status = render(state).rowText(Layout.statusRow(size))
        #expect(status.hasPrefix("pending gate planned with deployment=\\x1b[2Jx"), "\(status)")
        #expect(status.contains("Fixtures/restart-payments") == (size.width < 110))
        let other = run(state, [.key(.up)]).0
        #expect(!render(other).rowText(Layout.statusRow(size)).contains("planned with"))
    }
}
