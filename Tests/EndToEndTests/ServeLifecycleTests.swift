import Foundation
import Testing
import WPKCore

/// `wpk serve` over time: playbooks and the Alertmanager token read again on SIGHUP, and
/// schedules firing real runs under a test clock (debug builds only), across a restart.
@Suite(.serialized, .enabled(if: canActAsRoot, needsRootComment)) struct ServeLifecycleTests {
    static let hook = try! String(contentsOfFile: ServeHarness.fixtures + "/hook.wpk.yaml", encoding: .utf8)

    /// A webhook playbook like the fixture, at `path`, named `name`.
    static func hookPlaybook(path: String, name: String) -> String {
        hook.replacingOccurrences(of: "path: /hooks/restart", with: "path: \(path)")
            .replacingOccurrences(of: "name: serve-hook", with: "name: \(name)")
    }

    /// SIGHUP reads the playbooks again: an added playbook's webhook answers, a changed one
    /// answers at its new path only, a broken one is reported and skipped while the others are
    /// served. The token file is read again too: refused (and the log says why) while group or
    /// others can read it or it is not root's, accepted once it is root's alone.
    @Test func sighupReloadsPlaybooksAndToken() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles(["hook.wpk.yaml": Self.hook], in: directory)
        let sandbox = try RunSandbox(policy: "mode: auto\nserve_token_file: /etc/wpk/serve-token\n")
        try sandbox.policy.write("serve-token", ServeHarness.token + "\n")  // mode 644: readable by others
        let tokenFile = sandbox.policy.directory.appendingPathComponent("serve-token").path
        let serve = try ServeHarness(paths: [directory.path], sandbox: sandbox)
        func alertmanager() throws -> Int {
            try serve.curl([
                "-X", "POST", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer \(ServeHarness.token)",
                "--data-binary", "@\(ServeHarness.alertFixtures)/firing.json", serve.url("/alertmanager"),
            ]).status
        }

        #expect(
            serve.server.errors.contains(
                "/alertmanager refuses every request: serve_token_file /etc/wpk/serve-token is refused: it holds a secret but is readable by group or others (mode 644)"
            ),
            "\(serve.server.errors)")
        #expect(try alertmanager() == 401)
        #expect(try serve.signedPost(#"{"deployment": "web"}"#).0 == 202)

        // Add one playbook, move the other's webhook, break a third; the token becomes another account's.
        try writeFiles(
            [
                "second.wpk.yaml": Self.hookPlaybook(path: "/hooks/second", name: "serve-second"),
                "hook.wpk.yaml": Self.hookPlaybook(path: "/hooks/renamed", name: "serve-hook"),
                "broken.wpk.yaml": "apiVersion: wpk/v1\nkind: WorkflowPackage\nspec: [\n",
            ], in: directory)
        chmod(tokenFile, 0o600)
        chown(tokenFile, 4242, 0)
        try serve.reload()
        #expect(serve.server.errors.contains("SIGHUP: reading the playbooks again"))
        #expect(serve.server.errors.contains("broken.wpk.yaml:"), "\(serve.server.errors)")
        #expect(serve.logCount("skipped: invalid playbook") == 1)
        #expect(serve.server.errors.contains("is refused: it is owned by uid 4242, not by root"), "\(serve.server.errors)")
        #expect(try alertmanager() == 401)
        // Distinct bodies: the same body signed in the same second would be a replay (409) on any path.
        #expect(try serve.signedPost(#"{"deployment": "second"}"#, path: "/hooks/second").0 == 202)
        #expect(try serve.signedPost(#"{"deployment": "renamed"}"#, path: "/hooks/renamed").0 == 202)
        #expect(try serve.signedPost(#"{"deployment": "restart"}"#, path: "/hooks/restart").0 == 404)

        // Root's alone now: accepted (nothing here matches the alert, so nothing starts).
        chown(tokenFile, 0, 0)
        try serve.reload()
        #expect(serve.logCount("/alertmanager refuses every request") == 2)
        #expect(try alertmanager() == 200)
        let triggers = try serve.started().values.compactMap { $0.draft.startedBy?.trigger }
        #expect(triggers.sorted() == ["/hooks/renamed", "/hooks/restart", "/hooks/second"])
        try waitUntil("the runs end") { try serve.ended().count == 3 }
        #expect(try serve.terminate() == 0)
    }

    /// A server restarted while a run it started waits at its gate counts that run as its own:
    /// the same alert again starts nothing, and once the run is cancelled it starts one.
    @Test func aRestartedServerKnowsTheRunsStillWaiting() throws {
        let first = try ServeHarness()
        func post(_ serve: ServeHarness) throws -> (status: Int, body: String) {
            try serve.curl([
                "-X", "POST", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer \(ServeHarness.token)",
                "--data-binary", "@\(ServeHarness.alertFixtures)/firing.json", serve.url("/alertmanager"),
            ])
        }
        #expect(try post(first).status == 202)
        let run = try #require(try first.started().keys.first)
        try waitUntil("the run waits for approval") { try first.sandbox.types(of: run).contains("waiting") }
        #expect(try first.terminate() == 0)

        let second = try ServeHarness(sandbox: first.sandbox)
        let adoption = second.server.errors.split(separator: "\n").first {
            $0.contains("runs started before this server that still live are counted as its own")
        }
        #expect(adoption?.contains("runs=1") == true, "\(second.server.errors)")
        #expect(try post(second) == (200, "{\"runs\":[]}\n"))
        #expect(try second.metric("wpk_serve_runs_in_progress") == 1)
        #expect(try second.sandbox.wpk(["cancel", run, "--reason", "test over"]).status == 0)
        try waitUntil("the slot is given back") { try second.metric("wpk_serve_runs_in_progress") == 0 }
        #expect(try post(second).status == 202)
        for other in try second.started().keys where !(try second.ended().contains(other)) {
            _ = try second.sandbox.wpk(["cancel", other, "--reason", "test over"])
        }
        #expect(try second.terminate() == 0)
    }

    /// A `30 2 * * *` schedule in New York, on the spring-forward day (02:30 does not exist), with
    /// the server's schedule clock started just before the jump: it fires once, at 03:00 EDT, as a
    /// real `wpk run` recorded with started_by schedule. The server is stopped and started again a
    /// day later (clock past the next 02:30): that fire is reported as missed and not caught up.
    @Test func scheduleFiresARunAndMissedFiresAreNotCaughtUp() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let scheduled = Self.hook
            .replacingOccurrences(of: "name: serve-hook", with: "name: serve-nightly")
            .replacingOccurrences(
                of: """
                      triggers:
                        - kind: webhook
                          path: /hooks/restart
                          secret_input: hook_key
                          inputs:
                            deployment: "${{ event.body.deployment }}"
                    """,
                with: """
                      triggers:
                        - kind: schedule
                          cron: "30 2 * * *"
                          timezone: America/New_York
                    """
            )
            .replacingOccurrences(of: "      required: true\n", with: "      default: nightly\n")
        #expect(scheduled.contains("kind: schedule") && scheduled.contains("default: nightly"))
        try writeFiles(["nightly.wpk.yaml": scheduled], in: directory)
        let sandbox = try RunSandbox(policy: "mode: auto\n")
        let state = sandbox.root.appendingPathComponent("serve-state").path
        func scheduleRuns() throws -> [LedgerRecord] {
            try sandbox.records().filter { $0.draft.type == .runStarted && $0.draft.startedBy?.kind == .schedule }
        }

        // 2027-03-14 01:59:57 EST: the clocks jump from 02:00 EST to 03:00 EDT (07:00 UTC) in three seconds.
        let first = try ServeHarness(
            paths: [directory.path], sandbox: sandbox,
            environment: ["WPK_SERVE_TEST_SCHEDULE_CLOCK": "2027-03-14T06:59:57Z", "XDG_STATE_HOME": state])
        #expect(first.server.errors.contains("schedules follow a test clock starting at 2027-03-14T06:59:57Z"))
        try waitUntil("the schedule starts a run", timeout: 60) { try !scheduleRuns().isEmpty }
        let run = try #require(try scheduleRuns().first)
        #expect(run.draft.startedBy?.trigger == "30 2 * * * America/New_York")
        #expect(run.draft.startedBy?.source == "wpk serve")
        try waitUntil("the scheduled run succeeds") { try first.ended().contains(run.draft.run ?? "") }
        #expect(try sandbox.records().last { $0.draft.run == run.draft.run }?.draft.outcome == "succeeded")
        try waitUntil("the schedule's decision is logged") { first.server.errors.contains("due=2027-03-14T07:00:00Z") }
        #expect(try first.metric(#"wpk_serve_runs_started_total{kind="schedule"}"#) == 1)
        #expect(try first.terminate() == 0)
        #expect(try scheduleRuns().count == 1)

        // Down for a day: 2027-03-15 02:30 EDT (06:30 UTC) passed; started again at 07:00 UTC.
        let second = try ServeHarness(
            paths: [directory.path], sandbox: sandbox,
            environment: ["WPK_SERVE_TEST_SCHEDULE_CLOCK": "2027-03-15T07:00:00Z", "XDG_STATE_HOME": state])
        // The missed fire is logged first, then the schedule followed from now (its next fire).
        try waitUntil("the missed fire is logged") {
            second.server.errors.contains("schedule missed while wpk serve was not running; not caught up")
                && second.server.errors.contains("next=2027-")
        }
        let log = second.server.errors
        #expect(
            log.contains("first=2027-03-15T06:30:00Z") && log.contains("last=2027-03-15T06:30:00Z") && log.contains("count=1"), "\(log)")
        #expect(log.contains("next=2027-03-16T06:30:00Z"), "\(log)")
        #expect(try second.metric("wpk_serve_schedule_fires_missed_total") == 1)
        #expect(try second.metric(#"wpk_serve_runs_started_total{kind="schedule"}"#) == 0)
        #expect(try scheduleRuns().count == 1, "a missed fire was caught up")
        #expect(try second.terminate() == 0)
    }
}
