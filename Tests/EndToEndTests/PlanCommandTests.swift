import Foundation
import Testing

/// `wpk plan` run as a process on the real examples; golden plans live in `Tests/Golden/plans/`
/// and are re-recorded only on purpose with `WPK_RECORD_SNAPSHOTS=1`.
@Suite struct PlanCommandTests {
    /// Each example with the `--set` values its golden plan is made with.
    static let examples: [(name: String, sets: [String])] = [
        ("backup-verify", []),
        ("requeue-job", ["cronjob=nightly-report", "failed_job=nightly-report-29012"]),
        ("restart-unhealthy", ["deployment=checkout", "app_label=checkout"]),
        ("rotate-secret", []),
        ("scale-on-latency", ["replicas=12"]),
    ]

    /// An environment where no tool is found and no kubeconfig exists, so the plans' bindings
    /// (and their digests) are the same on every machine.
    static let bareEnvironment = [
        "PATH": "/nonexistent-wpk-bin", "HOME": "/nonexistent", "KUBECONFIG": "",
        "WPK_KUBECTL": "", "WPK_DOCKER": "", "WPK_VAULT": "",
    ]

    static func arguments(_ name: String, _ sets: [String], format: String) -> [String] {
        ["plan", "--format", format] + sets.flatMap { ["--set", $0] } + ["examples/playbooks/\(name).wpk.yaml"]
    }

    /// Compares with the golden file (or records it), reporting the first lines that differ.
    static func assertGolden(_ actual: String, _ file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = packageRoot.appendingPathComponent("Tests/Golden/plans/\(file)")
        if ProcessInfo.processInfo.environment["WPK_RECORD_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        guard expected != actual else { return }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var diff: [String] = []
        for i in 0..<max(a.count, b.count) where diff.count < 12 {
            let left = i < a.count ? String(a[i]) : "<none>"
            let right = i < b.count ? String(b[i]) : "<none>"
            if left != right { diff.append("line \(i + 1):\n  golden: \(left)\n  actual: \(right)") }
        }
        Issue.record(
            "\(file) differs (re-record with WPK_RECORD_SNAPSHOTS=1 if intended):\n\(diff.joined(separator: "\n"))",
            sourceLocation: sourceLocation)
    }

    @Test(arguments: examples.map(\.name)) func goldenTextPlan(name: String) throws {
        let sets = Self.examples.first { $0.name == name }!.sets
        let result = try runWPK(Self.arguments(name, sets, format: "text"), environment: Self.bareEnvironment, directory: packageRoot)
        #expect(result.status == 0, "\(result.standardError)\(result.standardOutput)")
        try Self.assertGolden(result.standardOutput, "\(name).txt")
        // 80 columns, except a single word that cannot be broken (a long URL or query).
        for line in result.standardOutput.split(separator: "\n") where line.count > 80 {
            let words = line.split(separator: " ").filter { $0 != "\\" }
            #expect(words.contains { $0.count > 40 }, "too wide: \(line)")
        }
        #expect(result.standardOutput.contains("Fingerprint: "))
    }

    @Test(arguments: examples.map(\.name)) func goldenJSONPlan(name: String) throws {
        let sets = Self.examples.first { $0.name == name }!.sets
        let result = try runWPK(Self.arguments(name, sets, format: "json"), environment: Self.bareEnvironment, directory: packageRoot)
        #expect(result.status == 0, "\(result.standardError)")
        try Self.assertGolden(result.standardOutput, "\(name).json")
        // The contract's fields, read back by an independent JSON parser.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        let digest = try #require(object["plan_digest"] as? String)
        #expect(digest.hasPrefix("sha256:") && digest.count == 71)
        let steps = try #require(object["steps"] as? [[String: Any]])
        for step in steps {
            for key in ["handler", "runtime", "commands", "mutating", "gate", "timeout_seconds", "retry", "on_failure"] {
                #expect(step[key] != nil, "\(name): step lacks \(key)")
            }
        }
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["steps"] as? Int == steps.count)
        // The text form shows the same fingerprint.
        let text = try runWPK(Self.arguments(name, sets, format: "text"), environment: Self.bareEnvironment, directory: packageRoot)
        #expect(text.standardOutput.contains("Fingerprint: \(digest.dropFirst(7).prefix(12))\n"))
    }

    @Test func theDigestIsTheSameFromAnotherDirectoryAndPath() throws {
        let here = try runWPK(Self.arguments("scale-on-latency", ["replicas=12"], format: "json"), directory: packageRoot)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles(["copy.wpk.yaml": try exampleText("scale-on-latency")], in: directory)
        let there = try runWPK(["plan", "--format", "json", "--set", "replicas=12", "copy.wpk.yaml"], directory: directory)
        func digest(_ output: String) throws -> String? {
            (try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])?["plan_digest"] as? String
        }
        #expect(try digest(here.standardOutput) != nil)
        #expect(try digest(here.standardOutput) == digest(there.standardOutput))
    }

    /// A secret typed on the command line is refused, and its value is printed nowhere.
    @Test(arguments: ["text", "json"]) func aSecretValueAppearsInNoOutput(format: String) throws {
        let secret = "Sup3r-S3cret-Value-42"
        let result = try runWPK(
            ["plan", "--format", format, "--set", "vault_token=\(secret)", "examples/playbooks/rotate-secret.wpk.yaml"],
            directory: packageRoot)
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("WPK406"))
        #expect(!result.standardOutput.contains(secret) && !result.standardError.contains(secret))
        // Through a values file, too.
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles(["values.yaml": "webhook_key: \(secret)\n"], in: directory)
        let viaFile = try runWPK(
            [
                "plan", "--format", format, "--values", directory.appendingPathComponent("values.yaml").path,
                "examples/playbooks/rotate-secret.wpk.yaml",
            ], directory: packageRoot)
        #expect(viaFile.status == 1)
        #expect(!viaFile.standardOutput.contains(secret) && !viaFile.standardError.contains(secret))
        // A malformed --set is not echoed either.
        let malformed = try runWPK(["plan", "--set", secret, "examples/playbooks/rotate-secret.wpk.yaml"], directory: packageRoot)
        #expect(malformed.status == 2)
        #expect(!malformed.standardOutput.contains(secret) && !malformed.standardError.contains(secret))
    }

    @Test func valuesFileThenSetOverrides() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles(["values.yaml": "replicas: 20\ndeployment: checkout-web\n"], in: directory)
        let values = directory.appendingPathComponent("values.yaml").path
        let result = try runWPK(
            ["plan", "--format", "json", "--values", values, "--set", "replicas=14", "examples/playbooks/scale-on-latency.wpk.yaml"],
            directory: packageRoot)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("\"--replicas=14\""))
        #expect(result.standardOutput.contains("\"deployment/checkout-web\""))
    }

    @Test func aValueThatWouldChangeTheCommandIsAnErrorAtItsReference() throws {
        // rotate-secret's deployment input has no pattern, so only the planner stands in the way.
        let result = try runWPK(
            ["plan", "--set", "deployment=x --all", "examples/playbooks/rotate-secret.wpk.yaml"], directory: packageRoot)
        #expect(result.status == 1)
        #expect(
            result.standardOutput.contains(
                "examples/playbooks/rotate-secret.wpk.yaml:110:26: error: after substitution, \"x --all\" is not a Kubernetes object name"))
        #expect(result.standardOutput.contains("[WPK412]"))
    }

    @Test func undeclaredAndMissingInputsAreDiagnostics() throws {
        let result = try runWPK(["plan", "--set", "replica=3", "examples/playbooks/scale-on-latency.wpk.yaml"], directory: packageRoot)
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("error: a value was given for \"replica\", which is not an input of this playbook"))
        #expect(result.standardOutput.contains("scale-on-latency.wpk.yaml:36:13: error: input \"replicas\" is required"))
    }

    @Test func anInvalidPlaybookPrintsItsDiagnosticsAndExits1() throws {
        let text = try runWPK(["plan", "examples/invalid/broken-references.wpk.yaml"], directory: packageRoot)
        #expect(text.status == 1)
        #expect(text.standardOutput.contains("error:") && text.standardOutput.contains("^"))
        let json = try runWPK(["plan", "--format", "json", "examples/invalid/broken-references.wpk.yaml"], directory: packageRoot)
        #expect(json.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        let files = try #require(object?["files"] as? [[String: Any]])
        #expect(files.first?["valid"] as? Bool == false)
    }

    @Test func usageErrorsExit2() throws {
        #expect(try runWPK(["plan"]).status == 2)
        #expect(try runWPK(["plan", "--format", "yaml", "x.wpk.yaml"]).status == 2)
        #expect(
            try runWPK(
                ["plan", "--values", "/nonexistent/values.yaml", "examples/playbooks/rotate-secret.wpk.yaml"], directory: packageRoot
            ).status == 2)
    }

    @Test func standardInputIsAPlaybook() throws {
        let result = try runWPK(["plan", "--set", "replicas=3", "-"], input: try exampleText("scale-on-latency"), directory: packageRoot)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("File: -"))
    }
}

/// What a reviewer sees of an opaque script and of hostile text in a playbook.
@Suite struct PlanTextSafetyTests {
    static let playbook = """
        apiVersion: wpk/v1
        kind: WorkflowPackage
        metadata: {name: cleanup, version: 1.0.0, author: ops@example.com}
        spec:
          runtime:
            type: shell
            shell: {interpreter: /bin/sh}
          safety: {mode: manual}
          inputs:
            - {name: dir, type: string, required: true}
          handlers:
            - name: clean
              description: "clears the cache\\e[2J\\e]0;pwned\\a"
              action: script
              params:
                script: |
                  rm -rf "/var/cache/${{ inputs.dir }}"
              timeout: 1m
          validation:
            permissions: [shell:exec, http:get]
        """

    @Test func anOpaqueScriptIsGatedAndShowsScriptAndValues() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles(["cleanup.wpk.yaml": Self.playbook], in: directory)
        let result = try runWPK(["plan", "--set", "dir=app; rm -rf /", "cleanup.wpk.yaml"], directory: directory)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        let out = result.standardOutput
        #expect(out.contains("GATED (1 approval) · DESTRUCTIVE · changes state · OPAQUE (no preview)"))
        #expect(out.contains("why gated: manual mode: the step changes state; destructive action; opaque:"))
        #expect(out.contains("$ /bin/sh -c SCRIPT wpk-clean 'app; rm -rf /'"))
        #expect(out.contains("  | rm -rf \"/var/cache/${1}\""))
        #expect(out.contains("  ${1} = 'app; rm -rf /'"))
        // The playbook's warnings go to standard error, beside the plan.
        #expect(
            result.standardError.contains("cleanup.wpk.yaml:20:") && result.standardError.contains("warning:")
                && result.standardError.contains("[WPK307]"), "\(result.standardError)")
        #expect(!out.contains("WPK307"))
        // Terminal escapes from the file are shown, never sent.
        #expect(!out.contains("\u{1B}") && !out.contains("\u{07}"))
        #expect(out.contains("clears the cache\\x1b[2J\\x1b]0;pwned\\x07"))
    }
}
