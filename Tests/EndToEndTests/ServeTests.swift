import Foundation
import Testing
import WPKCore

/// `wpk serve` as a process on a loopback port, driven by curl and a Python client, starting
/// real `wpk run` processes under a test policy.
final class ServeHarness {
    static let hookKey = "k3y-for-serve-tests"
    static let token = "alertmanager-token-for-tests"
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures/serve").path
    static let alertFixtures = packageRoot.appendingPathComponent("Tests/Fixtures/alertmanager").path

    let sandbox: RunSandbox
    let server: BackgroundWPK
    let port: Int

    /// A server on the playbooks under `paths`, in `sandbox` (a new one whose token file only root
    /// can read, unless given), its environment extended with `environment`.
    init(paths: [String] = [ServeHarness.fixtures], sandbox given: RunSandbox? = nil, environment extra: [String: String] = [:]) throws {
        if let given {
            sandbox = given
        } else {
            sandbox = try RunSandbox(policy: "mode: auto\nserve_token_file: /etc/wpk/serve-token\n")
            try sandbox.policy.write("serve-token", Self.token + "\n")
            chmod(sandbox.policy.directory.appendingPathComponent("serve-token").path, 0o600)
        }
        var environment = sandbox.environment
        environment["WPK_TEST_HOOK_KEY"] = Self.hookKey
        environment.merge(extra) { $1 }
        server = try BackgroundWPK(
            ["serve", "--listen", "127.0.0.1:0"] + paths, environment: environment, in: sandbox.root,
            launch: sandbox.launch)
        let server = server
        try waitUntil("wpk serve listens", timeout: 60) { server.errors.contains("[WPKServe] listening") || !server.process.isRunning }
        let log = server.errors
        guard let range = log.range(of: #"address=127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
            let port = Int(log[range].split(separator: ":").last ?? "")
        else {
            throw LaunchFailure("wpk serve did not report its port: \(log)")
        }
        self.port = port
    }

    deinit {
        if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) }
    }

    /// The Python client (Tests/Fixtures/serve/client.py) with `arguments`; its one JSON line.
    func python(_ arguments: [String]) throws -> JSONValue {
        let result = try runTool("/usr/bin/env", ["python3", Self.fixtures + "/client.py"] + arguments)
        guard result.status == 0, let line = result.standardOutput.split(separator: "\n").last else {
            throw LaunchFailure("client.py failed (\(result.status)): \(result.standardError)")
        }
        return try JSONValue.parse(Array(line.utf8))
    }

    /// One signed webhook POST from Python: status and body.
    func signedPost(_ body: String, path: String = "/hooks/restart", key: String = ServeHarness.hookKey, options: [String] = []) throws -> (
        Int, String
    ) {
        let answer = try python(["send", String(port), path, key, body] + options)
        return (answer["status"]?.intValue ?? 0, answer["body"]?.stringValue ?? "")
    }

    /// curl with `arguments` against this server; status code and body.
    func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
        let marker = "\n@@status="
        let result = try runTool("/usr/bin/curl", ["-sS", "--max-time", "30", "-w", marker + "%{http_code}"] + arguments)
        guard let range = result.standardOutput.range(of: marker, options: .backwards) else {
            throw LaunchFailure("curl printed no status: \(result.standardError)")
        }
        return (Int(result.standardOutput[range.upperBound...]) ?? 0, String(result.standardOutput[..<range.lowerBound]))
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// How many times the server's log holds `text` so far.
    func logCount(_ text: String) -> Int {
        server.errors.components(separatedBy: text).count - 1
    }

    /// Sends SIGHUP and waits until the log shows the playbooks were read again.
    func reload() throws {
        let loads = logCount("playbooks loaded")
        kill(server.process.processIdentifier, SIGHUP)
        try waitUntil("wpk serve reads its playbooks again") { logCount("playbooks loaded") > loads }
    }

    /// One metric's value as `GET /metrics` shows it (the sample named exactly `sample`).
    func metric(_ sample: String) throws -> Double? {
        let body = try curl([url("/metrics")]).body
        return body.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// The runs' `run_started` records, by run id.
    func started() throws -> [String: LedgerRecord] {
        var out: [String: LedgerRecord] = [:]
        for record in try sandbox.records() where record.draft.type == .runStarted { out[record.draft.run ?? ""] = record }
        return out
    }

    /// Runs whose `run_finished` (or `cancelled`) is recorded.
    func ended() throws -> Set<String> {
        Set(try sandbox.records().filter { $0.draft.type == .runFinished || $0.draft.type == .cancelled }.compactMap(\.draft.run))
    }

    /// Stops the server with SIGTERM and returns its exit status.
    func terminate() throws -> Int32 {
        kill(server.process.processIdentifier, SIGTERM)
        return try server.finish(timeout: 30)
    }

    /// The server's peak resident memory (VmHWM) in KiB.
    func peakMemoryKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8) else {
            return nil
        }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
    }
}

/// Runs a tool (curl, python3) to its end.
func runTool(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
    guard FileManager.default.isExecutableFile(atPath: executable) else { throw LaunchFailure("\(executable) is not installed") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
        standardError: String(decoding: errData, as: UTF8.self))
}

@Suite(.serialized, .enabled(if: canActAsRoot, needsRootComment)) struct ServeTests {
    /// A signed webhook starts one recorded run; every way of getting the signature or the body
    /// wrong is refused with its status and starts nothing.
    @Test func webhookStatusesWithPythonAndCurl() throws {
        let serve = try ServeHarness()
        let (status, body) = try serve.signedPost(#"{"deployment": "checkout"}"#)
        #expect(status == 202, "\(body)")
        let runs = try JSONValue.parse(Array(body.utf8))["runs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(runs.count == 1)
        let runID = try #require(runs.first)
        let record = try #require(try serve.started()[runID])
        #expect(record.draft.startedBy?.kind == .webhook)
        #expect(record.draft.startedBy?.trigger == "/hooks/restart")
        #expect(record.draft.startedBy?.source.hasPrefix("127.0.0.1:") == true)
        #expect(record.draft.inputs == ["deployment"])
        try waitUntil("the run finishes") { try serve.ended().contains(runID) }
        #expect(try serve.sandbox.records().last { $0.draft.run == runID }?.draft.outcome == "succeeded")

        let now = String(Int(Date().timeIntervalSince1970))
        let signedBody = #"{"deployment": "cart"}"#
        // The same request twice: the second is a replay.
        #expect(try serve.signedPost(signedBody, options: ["--timestamp", now]).0 == 202)
        #expect(try serve.signedPost(signedBody, options: ["--timestamp", now]).0 == 409)
        // Wrong key, stale and future timestamps, a signature that is not hex: 401 with no detail.
        let wrongKey = try serve.signedPost(#"{"deployment": "a"}"#, key: "not-the-key")
        #expect(wrongKey.0 == 401 && wrongKey.1.isEmpty)
        #expect(
            try serve.signedPost(#"{"deployment": "b"}"#, options: ["--timestamp", String(Int(Date().timeIntervalSince1970) - 301)]).0
                == 401)
        #expect(
            try serve.signedPost(#"{"deployment": "c"}"#, options: ["--timestamp", String(Int(Date().timeIntervalSince1970) + 400)]).0
                == 401)
        #expect(try serve.signedPost(#"{"deployment": "d"}"#, options: ["--signature", "sha256=zz"]).0 == 401)
        // Signed, but not JSON, not a JSON content type, a value the input's pattern refuses, a missing value.
        let malformed = try serve.signedPost(#"{"deployment": "e""#)
        #expect(malformed.0 == 400 && malformed.1.hasPrefix("malformed JSON") && malformed.1.split(separator: "\n").count == 1)
        #expect(try serve.signedPost(#"{"deployment": "f"}"#, options: ["--content-type", "text/plain"]).0 == 400)
        let hostile = try serve.signedPost(#"{"deployment": "web; rm -rf / #"}"#)
        #expect(hostile.0 == 400 && hostile.1.contains("does not match its pattern"), "\(hostile.1)")
        let missing = try serve.signedPost(#"{"service": "web"}"#)
        #expect(missing.0 == 400 && missing.1.contains("the body has no event.body.deployment"), "\(missing.1)")

        // curl: no signature, an oversized body, unknown path, wrong method, health and metrics.
        #expect(
            try serve.curl(["-X", "POST", "-H", "Content-Type: application/json", "--data", "{}", serve.url("/hooks/restart")]).status
                == 401)
        let big = serve.sandbox.root.appendingPathComponent("big.json").path
        try Data(repeating: UInt8(ascii: "a"), count: (1 << 20) + 1).write(to: URL(fileURLWithPath: big))
        #expect(
            try serve.curl(["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + big, serve.url("/hooks/restart")])
                .status == 413)
        #expect(
            try serve.curl([
                "-X", "POST", "-H", "Content-Type: application/json", "-H", "Transfer-Encoding: chunked",
                "--data-binary", "@" + big, serve.url("/hooks/restart"),
            ]).status == 413)
        #expect(try serve.curl(["-X", "POST", "--data", "{}", serve.url("/hooks/nothing")]).status == 404)
        #expect(try serve.curl([serve.url("/hooks/restart")]).status == 405)
        #expect(try serve.curl([serve.url("/healthz")]) == (200, "ok\n"))
        let metrics = try serve.curl([serve.url("/metrics")])
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"wpk_serve_requests_total{trigger="webhook",status="202"} 2"#), "\(metrics.body)")
        #expect(metrics.body.contains(#"wpk_serve_requests_total{trigger="webhook",status="409"} 1"#))
        #expect(metrics.body.contains(#"wpk_serve_runs_started_total{kind="webhook"} 2"#))
        #expect(metrics.body.contains(#"wpk_serve_triggers_refused_total{reason="stale"} 2"#))
        // Nothing refused started a run: exactly the two accepted ones are in the ledger.
        try waitUntil("both runs end") { try serve.ended().count == 2 }
        #expect(try serve.started().count == 2)
        #expect(try serve.terminate() == 0)
    }

    /// Recorded Alertmanager payloads: firing starts a run that waits at its gate, the same alert
    /// again starts nothing while that run lives, resolved starts nothing, a grouped payload starts
    /// only its new firing alert, hostile label values are refused by the input's pattern, the
    /// cap answers 429, and without the bearer token nothing is accepted.
    @Test func alertmanagerPayloads() throws {
        let serve = try ServeHarness()
        func post(_ fixture: String, token: String? = ServeHarness.token, data: String? = nil) throws -> (status: Int, body: String) {
            var arguments = [
                "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", data ?? "@\(ServeHarness.alertFixtures)/\(fixture)",
            ]
            if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
            return try serve.curl(arguments + [serve.url("/alertmanager")])
        }
        func runIDs(_ body: String) throws -> [String] {
            try JSONValue.parse(Array(body.utf8))["runs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        #expect(try post("firing.json", token: nil).status == 401)
        #expect(try post("firing.json", token: "wrong").status == 401)
        #expect(try post("firing.json", data: "{\"version\": \"4\"").status == 400)

        let first = try post("firing.json")
        #expect(first.status == 202, "\(first.body)")
        let firstRun = try #require(try runIDs(first.body).first)
        let record = try #require(try serve.started()[firstRun])
        #expect(record.draft.startedBy?.kind == .alertmanager)
        #expect(record.draft.startedBy?.trigger == "KubePodCrashLooping 5f8c0b7e2a1d3c4b")
        try waitUntil("the run waits for approval") { try serve.sandbox.types(of: firstRun).contains("waiting") }
        // The waiting gauge is separate from runs started or in progress, and comes from the ledger.
        let waitingAlerts = #"wpk_serve_runs_waiting{kind="alertmanager"}"#
        #expect(try serve.metric(waitingAlerts) == 1)
        #expect(try serve.metric(#"wpk_serve_runs_waiting{kind="webhook"}"#) == 0)

        #expect(try post("firing.json") == (200, "{\"runs\":[]}\n"))
        #expect(try post("resolved.json") == (200, "{\"runs\":[]}\n"))
        let grouped = try post("grouped.json")
        #expect(grouped.status == 202, "\(grouped.body)")
        let secondRun = try #require(try runIDs(grouped.body).first)
        #expect(try runIDs(grouped.body).count == 1)
        #expect(try serve.started()[secondRun]?.draft.startedBy?.trigger == "KubePodCrashLooping a3e1f09bd2c47e65")
        let hostile = try post("hostile-labels.json")
        #expect(hostile.status == 200)
        #expect(hostile.body.contains("does not match its pattern"), "\(hostile.body)")
        // Two runs of this playbook live and max_concurrency is 2: a new alert is refused.
        let third = try String(contentsOfFile: ServeHarness.alertFixtures + "/firing.json", encoding: .utf8)
            .replacingOccurrences(of: "5f8c0b7e2a1d3c4b", with: "1111222233334444")
        #expect(try post("", data: third).status == 429)
        #expect(try serve.started().count == 2)
        try waitUntil("both runs wait") { try serve.metric(waitingAlerts) == 2 }

        // The runs are ordinary runs: cancelling them ends them, and frees the slots.
        for run in [firstRun, secondRun] {
            #expect(try serve.sandbox.wpk(["cancel", run, "--reason", "test over"]).status == 0)
        }
        try waitUntil("both runs end") { try serve.ended().isSuperset(of: [firstRun, secondRun]) }
        #expect(try serve.metric(waitingAlerts) == 0)
        try waitUntil("the slots are free") { try post("", data: third).status == 202 }
        let metrics = try serve.curl([serve.url("/metrics")]).body
        #expect(metrics.contains(#"wpk_serve_requests_total{trigger="alertmanager",status="429"} 1"#))
        for run in try serve.started().keys where !(try serve.ended().contains(run)) {
            _ = try serve.sandbox.wpk(["cancel", run, "--reason", "test over"])
        }
        #expect(try serve.terminate() == 0)
    }

    /// 10,000 signed webhook requests at concurrency 50: every answer is 202 or 429, every 202's run
    /// is in the ledger exactly once and no other run is, and the server's memory stays bounded.
    @Test func loadOfTenThousandWebhooks() throws {
        let serve = try ServeHarness()
        let result = try serve.python(["load", String(serve.port), "/hooks/restart", ServeHarness.hookKey, "10000", "50"])
        let statuses = result["statuses"]
        let accepted = statuses?["202"]?.intValue ?? 0
        let refused = statuses?["429"]?.intValue ?? 0
        #expect(result["errors"]?.intValue == 0)
        #expect(accepted + refused == 10_000, "\(result.serialized())")
        #expect(accepted > 0)
        let runs = result["runs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(runs.count == accepted)
        #expect(Set(runs).count == runs.count, "a run id was answered twice")
        try waitUntil("every accepted run ends", timeout: 120) { try serve.ended().isSuperset(of: runs) }
        let recorded = try serve.started().filter { $0.value.draft.startedBy?.kind == .webhook }
        #expect(Set(recorded.keys) == Set(runs), "runs in the ledger and runs answered differ")
        let peak = try #require(serve.peakMemoryKiB())
        #expect(peak < 256 * 1024, "wpk serve peaked at \(peak) KiB")
        print("load: \(result.serialized()); wpk serve peak memory \(peak) KiB")
        #expect(try serve.terminate() == 0)
    }

    /// SIGTERM in the middle of a load: the server stops accepting, exits 0, every answered run
    /// is recorded and goes on to its end after the server is gone.
    @Test func sigtermDuringLoad() throws {
        let serve = try ServeHarness()
        let pid = serve.server.process.processIdentifier
        let result = try serve.python([
            "load", String(serve.port), "/hooks/restart", ServeHarness.hookKey, "3000", "20", "--sigterm", String(pid), "500",
        ])
        #expect(try serve.server.finish(timeout: 30) == 0)
        let answered = result["statuses"]?.objectCount ?? 0
        #expect(answered > 0)
        let statuses = Set(
            result["statuses"].map { value -> [String] in
                if case .object(let members) = value { return members.map(\.key) } else { return [] }
            } ?? [])
        #expect(statuses.isSubset(of: ["202", "429"]), "\(result.serialized())")
        let runs = result["runs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        try waitUntil("the runs it started end without it", timeout: 60) { try serve.ended().isSuperset(of: runs) }
        #expect(Set(try serve.started().keys).isSuperset(of: runs))
        #expect(try serve.curl([serve.url("/healthz")]).status == 0, "still answering after SIGTERM")
    }

    /// Invalid playbooks are reported and skipped; the valid ones are served.
    @Test func invalidPlaybooksAreSkipped() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            atPath: ServeHarness.fixtures + "/hook.wpk.yaml", toPath: directory.appendingPathComponent("hook.wpk.yaml").path)
        try writeFiles(["broken.wpk.yaml": "apiVersion: wpk/v1\nkind: WorkflowPackage\nspec: [\n"], in: directory)
        let serve = try ServeHarness(paths: [directory.path])
        #expect(serve.server.errors.contains("broken.wpk.yaml"), "\(serve.server.errors)")
        #expect(serve.server.errors.contains("skipped: invalid playbook"))
        #expect(try serve.signedPost(#"{"deployment": "web"}"#).0 == 202)
        try waitUntil("the run ends") { try serve.ended().count == 1 }
        #expect(try serve.terminate() == 0)
    }
}

extension JSONValue {
    /// Members of an object (0 for anything else).
    var objectCount: Int? {
        if case .object(let members) = self { return members.count }
        return nil
    }
}
