import Foundation
import Testing

@testable import WPKCore

@Suite struct TemplateTests {
    @Test func findsReferencesWithPositionsAndNames() {
        let text = "a ${{ inputs.x }} b\n  c${{run.id}} ${{ inputs.env == 'prod.eu' }}"
        let refs = Templates.references(in: text)
        #expect(refs.map(\.expression) == ["inputs.x", "run.id", "inputs.env == 'prod.eu'"])
        #expect(refs.map(\.line) == [0, 1, 1])
        #expect(refs.map(\.column) == [2, 3, 15])
        #expect(refs[2].names == ["inputs.env"])
        #expect(refs[0].inputNames == ["x"])
    }

    @Test func unclosedReferenceIsReportedEmpty() {
        let refs = Templates.references(in: "x ${{ inputs.a")
        #expect(refs.count == 1)
        #expect(refs[0].expression.isEmpty)
    }

    @Test func columnsCountCharactersNotBytes() {
        let refs = Templates.references(in: "é€ ${{ inputs.a }}")
        #expect(refs[0].column == 3)
    }

    @Test func substitutesEachReference() {
        let out = Templates.substitute("deployment/${{ inputs.name }}-${{ run.id }}/${{ inputs.other }}") { ref in
            ref.expression == "inputs.name" ? "web" : ref.expression == "run.id" ? "r1" : nil
        }
        #expect(out == "deployment/web-r1/${{ inputs.other }}")
    }

    @Test func noReferencesLeavesTextAlone() {
        #expect(Templates.references(in: "${ {x}} $ {{y}}").isEmpty)
        #expect(Templates.substitute("plain", { _ in "x" }) == "plain")
    }
}

@Suite struct CronTests {
    @Test(arguments: [
        "30 4 * * *", "*/15 9-17 * * MON-FRI", "0 9 1 */3 *", "0 0 * * 7", "5,35 */2 1-15 JAN,jul sun", "@hourly", " 0 0 29 2 * ",
    ])
    func accepts(_ expression: String) {
        #expect(Cron.problem(expression) == nil)
    }

    @Test(arguments: [
        ("60 * * * *", 0), ("* 24 * * *", 1), ("* * 0 * *", 2), ("* * * 13 *", 3), ("* * * * 8", 4),
        ("*/0 * * * *", 0), ("5-1 * * * *", 0), ("1,,2 * * * *", 0), ("0 0 31 4 *", 2), ("0 0 * FOO *", 3),
    ])
    func rejectsWithTheField(_ expression: String, _ field: Int) {
        #expect(Cron.problem(expression)?.field == field)
    }

    @Test(arguments: ["* * * *", "* * * * * *", "", "@sometimes"])
    func rejectsTheShape(_ expression: String) {
        let problem = Cron.problem(expression)
        #expect(problem != nil)
        #expect(problem?.field == nil)
    }
}

@Suite struct DurationTests {
    @Test func parses() {
        #expect(Durations.seconds("90s") == 90)
        #expect(Durations.seconds("5m") == 300)
        #expect(Durations.seconds("1h30m") == 5400)
        #expect(Durations.seconds("2h") == 7200)
        for bad in ["", "5", "m", "5x", "-5m", "1.5h", "99999999999h", "5m "] {
            #expect(Durations.seconds(bad) == nil, "\(bad)")
        }
    }

    @Test func retryDelays() throws {
        let document = try YAMLLoader.load(
            """
            spec:
              runtime: {type: k8s}
              handlers:
                - {name: a, action: get, retry: {max_attempts: 5, backoff: exponential, initial_delay: 10s, max_delay: 30s}, timeout: 1m}
                - {name: b, action: get, retry: {max_attempts: 3, initial_delay: 5s}}
                - {name: c, action: get}
            """)
        let handlers = Playbook(root: document.root).handlers
        #expect(handlers[0].retryDelaysSeconds == [10, 20, 30, 30])
        #expect(handlers[0].worstCaseSeconds == 5 * 60 + 90)
        #expect(handlers[1].retryDelaysSeconds == [5, 5])
        #expect(handlers[2].worstCaseSeconds == Playbook.Handler.defaultTimeoutSeconds)
    }
}

@Suite struct ActionCatalogueTests {
    let scope = RuntimeScope(k8sContext: "prod-eu", k8sNamespace: "checkout", dockerHost: nil, shellInterpreter: "/bin/bash")

    @Test func namesAreUniquePerRuntime() {
        for runtime in Runtime.allCases {
            let names = ActionCatalogue.all.filter { $0.runtime == runtime }.map(\.name)
            #expect(Set(names).count == names.count)
        }
    }

    @Test func kubectlAlwaysNamesContextAndNamespace() {
        for spec in ActionCatalogue.all where spec.runtime == .k8s {
            let argv = spec.argv(target: "deployment/web", params: [:], scope: scope)
            #expect(Array(argv.prefix(3)) == ["kubectl", "--context=prod-eu", "--namespace=checkout"], "\(spec.name)")
        }
    }

    @Test func fidelityFollowsMutationAndDryRun() {
        for spec in ActionCatalogue.all {
            switch spec.fidelity {
            case .exact: #expect(!spec.mutating && spec.dryRunFlag == nil, "\(spec.name)")
            case .simulated:
                #expect(spec.mutating && spec.dryRunFlag != nil && spec.argv.contains(.dryRun(spec.dryRunFlag!)), "\(spec.name)")
            case .opaque: #expect(spec.mutating && spec.dryRunFlag == nil, "\(spec.name)")
            }
            if spec.destructive { #expect(spec.mutating) }
        }
    }

    @Test func rendersArgv() throws {
        let logs = try #require(ActionCatalogue.action(.k8s, "logs"))
        #expect(
            logs.argv(
                target: "deployment/web", params: ["tail": .integer(500), "previous": .boolean(true), "all_containers": .boolean(false)],
                scope: scope)
                == [
                    "kubectl", "--context=prod-eu", "--namespace=checkout", "logs", "deployment/web", "--previous", "--tail=500",
                    "--timestamps",
                ])

        let restart = try #require(ActionCatalogue.action(.k8s, "rollout-restart"))
        #expect(
            restart.argv(target: "deployment/web", params: [:], scope: scope, dryRun: true).suffix(4) == [
                "rollout", "restart", "deployment/web", "--dry-run=server",
            ])
        #expect(restart.argv(target: "deployment/web", params: [:], scope: scope).last == "deployment/web")

        let job = try #require(ActionCatalogue.action(.k8s, "create-job-from"))
        #expect(
            job.argv(target: "cronjob/report", params: ["job_name": .string("report-retry-1")], scope: scope).suffix(5)
                == ["create", "job", "report-retry-1", "--from", "cronjob/report"])

        let run = try #require(ActionCatalogue.action(.docker, "run"))
        #expect(
            run.argv(
                target: "registry/x:1",
                params: ["env": .map(["B": "2", "A": "1"]), "args": .list(["check", "--fast"]), "network": .string("none")], scope: scope)
                == ["docker", "run", "--rm", "--network=none", "--env", "A=1", "--env", "B=2", "registry/x:1", "check", "--fast"])

        let script = try #require(ActionCatalogue.action(.shell, "script"))
        #expect(script.argv(target: nil, params: ["script": .string("echo hi")], scope: scope) == ["/bin/bash", "-c", "echo hi"])

        let ps = try #require(ActionCatalogue.action(.docker, "ps"))
        #expect(
            ps.argv(target: "checkout", params: [:], scope: RuntimeScope(dockerHost: "unix:///run/docker.sock"))
                == ["docker", "--host=unix:///run/docker.sock", "ps", "--all", "--no-trunc", "--filter", "name=checkout"])

        let http = try #require(ActionCatalogue.action(.shell, "http-check"))
        #expect(
            http.argv(target: "https://x/healthz", params: ["max_time": .integer(5)], scope: scope).suffix(3) == [
                "--max-time", "5", "https://x/healthz",
            ])
    }

    @Test func permissionsComeFromTheTarget() throws {
        let get = try #require(ActionCatalogue.action(.k8s, "get"))
        #expect(get.requiredPermissions(target: "pods") == ["pods:list"])
        #expect(get.requiredPermissions(target: "deploy/web") == ["deployments:get"])
        #expect(ActionCatalogue.action(.k8s, "scale")?.requiredPermissions(target: "sts/db") == ["statefulsets/scale:patch"])
        #expect(ActionCatalogue.action(.k8s, "annotate")?.requiredPermissions(target: "externalsecret/x") == ["externalsecrets:patch"])
        #expect(ActionCatalogue.action(.k8s, "rollout-restart")?.requiredPermissions(target: nil) == [])
        #expect(ActionCatalogue.action(.docker, "run")?.requiredPermissions(target: "img:1") == ["docker:run"])
    }

    /// specs/actions.md is generated from the catalogue (re-record with WPK_RECORD_SNAPSHOTS=1),
    /// so the document can never disagree with the table the rules and planner read.
    @Test func actionsDocumentIsTheCatalogue() throws {
        let generated = ActionCatalogueDocument.markdown()
        if ProcessInfo.processInfo.environment["WPK_RECORD_SNAPSHOTS"] == "1" {
            try generated.write(to: RepoFiles.url("specs/actions.md"), atomically: true, encoding: .utf8)
        }
        #expect(try RepoFiles.text("specs/actions.md") == generated, "specs/actions.md is stale: run the tests with WPK_RECORD_SNAPSHOTS=1")
    }
}

/// The Markdown form of the action catalogue.
enum ActionCatalogueDocument {
    static func markdown() -> String {
        var out = """
            # Action catalogue

            Generated from `Sources/WPKCore/Playbook/Actions.swift` by `ActionCatalogueTests` (re-record with
            `WPK_RECORD_SNAPSHOTS=1`); do not edit by hand. A step names an action of its runtime
            (`runtime:` on the step, else `spec.runtime.type`). Permissions with `<resource>` take the
            plural resource of the target's kind (`deployment/web` gives `deployments`). Fidelity: `exact`
            read-only, run as is by a dry run; `simulated` mutating, with a dry-run variant; `opaque`
            mutating with no dry run. Destructive actions need `allow_destructive_in_auto: true` in auto mode.

            | runtime | action | what it does | target | params (* required) | mutating | destructive | fidelity | permissions | argv |
            | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |

            """
        for spec in ActionCatalogue.all {
            let params =
                spec.params.isEmpty
                ? "-" : spec.params.map { "`\($0.name)`\($0.required ? "*" : "") (\($0.type.rawValue))" }.joined(separator: ", ")
            let permissions = spec.permissions.map { p -> String in
                switch p {
                case .fixed(let s): "`\(s)`"
                case .resource(let verb): "`<resource>:\(verb)`"
                case .subresource(let sub, let verb): "`<resource>/\(sub):\(verb)`"
                case .getOrList: "`<resource>:get` (named) or `:list`"
                case .podsOfWorkload: "`pods:list` (unless a pod)"
                }
            }.joined(separator: ", ")
            let argv = spec.argv.map { part -> String in
                switch part {
                case .literal(let s): s.replacingOccurrences(of: "|", with: "\\|")
                case .k8sScope: "--context=CTX --namespace=NS"
                case .dockerHost: "[--host=HOST]"
                case .interpreter: "INTERPRETER"
                case .target: "TARGET"
                case .targetName: "NAME"
                case .prefixedTarget(let prefix): "\(prefix)TARGET"
                case .params: "[PARAMS]"
                case .param(let name): name.uppercased()
                case .dryRun(let flag): "[\(flag)]"
                case .scriptArguments: "[wpk-STEP VALUES...]"
                }
            }.joined(separator: " ")
            let target: String =
                switch spec.target {
                case .k8sResource: spec.acceptsKindOnly ? "kind[/name]" : "kind/name"
                case .container: "container"
                case .image: "image"
                case .url: "URL"
                case .vaultPath: "Vault path"
                case .none: "-"
                }
            out +=
                "| `\(spec.runtime.rawValue)` | `\(spec.name)` | \(spec.summary) | \(target) | \(params) | \(spec.mutating ? "yes" : "no") | \(spec.destructive ? "**yes**" : "no") | \(spec.fidelity.rawValue) | \(permissions) | `\(argv)` |\n"
        }
        return out
    }
}

@Suite struct PlanningHelperTests {
    @Test func executionOrderPutsDependenciesFirstThenDocumentOrder() throws {
        let document = try YAMLLoader.load(
            """
            spec:
              handlers:
                - {name: restart, depends_on: [logs, events]}
                - {name: events}
                - {name: wait, depends_on: [restart]}
                - {name: logs, depends_on: [events, ghost]}
                - {name: report}
            """)
        let playbook = Playbook(root: document.root)
        let order = try #require(playbook.executionOrder())
        #expect(order.map { playbook.handlers[$0].name?.value ?? "" } == ["events", "logs", "restart", "wait", "report"])
    }

    @Test func executionOrderIsNilOnACycle() throws {
        let document = try YAMLLoader.load("spec: {handlers: [{name: a, depends_on: [b]}, {name: b, depends_on: [a]}, {name: c}]}")
        #expect(Playbook(root: document.root).executionOrder() == nil)
    }

    @Test func everyExampleHasAnOrder() throws {
        for name in ExamplePlaybookTests.names {
            let playbook = Playbook(root: try YAMLLoader.load(RepoFiles.bytes("examples/playbooks/\(name)")).root)
            #expect(playbook.executionOrder()?.count == playbook.handlers.count)
        }
    }

    /// From the example's params to the exact argv, as the planner will do it.
    @Test func paramsBecomeArgvAfterSubstitution() throws {
        let playbook = Playbook(root: try YAMLLoader.load(RepoFiles.bytes("examples/playbooks/scale-on-latency.wpk.yaml")).root)
        let step = try #require(playbook.handlers.first { $0.name?.value == "scale-out" })
        let spec = try #require(step.actionSpec)
        let inputs = ["deployment": "checkout-api", "replicas": "12"]
        let substitute: (String) -> String = { text in
            Templates.substitute(text) { ref in ref.inputNames.first.flatMap { inputs[$0] } }
        }
        let values = spec.paramValues(step.params, substitute: substitute)
        #expect(values == ["replicas": .integer(12)])
        let argv = spec.argv(target: substitute(step.target?.value ?? ""), params: values, scope: playbook.runtime.scope)
        #expect(
            argv == ["kubectl", "--context=prod-eu-west-1", "--namespace=checkout", "scale", "deployment/checkout-api", "--replicas=12"])
        #expect(
            spec.argv(target: "deployment/checkout-api", params: values, scope: playbook.runtime.scope, dryRun: true).last
                == "--dry-run=server")
    }

    @Test func paramValuesTakeTheDeclaredTypes() throws {
        let document = try YAMLLoader.load(
            """
            spec:
              runtime: {type: docker}
              handlers:
                - name: r
                  action: run
                  params: {read_only: true, env: {B: 2, A: x}, args: [a, 1], network: none, unknown: 1, user: [x]}
            """)
        let step = Playbook(root: document.root).handlers[0]
        let values = try #require(step.actionSpec).paramValues(step.params)
        #expect(
            values == [
                "read_only": .boolean(true), "env": .map(["A": "x", "B": "2"]), "args": .list(["a", "1"]), "network": .string("none"),
            ])
    }
}
