import Foundation
import Testing

/// Issue 13, attack 5: a secret used by a script, a `docker run` environment variable and a
/// `vault write` field must never be in any process's argument vector while the step runs.
/// Real stand-in programs first on PATH stop each step process until the test has read the
/// command line of every process on the machine (a FIFO handshake: no sleeps).
@Suite("Secrets never in argv", .serialized, .enabled(if: canActAsRoot, needsRootComment))
struct SecretArgvTests {
    static let playbook = """
        apiVersion: wpk/v1
        kind: WorkflowPackage
        metadata: {name: secret-probe, version: 1.0.0, author: ops@example.com}
        spec:
          runtime:
            type: shell
            shell: {interpreter: /bin/sh}
            docker: {}
          safety: {mode: auto, allow_destructive_in_auto: true}
          inputs:
            - {name: db_password, type: string, secret: true, secret_ref: "env:WPK_PROBE_SECRET"}
          handlers:
            - name: in-script
              action: script
              params:
                script: printf '%s' "${{ inputs.db_password }}" | wpk-probe
            - name: in-docker-env
              runtime: docker
              action: run
              target: registry.example.com/ops/probe:1.0
              params:
                env: {DB_PASSWORD: "${{ inputs.db_password }}"}
            - name: in-vault-field
              action: vault-write
              target: database/creds/probe
              params:
                data: {password: "${{ inputs.db_password }}", role: probe}
          validation: {permissions: [shell:exec, docker:run, vault:write]}

        """

    /// Records what it read on standard input, says it is ready, and waits on its FIFO until the
    /// test has looked at every process.
    static let probe = """
        #!/bin/sh
        d="$WPK_PROBE_DIR"
        mkfifo "$d/$$.go"
        cat > "$d/$$.stdin"
        printf '%s' "$(basename "$0")" > "$d/$$.tmp" && mv "$d/$$.tmp" "$d/$$.ready"
        read ok < "$d/$$.go"

        """

    @Test func noStepProcessEverCarriesTheSecretInItsCommandLine() throws {
        let sandbox = try RunSandbox()
        let probes = sandbox.root.appendingPathComponent("probes").path
        try FileManager.default.createDirectory(atPath: probes, withIntermediateDirectories: false)
        for name in ["wpk-probe", "docker", "vault"] {
            let path = sandbox.bin + "/" + name
            try Data(Self.probe.utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o755)
        }
        let playbook = sandbox.root.appendingPathComponent("probe.wpk.yaml").path
        try Data(Self.playbook.utf8).write(to: URL(fileURLWithPath: playbook))
        let secret = "s3cr3t-" + UUID().uuidString
        let validate = try sandbox.wpk(["validate", playbook])
        #expect(validate.status == 0, "\(validate.standardOutput)")
        let plan = try sandbox.wpk(["plan", playbook])
        #expect(
            plan.standardOutput.contains("password=-") && plan.standardOutput.contains("stdin: <secret:env:WPK_PROBE_SECRET>"),
            "\(plan.standardOutput)")

        let run = try BackgroundWPK(
            ["run", playbook], environment: sandbox.environment.merging(["WPK_PROBE_DIR": probes, "WPK_PROBE_SECRET": secret]) { $1 },
            in: sandbox.root, launch: sandbox.launch)
        var seen: [String: (stdin: String, environ: String)] = [:]
        var handled: Set<String> = []
        while seen.count < 3 {
            var ready: String?
            try waitUntil("a step process is ready (seen: \(seen.keys.sorted()); output: \(run.output)\(run.errors))", timeout: 30) {
                ready = try FileManager.default.contentsOfDirectory(atPath: probes).first {
                    $0.hasSuffix(".ready") && !handled.contains($0)
                }
                return ready != nil || !run.process.isRunning
            }
            guard let ready else {
                Issue.record("the run ended early: \(run.output)\(run.errors)")
                break
            }
            handled.insert(ready)
            let pid = String(ready.dropLast(".ready".count))
            // Every process on the machine, the blocked step among them: none has the secret in its argv.
            for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int(entry) != nil {
                guard let argv = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
                #expect(
                    !String(decoding: argv, as: UTF8.self).contains(secret),
                    "process \(entry) has the secret in its argv: \(String(decoding: argv, as: UTF8.self))")
            }
            let name = try String(contentsOfFile: probes + "/" + ready, encoding: .utf8)
            let environ = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data(), as: UTF8.self)
            let stdin = try String(contentsOfFile: probes + "/\(pid).stdin", encoding: .utf8)
            seen[name] = (stdin, environ)
            let go = try #require(FileHandle(forWritingAtPath: probes + "/\(pid).go"))
            go.write(Data("go\n".utf8))
            try go.close()
        }
        #expect(try run.finish(timeout: 30) == 0, "\(run.output)\(run.errors)")
        // The secret reached each step, by standard input or by the environment of that child alone.
        #expect(seen["wpk-probe"]?.stdin == secret, "the script did not get the secret")
        #expect(seen["vault"]?.stdin == secret, "vault write did not read the field on standard input")
        #expect(
            seen["docker"]?.environ.split(separator: "\0").contains(Substring("DB_PASSWORD=\(secret)")) == true,
            "docker run did not get DB_PASSWORD")
        #expect(seen["docker"]?.stdin == "")
        let ledgerText = try String(contentsOfFile: sandbox.ledger, encoding: .utf8)
        #expect(!run.output.contains(secret) && !ledgerText.contains(secret))
    }
}
