import Foundation
import Testing

@testable import WPKCore

/// Plans `yaml` (a playbook text) with `inputs`; the digest argument is the text's own.
func makePlan(_ yaml: String, _ inputs: [String: String] = [:]) throws -> Result<Plan, PlanningFailure> {
    let document = try YAMLLoader.load(yaml)
    return Planner.plan(document, path: "test.wpk.yaml", digest: ContentDigest.sha256(Array(yaml.utf8)), inputs: inputs)
}

/// The plan, or a test failure listing the diagnostics.
func requirePlan(_ yaml: String, _ inputs: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> Plan {
    switch try makePlan(yaml, inputs) {
    case .success(let plan): return plan
    case .failure(let failure):
        Issue.record(
            "no plan: \(failure.diagnostics.map { "\($0.mark?.description ?? "-") \($0.code) \($0.message)" })",
            sourceLocation: sourceLocation)
        throw CancellationError()
    }
}

/// The diagnostics of a plan that must fail.
func planDiagnostics(_ yaml: String, _ inputs: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws
    -> [Diagnostic]
{
    switch try makePlan(yaml, inputs) {
    case .success:
        Issue.record("a plan was made", sourceLocation: sourceLocation)
        return []
    case .failure(let failure): return failure.diagnostics
    }
}

/// A small manual playbook in every runtime; `STEPS` and `INPUTS` are spliced in.
func playbookText(mode: String = "manual", inputs: String, steps: String, rollback: String = "") -> String {
    """
    apiVersion: wpk/v1
    kind: WorkflowPackage
    metadata: {name: t, version: 1.0.0}
    spec:
      runtime:
        type: k8s
        k8s: {context: prod, namespace: web}
        docker: {host: unix:///var/run/docker.sock}
        shell: {interpreter: /bin/sh}
      safety: {mode: \(mode), approvals_required: 2}
      inputs:
    \(inputs)
      handlers:
    \(steps)
    \(rollback)
    """
}

@Suite struct PlanSubstitutionTests {
    static let attacks = [
        "two words", "it's", "a\"b", "a;reboot", "$(id)", "`id`", "a\nb", "-rf", "--all", "x\u{0}y", "a|b&c", "*", "~root",
    ]

    static let yaml = playbookText(
        inputs: "    - {name: v, type: string}",
        steps: """
                - name: query
                  runtime: shell
                  action: prometheus-query
                  target: http://prom:9090
                  params:
                    query: up{job="${{ inputs.v }}"}
                - name: restart
                  action: rollout-restart
                  target: deployment/1️⃣${{ inputs.v }}
                  requires_approval: true
                - name: run
                  runtime: docker
                  action: run
                  target: registry.example.com/x:1@sha256:0000000000000000000000000000000000000000000000000000000000000000
                  params:
                    args: [echo, "2️⃣${{ inputs.v }}"]
            """)

    /// Each hostile value is either one argument (never split, never an option) or refused with
    /// a diagnostic at the reference.
    @Test(arguments: attacks) func hostileValuesStayInert(value: String) throws {
        let marked = MarkedText(Self.yaml)
        switch try makePlan(marked.text, ["v": value]) {
        case .success(let plan):
            let query = try #require(plan.step(named: "query")).commands[0]
            #expect(query.count == 6 && query[5] == "up{job=\"\(value)\"}")
            let run = try #require(plan.step(named: "run")).commands[0]
            #expect(run.last == value && run[run.count - 2] == "echo")
            let restart = try #require(plan.step(named: "restart")).commands[0]
            #expect(restart.last == "deployment/\(value)")
            Issue.record("value \(value.debugDescription) passed every check, but it is not a Kubernetes name")
        case .failure(let failure):
            let codes = Set(failure.diagnostics.map(\.code))
            #expect(codes.isSubset(of: ["WPK410", "WPK411", "WPK412"]), "\(failure.diagnostics.map(\.message))")
            // The Kubernetes name always refuses it, at the reference.
            let name = try #require(failure.diagnostics.first { $0.pointer == "/spec/handlers/1/target" })
            #expect(name.mark?.line == marked.markers["1️⃣"]?.line && name.mark?.column == marked.markers["1️⃣"]?.column)
            // Values free in the grammar fail only for control characters and a leading dash.
            let runProblems = failure.diagnostics.filter { $0.pointer.hasPrefix("/spec/handlers/2/") }
            let expectRunRefused = value.hasPrefix("-") || value.unicodeScalars.contains { $0.value < 0x20 }
            #expect(runProblems.isEmpty != expectRunRefused, "\(value.debugDescription)")
            if let first = runProblems.first {
                #expect(first.mark?.line == marked.markers["2️⃣"]?.line && first.mark?.column == marked.markers["2️⃣"]?.column)
            }
        }
    }

    /// Where the grammar is free text, every hostile value without a control character or a
    /// leading dash is planned, as exactly one element holding it verbatim.
    @Test(arguments: attacks.filter { !$0.hasPrefix("-") && !$0.unicodeScalars.contains { $0.value < 0x20 } })
    func freeTextSlotsCarryTheValueVerbatim(value: String) throws {
        let text = MarkedText(Self.yaml).text.replacingOccurrences(of: "target: deployment/${{ inputs.v }}", with: "target: deployment/web")
        let plan = try requirePlan(text, ["v": value])
        #expect(
            plan.step(named: "query")?.commands == [
                ["promtool", "query", "instant", "--format=json", "http://prom:9090", "up{job=\"\(value)\"}"]
            ])
        let run = try #require(plan.step(named: "run")?.commands.first)
        #expect(
            run == [
                "docker", "--host=unix:///var/run/docker.sock", "run", "--rm",
                "registry.example.com/x:1@sha256:0000000000000000000000000000000000000000000000000000000000000000", "echo", value,
            ])
    }

    /// A value that fits: exactly one element, in place.
    @Test func aFittingValueIsOneElement() throws {
        let plan = try requirePlan(MarkedText(Self.yaml).text, ["v": "web-1"])
        #expect(
            plan.step(named: "restart")?.commands == [
                ["kubectl", "--context=prod", "--namespace=web", "rollout", "restart", "deployment/web-1"]
            ])
        #expect(
            plan.step(named: "restart")?.dryRunCommands == [
                ["kubectl", "--context=prod", "--namespace=web", "rollout", "restart", "deployment/web-1", "--dry-run=server"]
            ])
    }

    @Test func aLabelValueCannotAddASelectorTerm() throws {
        let yaml = playbookText(
            inputs: "    - {name: app, type: string}",
            steps: """
                    - name: pods
                      action: get
                      target: pods
                      params: {selector: "app=${{ inputs.app }}"}
                """)
        #expect(try planDiagnostics(yaml, ["app": "web,tier!=db"]).map(\.code) == ["WPK412"])
        #expect(try requirePlan(yaml, ["app": "web"]).steps[0].commands[0].contains("--selector=app=web"))
    }

    @Test func reservedPlaceholderTextIsRefused() throws {
        let yaml = playbookText(
            inputs: "    - {name: v, type: string}",
            steps: """
                    - name: run
                      runtime: docker
                      action: run
                      target: registry.example.com/x:1
                      params: {args: ["${{ inputs.v }}"]}
                """)
        #expect(try planDiagnostics(yaml, ["v": "<secret:env:HOME>"]).map(\.code) == ["WPK413"])
        #expect(try planDiagnostics(yaml, ["v": "x<run.id>"]).map(\.code) == ["WPK413"])
    }
}

@Suite struct PlanShellScriptTests {
    static let yaml = playbookText(
        inputs: "    - {name: v, type: string}\n    - {name: w, type: string, default: second}",
        steps: """
                - name: echo
                  runtime: shell
                  action: script
                  params:
                    script: |
                      printf '[%s]\\n' ${{ inputs.v }}
                      printf '[%s]\\n' "in double ${{ inputs.v }}"
                      printf '[%s]\\n' 'in single ${{ inputs.w }} quotes'
                      printf '[%s]\\n' "$(printf '%s' ${{ inputs.w }})"
            """)

    @Test func referencesBecomeQuotedPositionalParameters() throws {
        let plan = try requirePlan(Self.yaml, ["v": "x"])
        let argv = try #require(plan.steps.first?.commands.first)
        #expect(argv[0] == "/bin/sh" && argv[1] == "-c")
        #expect(
            argv[2] == """
                printf '[%s]\\n' "${1}"
                printf '[%s]\\n' "in double ${1}"
                printf '[%s]\\n' 'in single '"${2}"' quotes'
                printf '[%s]\\n' "$(printf '%s' "${2}")"

                """)
        #expect(Array(argv[3...]) == ["wpk-echo", "x", "second"])
        #expect(plan.steps[0].environment.isEmpty)
        #expect(plan.steps[0].gate.required && plan.steps[0].gate.reasons.contains("opaque: wpk cannot preview what it changes"))
    }

    /// The real shell prints each hostile value literally: it is data, never code.
    @Test(arguments: ["$(touch /tmp/wpk-pwned)", "`id`", "a; echo injected", "'\"' \"'", "*", "$HOME", "two  spaces"])
    func theShellNeverRunsAValue(value: String) throws {
        let plan = try requirePlan(Self.yaml, ["v": value])
        let argv = try #require(plan.steps.first?.commands.first)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output == "[\(value)]\n[in double \(value)]\n[in single second quotes]\n[second]\n")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/wpk-pwned"))
    }

    @Test func aScriptValueStartingWithADashIsRefused() throws {
        let diagnostics = try planDiagnostics(Self.yaml, ["v": "--no-preserve-root"])
        #expect(diagnostics.map(\.code) == ["WPK410"])
        #expect(diagnostics.first?.mark?.line == 20)
    }
}

@Suite struct PlanInputTests {
    static let yaml = playbookText(
        inputs: """
                - name: name
                  type: string
                  required: true
                  pattern: "^[a-z]+$"
                - {name: count, type: integer, minimum: 1, maximum: 5, default: 2}
                - {name: flag, type: boolean, default: false}
                - {name: token, type: string, secret: true, secret_ref: "vault:kv/ops/x#token"}
            """,
        steps: """
                - name: scale
                  action: scale
                  target: deployment/${{ inputs.name }}
                  params: {replicas: "${{ inputs.count }}"}
                - name: probe
                  runtime: shell
                  action: http-check
                  target: https://x.example.com/${{ inputs.name }}
            """)

    @Test func defaultsAndGivenValuesAreTyped() throws {
        let plan = try requirePlan(Self.yaml, ["name": "web", "count": "4"])
        #expect(
            plan.inputs.map(\.json) == [
                .object([("name", .string("name")), ("value", .string("web")), ("source", .string("given"))]),
                .object([("name", .string("count")), ("value", .int(4)), ("source", .string("given"))]),
                .object([("name", .string("flag")), ("value", .bool(false)), ("source", .string("default"))]),
                .object([
                    ("name", .string("token")),
                    (
                        "value",
                        .object([
                            ("secret", .object([("store", .string("vault")), ("path", .string("kv/ops/x")), ("key", .string("token"))]))
                        ])
                    ),
                    ("source", .string("secret_ref")),
                ]),
            ])
        #expect(plan.steps[0].commands[0].suffix(2) == ["deployment/web", "--replicas=4"])
    }

    @Test(
        arguments: [
            (["count": "2"], ["WPK401"], 12),
            (["name": "web", "ghost": "1"], ["WPK402"], nil),
            (["name": "web", "count": "two"], ["WPK403"], 16),
            (["name": "web", "count": "2.5"], ["WPK403"], 16),
            (["name": "Web"], ["WPK404"], 12),
            (["name": "web", "count": "9"], ["WPK405"], 16),
            (["name": "web", "flag": "yes"], ["WPK403"], 17),
            (["name": "web", "token": "hunter2"], ["WPK406"], 18),
            (["name": String(repeating: "a", count: 5000)], ["WPK407"], 12),
        ] as [([String: String], [String], Int?)])
    func badInputsAreDiagnosticsAtTheirDeclaration(inputs: [String: String], codes: [String], line: Int?) throws {
        let diagnostics = try planDiagnostics(Self.yaml, inputs)
        #expect(diagnostics.map(\.code) == codes)
        #expect(diagnostics.first?.mark?.line == line)
        #expect(!diagnostics.contains { $0.message.contains("hunter2") })
    }
}

@Suite struct PlanGateAndRetryTests {
    @Test func gatesListEveryReason() throws {
        let yaml = playbookText(
            inputs: "    []",
            steps: """
                    - {name: look, action: get, target: pods}
                    - {name: kill, action: delete-pod, target: pod/web-0}
                    - {name: sh, runtime: shell, action: script, params: {script: "true"}, requires_approval: false}
                    - {name: bump, action: scale, target: deployment/web, params: {replicas: 3}, requires_approval: true}
                """)
        let plan = try requirePlan(yaml)
        #expect(plan.steps.map(\.gate.required) == [false, true, true, true])
        #expect(plan.steps.map(\.gate.approvals) == [0, 2, 2, 2])
        #expect(plan.steps[1].gate.reasons == ["manual mode: the step changes state", "destructive action"])
        #expect(
            plan.steps[2].gate.reasons == [
                "machine policy gate: mutating (requires_approval: false does not lower it)", "destructive action",
                "opaque: wpk cannot preview what it changes",
            ])
        #expect(plan.steps[3].gate.reasons == ["requires_approval: true"])
        #expect(plan.summary.gated == 3 && plan.summary.destructive == 2 && plan.summary.opaque == 1)
    }

    @Test func autoModeGatesOnlyWhatAsks() throws {
        let yaml = playbookText(
            mode: "auto", inputs: "    []",
            steps: """
                    - {name: bump, action: scale, target: deployment/web, params: {replicas: 3}}
                    - {name: sh, runtime: shell, action: script, params: {script: "true"}, requires_approval: true}
                """)
        let plan = try requirePlan(yaml)
        #expect(plan.steps.map(\.gate.required) == [false, true])
    }

    /// The machine policy's gate floor gates what it names whatever `requires_approval` says,
    /// and the plan digest differs, so an approval of one plan is not one of the other.
    @Test func theGateFloorGatesWhatItNamesWhateverThePlaybookSays() throws {
        let yaml = playbookText(
            inputs: "    []",
            steps: """
                    - {name: look, action: get, target: pods, requires_approval: false}
                    - {name: bump, action: scale, target: deployment/web, params: {replicas: 3}, requires_approval: false}
                    - {name: kill, action: delete-pod, target: pod/web-0, requires_approval: false}
                """)
        let document = try YAMLLoader.load(yaml)
        func plan(_ floor: MachinePolicy.GateFloor) throws -> Plan {
            try Planner.plan(document, path: "t.wpk.yaml", digest: "sha256:00", inputs: [:], gateFloor: floor).get()
        }
        let mutating = try plan(.mutating)
        let destructive = try plan(.destructive)
        #expect(mutating.steps.map(\.gate.required) == [false, true, true])
        #expect(destructive.steps.map(\.gate.required) == [false, false, true])
        #expect(mutating.steps[1].gate.reasons == ["machine policy gate: mutating (requires_approval: false does not lower it)"])
        #expect(destructive.steps[2].gate.reasons.first == "machine policy gate: destructive (requires_approval: false does not lower it)")
        #expect(mutating.planDigest != destructive.planDigest)
    }

    @Test func retriesAreConcreteAndOnlyForIdempotentSteps() throws {
        let yaml = playbookText(
            inputs: "    []",
            steps: """
                    - name: bump
                      action: scale
                      target: deployment/web
                      params: {replicas: 3}
                      timeout: 1m
                      retry: {max_attempts: 5, backoff: exponential, initial_delay: 10s, max_delay: 30s}
                      idempotent: true
                    - name: bump-again
                      action: scale
                      target: deployment/web
                      params: {replicas: 4}
                      timeout: 1m
                      retry: {max_attempts: 3, backoff: fixed, initial_delay: 10s}
                    - name: look
                      action: get
                      target: pods
                      timeout: 10s
                      retry: {max_attempts: 3, backoff: fixed, initial_delay: 5s}
                """)
        let plan = try requirePlan(yaml)
        #expect(plan.steps[0].retry.maxAttempts == 5 && plan.steps[0].retry.delaysSeconds == [10, 20, 30, 30])
        #expect(plan.steps[0].worstCaseSeconds == 5 * 60 + 90)
        #expect(
            plan.steps[1].retry.maxAttempts == 1 && plan.steps[1].retry.delaysSeconds.isEmpty && plan.steps[1].retry.declaredAttempts == 3)
        #expect(plan.steps[2].retry.maxAttempts == 3 && plan.steps[2].retry.delaysSeconds == [5, 5])
        #expect(plan.summary.worstCaseSeconds == 390 + 60 + 40)
    }

    @Test func whenSkipsAStepAndWhatDependsOnIt() throws {
        let yaml = playbookText(
            inputs: "    - {name: heap, type: boolean, default: false}\n    - {name: env, type: string, default: prod}",
            steps: """
                    - {name: dump, action: get, target: pods, when: "${{ inputs.heap }}"}
                    - {name: after, action: get, target: pods, depends_on: [dump]}
                    - {name: prod-only, action: get, target: pods, when: "${{ inputs.env == 'prod' }}"}
                    - {name: not-prod, action: get, target: pods, when: "${{ inputs.env != 'prod' }}"}
                    - {name: no-heap, action: get, target: pods, when: "${{ !inputs.heap }}"}
                """)
        let plan = try requirePlan(yaml)
        #expect(plan.steps.map(\.handler) == ["prod-only", "no-heap"])
        #expect(plan.skipped.map(\.handler) == ["dump", "after", "not-prod"])
        let withHeap = try requirePlan(yaml, ["heap": "true"])
        #expect(withHeap.steps.map(\.handler) == ["dump", "after", "prod-only"])
        #expect(withHeap.planDigest != plan.planDigest)
    }

    @Test func rollbackRunsForCompletedChangesLatestFirst() throws {
        let plan = try requirePlan(String(decoding: try RepoFiles.bytes("examples/playbooks/rotate-secret.wpk.yaml"), as: UTF8.self))
        #expect(
            plan.steps.map(\.handler) == [
                "current-credentials", "api-health-before", "rotate", "resync-secret", "restart-api", "wait-rollout", "api-health-after",
            ])
        #expect(plan.step(named: "wait-rollout")?.rollbackSteps == ["undo-restart"])
        #expect(plan.rollback.map(\.handler) == ["undo-restart"])
        #expect(
            plan.summary.targets.map(\.target) == [
                "database/rotate-role/payments-api", "externalsecret/payments-db-credentials", "deployment/payments-api",
            ])
    }

    @Test func placeholdersAreFilledOnlyByTheExecutor() throws {
        let plan = try requirePlan(String(decoding: try RepoFiles.bytes("examples/playbooks/backup-verify.wpk.yaml"), as: UTF8.self))
        let step = try #require(plan.step(named: "latest-snapshot"))
        // The secret is named in argv and carried by the docker client's environment.
        #expect(step.commands[0].contains("RESTIC_PASSWORD") && !step.commands[0].joined().contains("<secret:"))
        #expect(step.environment.first { $0.name == "RESTIC_PASSWORD" }?.value == "<secret:vault:kv/storage/restic#orders_db>")
        #expect(step.commands[0].contains("RESTIC_REPOSITORY=s3:https://s3.eu-west-1.amazonaws.com/example-backups/orders-db"))
        let resolved = step.resolved(runID: "r1") { ref in "value-of-\(ref.key ?? "")" }
        #expect(resolved.environment.first { $0.name == "RESTIC_PASSWORD" }?.value == "value-of-orders_db")
        #expect(resolved.commands == step.commands)
        let requeue = try requirePlan(
            String(decoding: try RepoFiles.bytes("examples/playbooks/requeue-job.wpk.yaml"), as: UTF8.self),
            ["cronjob": "report", "failed_job": "report-1"])
        let created = try #require(requeue.step(named: "requeue")).resolved(runID: "0a1b") { _ in "" }
        #expect(created.commands[0].contains("report-retry-0a1b"))
    }

    /// `vault write PATH key=-` takes one secret field on standard input, never in argv; a
    /// secret the rules would refuse (here in a target: the planner alone sees it) plans nothing.
    @Test func aVaultWriteSecretGoesToStandardInputAndNoSecretEverIntoArgv() throws {
        let yaml = playbookText(
            inputs: """
                    - {name: password, type: string, secret: true, secret_ref: "env:DB_PASSWORD"}
                    - {name: role, type: string, default: payments}
                """,
            steps: """
                    - {name: rotate, runtime: shell, action: vault-write, target: "database/creds/${{ inputs.role }}", params: {data: {password: "${{ inputs.password }}", role: "${{ inputs.role }}"}}}
                """)
        let plan = try requirePlan(yaml)
        let step = try #require(plan.step(named: "rotate"))
        #expect(step.commands == [["vault", "write", "-format=json", "database/creds/payments", "password=-", "role=payments"]])
        #expect(step.standardInput == "<secret:env:DB_PASSWORD>")
        #expect(step.json["standard_input"]?.stringValue == "<secret:env:DB_PASSWORD>")
        let resolved = step.resolved(runID: "r1") { _ in "hunter2" }
        #expect(resolved.standardInput == "hunter2" && !resolved.commands.joined().joined().contains("hunter2"))
        let leaky = playbookText(
            inputs: "    - {name: password, type: string, secret: true, secret_ref: \"env:P\"}",
            steps: """
                    - {name: probe, runtime: shell, action: http-check, target: "https://x.example.com/?t=${{ inputs.password }}"}
                """)
        guard case .failure(let failure) = try makePlan(leaky) else {
            Issue.record("a plan put a secret in argv")
            return
        }
        #expect(failure.diagnostics.contains { $0.message.contains("would put a secret in argument") })
    }
}

@Suite struct PlanDigestTests {
    static let base = String(decoding: (try? RepoFiles.bytes("examples/playbooks/scale-on-latency.wpk.yaml")) ?? [], as: UTF8.self)
    static let inputs = ["replicas": "12"]

    static func digest(_ yaml: String, _ inputs: [String: String] = inputs) throws -> String {
        try requirePlan(yaml, inputs).planDigest
    }

    @Test func sameContentSameDigest() throws {
        #expect(try Self.digest(Self.base) == Self.digest(Self.base))
        #expect(try Self.digest(Self.base) == Self.digest(Self.base, ["replicas": "12", "deployment": "checkout-api"]))
    }

    @Test func commentsFormattingAndDescriptionsDoNotChangeIt() throws {
        var reformatted = Self.base.replacingOccurrences(of: "\n  handlers:\n", with: "\n  # the steps\n  handlers:   # in order\n")
        reformatted = reformatted.replacingOccurrences(of: "depends_on: [scale-out]", with: "depends_on:\n        - scale-out")
        reformatted = reformatted.replacingOccurrences(of: "min_version: \"1.27\"", with: "min_version: '1.27'")
        reformatted = reformatted.replacingOccurrences(
            of: "description: Return to the baseline replica count.", with: "description: \"Back to the baseline.\"")
        #expect(reformatted != Self.base)
        #expect(try Self.digest(reformatted) == Self.digest(Self.base))
        // The plan's path and the playbook digest are not part of it either.
        let document = try YAMLLoader.load(Self.base)
        let a = Planner.plan(document, path: "a.wpk.yaml", digest: "sha256:00", inputs: Self.inputs)
        let b = Planner.plan(document, path: "b/c.wpk.yaml", digest: "sha256:11", inputs: Self.inputs)
        #expect(try a.get().planDigest == b.get().planDigest)
    }

    /// Each edit changes something that would run; each must change the digest.
    @Test(arguments: [
        ("context", "context: prod-eu-west-1", "context: prod-eu-west-2"),
        ("namespace", "namespace: checkout\n", "namespace: checkout2\n"),
        ("working directory", "working_directory: /var/lib/wpk", "working_directory: /tmp"),
        ("timeout", "timeout: 6m", "timeout: 7m"),
        ("retry attempts", "max_attempts: 3", "max_attempts: 2"),
        ("retry delay", "initial_delay: 5s", "initial_delay: 6s"),
        ("on_failure", "on_failure: continue", "on_failure: abort"),
        ("idempotent", "idempotent: true", "idempotent: false"),
        ("approvals", "approvals_required: 1", "approvals_required: 2"),
        ("approval timeout", "approval_timeout: 10m", "approval_timeout: 11m"),
        ("mode", "mode: manual", "mode: auto"),
        ("dry run first", "dry_run_first: true", "dry_run_first: false"),
        ("default input", "default: checkout-api", "default: checkout-web"),
        ("query", "[2m]", "[3m]"),
        ("param", "timeout: 5m\n", "timeout: 4m\n"),
        ("target", "target: hpa/${{ inputs.deployment }}", "target: deployment/${{ inputs.deployment }}"),
        ("action", "action: rollout-status", "action: get"),
        ("rollback step", "replicas: ${{ inputs.baseline_replicas }}", "replicas: 3"),
        (
            "rollback timeout", "requires_approval: true\n      timeout: 1m\n  validation",
            "requires_approval: true\n      timeout: 2m\n  validation"
        ),
        (
            "dependency order", "depends_on: [confirm-latency, autoscaler-state, current-replicas]",
            "depends_on: [autoscaler-state, current-replicas]"
        ),
    ])
    func everyExecutedFieldChangesIt(field: String, from: String, to: String) throws {
        #expect(Self.base.contains(from), "fixture lost \(field)")
        let mutated = Self.base.replacingOccurrences(of: from, with: to)
        #expect(try Self.digest(mutated) != Self.digest(Self.base), "\(field)")
    }

    /// `requires_approval` decides a gate only where the machine's floor leaves it to the playbook.
    @Test func requiresApprovalChangesItWhereTheFloorLetsIt() throws {
        let mutated = Self.base.replacingOccurrences(
            of: "requires_approval: true\n      timeout: 1m\n      idempotent",
            with: "requires_approval: false\n      timeout: 1m\n      idempotent")
        #expect(mutated != Self.base)
        func digest(_ yaml: String, _ floor: MachinePolicy.GateFloor) throws -> String {
            try Planner.plan(try YAMLLoader.load(yaml), path: "p", digest: "sha256:00", inputs: Self.inputs, gateFloor: floor).get()
                .planDigest
        }
        #expect(try digest(mutated, .destructive) != digest(Self.base, .destructive))
        #expect(try digest(mutated, .mutating) == digest(Self.base, .mutating))
    }

    @Test func inputValuesChangeIt() throws {
        #expect(try Self.digest(Self.base, ["replicas": "13"]) != Self.digest(Self.base))
        #expect(try Self.digest(Self.base, ["replicas": "12", "baseline_replicas": "7"]) != Self.digest(Self.base))
    }

    @Test func theDigestIsTheHashOfTheExecutableContent() throws {
        let plan = try requirePlan(Self.base, Self.inputs)
        #expect(plan.planDigest == ContentDigest.sha256(plan.executableJSON.canonicalBytes))
        #expect(plan.fingerprint.count == 12 && plan.planDigest.hasPrefix("sha256:" + plan.fingerprint))
    }
}

@Suite struct PlanLimitTests {
    /// A hostile number of steps is a diagnostic, not a plan of quadratic size.
    @Test func tooManyStepsIsADiagnostic() throws {
        let steps = (0..<400).map { "    - {name: s\($0), action: get, target: pods, on_failure: rollback}" }.joined(separator: "\n")
        let rollback =
            "  rollback:\n" + (0..<200).map { "    - {name: r\($0), undoes: s\($0), action: get, target: pods}" }.joined(separator: "\n")
        let diagnostics = try planDiagnostics(playbookText(inputs: "    []", steps: steps, rollback: rollback))
        #expect(diagnostics.map(\.code) == ["WPK420"])
        // At the bound, it plans, and the latest completed change is undone first.
        let fits = (0..<300).map { "    - {name: s\($0), action: get, target: pods, on_failure: rollback}" }.joined(separator: "\n")
        let plan = try requirePlan(playbookText(inputs: "    []", steps: fits, rollback: rollback))
        #expect(plan.steps.count == 300 && plan.rollback.count == 200)
        #expect(plan.step(named: "s3")?.rollbackSteps == ["r2", "r1", "r0"])
    }
}

@Suite struct PlanRuntimeSettingTests {
    @Test func runtimeSettingsAreLiteral() throws {
        let yaml = playbookText(
            inputs: "    - {name: ctx, type: string, default: prod}", steps: "    - {name: look, action: get, target: pods}"
        )
        .replacingOccurrences(of: "k8s: {context: prod,", with: "k8s: {context: \"${{ inputs.ctx }}\",")
        let diagnostics = try planDiagnostics(yaml)
        #expect(diagnostics.map(\.code) == ["WPK420"])
        #expect(diagnostics.first?.pointer == "/spec/runtime/k8s/context" && diagnostics.first?.mark?.line == 7)
    }
}

@Suite struct PlanRobustnessTests {
    /// The planner is meant for valid files, but a broken one must give diagnostics, never a crash.
    @Test(arguments: try RepoFiles.playbooks(in: "examples/invalid"))
    func invalidExamplesDoNotCrashThePlanner(name: String) throws {
        guard let document = try? YAMLLoader.load(RepoFiles.bytes("examples/invalid/\(name)")) else { return }
        switch Planner.plan(document, path: name, digest: "sha256:", inputs: ["anything": "x"]) {
        case .success(let plan): #expect(!plan.planDigest.isEmpty)
        case .failure(let failure): #expect(!failure.diagnostics.isEmpty)
        }
    }

    @Test(arguments: [
        "${{ inputs.a && inputs.b }}", "${{ inputs.ghost }}", "${{ run.id }}", "${{ inputs.a == x }}", "yes ${{ inputs.a }}", "${{",
        "${{ !inputs.a == \"x\" }}",
    ])
    func unsupportedWhenIsADiagnosticAtTheWhen(when: String) throws {
        let marked = MarkedText(
            playbookText(
                inputs: "    - {name: a, type: boolean, default: true}\n    - {name: b, type: boolean, default: true}",
                steps: """
                        - name: look
                          action: get
                          target: pods
                          when: 1️⃣'\(when)'
                    """))
        let diagnostics = try planDiagnostics(marked.text)
        #expect(diagnostics.map(\.code) == ["WPK415"])
        #expect(diagnostics.first?.pointer == "/spec/handlers/0/when")
        #expect(
            diagnostics.first?.mark?.line == marked.markers["1️⃣"]?.line && diagnostics.first?.mark?.column == marked.markers["1️⃣"]?.column)
    }

    @Test func aSecretInWhenIsRefused() throws {
        let yaml = playbookText(
            inputs: "    - {name: token, type: string, secret: true, secret_ref: 'env:TOKEN'}",
            steps: """
                    - {name: look, action: get, target: pods, when: "${{ inputs.token == 'x' }}"}
                """)
        #expect(try planDiagnostics(yaml).map(\.code) == ["WPK416"])
    }
}

@Suite struct PlanSecretTests {
    /// A secret in a script is read from the environment, quoted where it stands; never in argv.
    @Test func aScriptReadsSecretsFromItsEnvironment() throws {
        let yaml = playbookText(
            inputs:
                "    - {name: token, type: string, secret: true, secret_ref: 'env:API_TOKEN'}\n    - {name: host, type: string, default: api}",
            steps: """
                    - name: call
                      runtime: shell
                      action: script
                      params:
                        script: |-
                          curl -H "Authorization: Bearer ${{ inputs.token }}" https://${{ inputs.host }}/ -o '${{ inputs.token }}'
                """)
        let step = try #require(try requirePlan(yaml).steps.first)
        #expect(
            step.commands == [
                [
                    "/bin/sh", "-c", "curl -H \"Authorization: Bearer ${WPK_SECRET_1}\" https://\"${1}\"/ -o ''\"${WPK_SECRET_1}\"''",
                    "wpk-call", "api",
                ]
            ])
        #expect(step.environment.map { "\($0.name)=\($0.value)" } == ["WPK_SECRET_1=<secret:env:API_TOKEN>"])
        #expect(step.secrets.map(\.written) == ["env:API_TOKEN"])
    }
}
