import Foundation
import Testing

@testable import WPKCore

/// Values typed in a form are checked by the planner's own rules, and each problem is told
/// against the input whose value caused it.
@Suite struct InputCheckTests {
    static let yaml = playbookText(
        inputs: """
                - {name: v, type: string, description: the pod's deployment}
                - {name: n, type: integer, default: 3, minimum: 1}
                - {name: p, type: string, pattern: "^[a-z]+$", required: true}
                - {name: a, type: string, default: x}
            """,
        steps: """
                - name: restart
                  action: rollout-restart
                  target: deployment/${{ inputs.v }}
                  requires_approval: true
                - name: run
                  runtime: docker
                  action: run
                  target: registry.example.com/x:1
                  params: {args: [echo, "${{ inputs.p }}", "${{ inputs.n }}", "${{ inputs.a }}"]}
            """)

    func check(_ values: [String: String]) throws -> InputCheck {
        let document = try YAMLLoader.load(Self.yaml)
        return InputCheck.check(document, path: "t.wpk.yaml", digest: ContentDigest.sha256(Array(Self.yaml.utf8)), inputs: values)
    }

    @Test func fittingValuesGiveThePlanWithThem() throws {
        let check = try check(["v": "web-1", "p": "abc"])
        #expect(check.problems.isEmpty && check.general.isEmpty)
        let plan = try #require(check.plan)
        #expect(plan.step(named: "restart")?.commands.first?.last == "deployment/web-1")
        // The same digest `wpk plan --set` gives for these values.
        #expect(plan.planDigest == (try requirePlan(Self.yaml, ["v": "web-1", "p": "abc"])).planDigest)
    }

    @Test func typePatternAndRangeProblemsSitOnTheirInput() throws {
        let check = try check(["v": "web", "p": "ABC", "n": "0"])
        #expect(check.plan == nil)
        #expect(check.problems["p"]?.first?.contains("does not match its pattern") == true)
        #expect(check.problems["n"]?.first?.contains("below its minimum") == true)
        #expect(check.problems["v"] == nil)
        #expect(try self.check(["v": "web", "p": "abc", "n": "x"]).problems["n"]?.first?.contains("is not an integer") == true)
    }

    @Test func aMissingRequiredValueSitsOnItsInput() throws {
        let check = try check(["v": "web"])
        #expect(check.problems["p"]?.first?.contains("is required") == true)
    }

    /// The argument-safety rules of substitution (the planner's `Substituter`), told per input.
    @Test func argumentSafetyRefusalsSitOnTheValueThatCausedThem() throws {
        let name = try check(["v": "Web_1", "p": "abc"])
        #expect(name.problems["v"]?.first?.contains("is not a Kubernetes object name") == true, "\(name.problems)")
        #expect(name.problems["p"] == nil && name.general.isEmpty)
        let option = try check(["v": "web", "p": "abc", "a": "-rf"])
        #expect(
            option.problems["a"] == ["the value must not start with \"-\": the program would read the argument as an option"],
            "\(option.problems)")
        #expect(option.problems.count == 1 && option.general.isEmpty)
        let control = try check(["v": "web", "p": "abc", "a": "a\u{1B}[31m"])
        #expect(control.problems["a"]?.contains { $0.contains("control character") } == true, "\(control.problems)")
    }

    @Test func declarationsAreReadInOrderWithTheirFacts() throws {
        let document = try YAMLLoader.load(Self.yaml)
        let inputs = InputDeclaration.all(document.root)
        #expect(inputs.map(\.name) == ["v", "n", "p", "a"])
        #expect(inputs[0].description == "the pod's deployment" && inputs[1].type == "integer" && inputs[1].defaultValue == "3")
        #expect(inputs[2].pattern == "^[a-z]+$" && inputs[2].required)
    }
}
