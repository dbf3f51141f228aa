import Foundation
import Testing
import WPKCore

/// The throwaway PostgreSQL server `.ci/run` starts (`scripts/test-postgres.sh start`).
private enum PostgresServer {
    static let environment = ProcessInfo.processInfo.environment
    static let socketDirectory = environment["WPK_TEST_PG_SOCKET_DIR"] ?? ""

    /// Why these tests cannot run here; nil when they can.
    static let unavailableReason: String? = {
        guard !socketDirectory.isEmpty else {
            return "WPK_TEST_PG_SOCKET_DIR is not set; start a server with: eval \"$(scripts/test-postgres.sh start)\""
        }
        guard getuid() == 0 else {
            return "needs root: wpk approvals init signs in as the local postgres account, and the test mounts a policy"
        }
        guard FileManager.default.fileExists(atPath: socketDirectory + "/.s.PGSQL.5432") else {
            return "no PostgreSQL socket in \(socketDirectory)"
        }
        return nil
    }()

    /// Skips with the reason on a developer machine; fails under CI, where the server must be there.
    static func require() throws -> Bool {
        guard let reason = unavailableReason else { return true }
        print("PostgreSQL team-ledger end-to-end test skipped: \(reason)")
        #expect(environment["CI"] == nil, "the PostgreSQL end-to-end tests must run in CI: \(reason)")
        return false
    }

    /// Runs `scripts/test-postgres.sh` with `arguments`; its standard output.
    @discardableResult
    static func script(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [packageRoot.appendingPathComponent("scripts/test-postgres.sh").path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LaunchFailure("test-postgres.sh \(arguments.joined(separator: " ")) failed (\(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs SQL as the local postgres account (peer authentication) on the server in `socket`.
    static func psql(_ sql: String, socket: String = socketDirectory, database: String = "postgres") throws {
        let bin = environment["WPK_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = ["-u", "postgres", "--", bin + "/psql", "-q", "-h", socket, "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw LaunchFailure("psql failed: \(sql)") }
    }
}

/// A server of the test's own (`scripts/test-postgres.sh start`), for restarting it without
/// disturbing the other tests' server; stopped and removed when dropped.
private final class PrivateServer {
    let directory: String

    init() throws {
        let exports = try PostgresServer.script(["start"])
        guard let line = exports.split(separator: "\n").first(where: { $0.hasPrefix("export WPK_TEST_PG_DIR=") }) else {
            throw LaunchFailure("test-postgres.sh start printed no directory: \(exports)")
        }
        directory = String(line.dropFirst("export WPK_TEST_PG_DIR=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
    }

    func restart() throws { try PostgresServer.script(["restart", directory]) }

    deinit { _ = try? PostgresServer.script(["stop", directory]) }
}

/// A team on two bastion hosts sharing one PostgreSQL ledger: a database and role made by
/// `wpk approvals init` from the policy's URL, a team group, a run starter on "host A" and an
/// approver on "host B" (separate accounts, each with a state directory of its own, so each keeps
/// its own verified heads, as two machines do). Dropped with the database and role.
private final class PostgresTeam {
    let sandbox: RunSandbox
    let team: TestGroup
    let starter: TestAccount
    let approver: TestAccount
    let name: String
    let socket: String
    let url: String
    let work: String

    init(socket: String = PostgresServer.socketDirectory) throws {
        sandbox = try RunSandbox()
        team = try TestGroup()
        starter = try TestAccount(groups: [team.name])
        approver = try TestAccount(groups: [team.name])
        name = "wpk_e2e_" + String(UUID().uuidString.prefix(8)).lowercased()
        self.socket = socket
        url = "postgresql://\(name)@/\(name)?host=\(socket)"
        try sandbox.policy.write("policy.yaml", "mode: auto\nledger: \(url)\nledger_password_file: /etc/wpk/ledger-password\n")
        work = sandbox.root.appendingPathComponent("work").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)
        chown(work, starter.uid, team.gid)
        chmod(work, 0o770)
    }

    deinit {
        _ = try? PostgresServer.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", socket: socket)
        _ = try? PostgresServer.psql("DROP ROLE IF EXISTS \(name)", socket: socket)
    }

    /// `wpk approvals init` as root, signing in as the local postgres account (the default).
    func initialize() throws -> ProcessResult {
        try runWPK(["approvals", "init", "--group", team.name], launch: sandbox.launch)
    }

    /// A state directory of its own per host and account (its verified heads).
    func state(_ host: String, _ account: TestAccount) throws -> [String: String] {
        let own = sandbox.root.appendingPathComponent("state-\(host)").path
        if !FileManager.default.fileExists(atPath: own) {
            try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: false)
            chown(own, account.uid, account.gid)
        }
        return ["XDG_STATE_HOME": own, "HOME": own, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    }

    func launch(_ account: TestAccount) -> WPKLaunch { WPKLaunch(policy: sandbox.policy, as: account, groups: [team.gid]) }

    /// wpk on host A, as the run starter.
    func onHostA(_ arguments: [String]) throws -> ProcessResult {
        try runWPK(arguments, environment: try state("A", starter), launch: launch(starter))
    }

    /// wpk on host B, as the approver.
    func onHostB(_ arguments: [String]) throws -> ProcessResult {
        try runWPK(arguments, environment: try state("B", approver), launch: launch(approver))
    }

    /// Starts the gated fixture on host A and waits until host B sees it waiting.
    func startGatedRun() throws -> (BackgroundWPK, String) {
        let run = try BackgroundWPK(
            ["run", "--set", "state_dir=\(work)", RunSandbox.fixture("shell-gated")], environment: try state("A", starter),
            in: sandbox.root, launch: launch(starter))
        let runID = try run.runID()
        try waitUntil("host B sees run \(runID) waiting", timeout: 30) {
            let listed = try onHostB(["approvals", "list", "--run", runID, "--format", "json"])
            let runs = (try? JSONValue.parse(Array(listed.standardOutput.utf8)))?["runs"]?.arrayValue ?? []
            return runs.contains { $0["run"]?.stringValue == runID && $0["status"]?.stringValue == "waiting" }
        }
        return (run, runID)
    }

    /// Approves the run's gate from host B, after reading the plan the run stored (as an
    /// operator does: the preview names the fingerprint to give).
    func approveFromHostB(_ runID: String) throws {
        let preview = try onHostB(["approve", "--run", runID, "--step", "change"])
        #expect(preview.status == 2, "\(preview.standardOutput)\(preview.standardError)")
        #expect(preview.standardOutput.contains("$ "), "the run's stored plan, read from the database on host B: \(preview.standardOutput)")
        let fingerprint = try #require(
            preview.standardOutput.split(separator: "\n").first { $0.hasPrefix("fingerprint: ") }?.dropFirst("fingerprint: ".count))
        let approval = try onHostB(["approve", "--run", runID, "--step", "change", "--plan", String(fingerprint)])
        #expect(approval.status == 0, "\(approval.standardOutput)\(approval.standardError)")
    }
}

@Suite("A team ledger on PostgreSQL, end to end", .serialized)
struct PostgresTeamLedgerTests {
    /// `wpk approvals init` makes the database, role and schema the policy names (again: nothing
    /// to do); a run on host A waits at its gate, host B reads its plan and approves it, the run
    /// continues; both hosts list and verify one history; `wpk cancel` and `approvals show` work the same.
    @Test func aRunOnHostAIsApprovedFromHostB() throws {
        guard try PostgresServer.require() else { return }
        let team = try PostgresTeam()
        let initialized = try team.initialize()
        #expect(initialized.status == 0, "\(initialized.standardOutput)\(initialized.standardError)")
        #expect(
            initialized.standardOutput.contains("created role \(team.name)")
                && initialized.standardOutput.contains("created database \(team.name)"))
        #expect(initialized.standardOutput.contains("SELECT and INSERT on wpk.entries"))
        var info = stat()
        let passwordFile = team.sandbox.policy.directory.appendingPathComponent("ledger-password").path
        #expect(stat(passwordFile, &info) == 0 && info.st_uid == 0 && info.st_gid == team.team.gid && info.st_mode & 0o777 == 0o640)
        let again = try team.initialize()
        #expect(again.status == 0 && again.standardOutput.contains("nothing to migrate"), "\(again.standardOutput)\(again.standardError)")

        let (run, runID) = try team.startGatedRun()
        #expect(!FileManager.default.fileExists(atPath: team.work + "/changed"))
        try team.approveFromHostB(runID)
        #expect(try run.finish(timeout: 30) == 0, "\(run.output)\(run.errors)")
        #expect(FileManager.default.fileExists(atPath: team.work + "/changed"))
        #expect(!run.errors.contains("UNMANAGED"), "a database ledger is the team's: \(run.errors)")

        // One history on both hosts, verified by each against its own remembered head.
        let verifiedA = try team.onHostA(["approvals", "verify", "--format", "json"])
        let verifiedB = try team.onHostB(["approvals", "verify", "--format", "json"])
        #expect(verifiedA.status == 0 && verifiedB.status == 0, "\(verifiedA.standardError)\(verifiedB.standardError)")
        let a = try JSONValue.parse(Array(verifiedA.standardOutput.utf8))
        let b = try JSONValue.parse(Array(verifiedB.standardOutput.utf8))
        #expect(a["ledger"]?.stringValue == team.url && a["head"] == b["head"] && a["records"]?.intValue == 7)
        let shown = try team.onHostB(["approvals", "show", runID])
        #expect(shown.status == 0 && shown.standardOutput.contains("change"), "\(shown.standardOutput)\(shown.standardError)")
        // --ledger cannot send anything elsewhere.
        let elsewhere = try team.onHostA(["approvals", "list", "--ledger", "postgresql://other@/other?host=/tmp"])
        #expect(elsewhere.status == 1 && elsewhere.standardError.contains("--ledger cannot choose another"), "\(elsewhere.standardError)")

        let text = try team.onHostA(["approvals", "verify"])
        #expect(
            text.standardOutput.contains("intact, 7 records") && text.standardOutput.contains("append-only: enforced by the database"),
            "\(text.standardOutput)")

        // A second run, cancelled from host B while it waits, stops on host A.
        let (second, secondID) = try team.startGatedRun()
        let cancelled = try team.onHostB(["cancel", secondID, "--reason", "wrong window", "--wait", "20"])
        #expect(
            cancelled.status == 0 && cancelled.standardOutput.contains("cancelled run \(secondID)"),
            "\(cancelled.standardOutput)\(cancelled.standardError)")
        #expect(try second.finish(timeout: 30) != 0)
        #expect(try team.onHostA(["approvals", "verify"]).status == 0 && (try team.onHostB(["approvals", "verify"])).status == 0)

        // A superuser switches the triggers off and deletes the newest records: both hosts verified
        // them before, so both refuse the shorter history as rolled back, and nothing runs on it.
        try PostgresServer.psql(
            "SET session_replication_role = replica; DELETE FROM wpk.entries WHERE seq > 5", socket: team.socket, database: team.name)
        for (host, result) in [("A", try team.onHostA(["approvals", "verify"])), ("B", try team.onHostB(["approvals", "verify"]))] {
            #expect(
                result.status == 1 && result.standardError.contains("was rolled back"),
                "host \(host): \(result.standardOutput)\(result.standardError)")
        }
        let refused = try team.onHostA(["run", "--set", "state_dir=\(team.work)", RunSandbox.fixture("shell-gated")])
        #expect(refused.status == 1 && refused.standardError.contains("rolled back"), "\(refused.standardOutput)\(refused.standardError)")
    }

    /// `wpk review` on host B, in a real terminal: the Runs view lists host A's waiting run first,
    /// shows the plan the run stored in the database, approves it, and then follows the run to its
    /// end with no key pressed (host A's records wake it through LISTEN/NOTIFY).
    @Test func theRunsViewOnHostBApprovesARunOfHostAAndFollowsIt() throws {
        guard try PostgresServer.require() else { return }
        let team = try PostgresTeam()
        #expect(try team.initialize().status == 0)
        let (run, runID) = try team.startGatedRun()
        let session = try TmuxSession(width: 120, height: 40)
        let state = try team.state("B", team.approver).map { "\($0.key)=\(shellQuoted($0.value))" }.joined(separator: " ")
        try session.type(
            "env LANG=C.UTF-8 \(state) \(try team.launch(team.approver).shellCommand(["review", RunSandbox.fixture("shell-gated")])); echo \"EXIT=$?\"",
            enter: true)
        try session.waitFor("the Runs view with host A's waiting run first", timeout: 30) { screen in
            let lines = screen.split(separator: "\n").map(String.init)
            guard let header = lines.firstIndex(where: { $0.contains("RUN") && $0.contains("APPR") }), header + 1 < lines.count else {
                return false
            }
            return lines[header + 1].contains(runID) && lines[header + 1].contains("change") && lines[header + 1].contains("0/1")
        }
        #expect(!(try session.capture()).contains("UNMANAGED"))
        try session.press("Enter")
        try session.waitFor("the run's stored plan") {
            $0.contains("run \(runID)") && $0.contains("change  [waiting]") && $0.contains("echo changed")
        }
        try session.type("a")
        try session.waitFor("the approval dialog") { $0.contains("APPROVE this run's step?") }
        let listed = try team.onHostB(["approvals", "list", "--run", runID, "--format", "json"])
        let planDigest = try #require(
            (try JSONValue.parse(Array(listed.standardOutput.utf8)))["gates"]?.arrayValue?.first?["plan_digest"]?.stringValue)
        try session.type(String(Plan.fingerprint(of: planDigest).prefix(4)))
        try session.waitFor("the run finished on screen, followed without a key", timeout: 30) { screen in
            screen.contains("succeeded") && screen.contains("change  [done]") && !screen.contains("[waiting]")
        }
        #expect(try run.finish(timeout: 30) == 0, "\(run.output)\(run.errors)")
        try session.type("q")
        try session.waitFor("the review to end") { $0.contains("EXIT=0") }
    }

    /// The server restarts (pg_ctl restart -m fast: every connection ends) while a run waits at
    /// its gate; the approval given after the restart reaches the run, which reconnects and goes on.
    @Test func aWaitingRunRidesOutAServerRestart() throws {
        guard try PostgresServer.require() else { return }
        let server = try PrivateServer()
        let team = try PostgresTeam(socket: server.directory)
        let initialized = try team.initialize()
        #expect(initialized.status == 0, "\(initialized.standardOutput)\(initialized.standardError)")
        let (run, runID) = try team.startGatedRun()
        try server.restart()
        try team.approveFromHostB(runID)
        #expect(try run.finish(timeout: 60) == 0, "\(run.output)\(run.errors)")
        #expect(FileManager.default.fileExists(atPath: team.work + "/changed"))
    }

    /// `wpk approvals migrate --from FILE` copies a team's JSON Lines ledger into the database;
    /// the copy verifies to the same head, and runs go on in it. A damaged file is refused.
    @Test func aFileLedgerIsMigratedAndVerifiesIdentically() throws {
        guard try PostgresServer.require() else { return }
        let team = try PostgresTeam()
        // This time as an administrator named by URL, signing in with the password in a root-only file.
        let adminPassword = try #require(PostgresServer.environment["WPK_TEST_PG_ADMIN_PASSWORD_FILE"])
        let initialized = try runWPK(
            [
                "approvals", "init", "--group", team.team.name, "--admin-url", "postgresql://wpk_test_admin@/postgres?host=\(team.socket)",
                "--admin-password-file", adminPassword,
            ], launch: team.sandbox.launch)
        #expect(
            initialized.status == 0 && initialized.standardOutput.contains("created database \(team.name)"),
            "\(initialized.standardOutput)\(initialized.standardError)")
        // A file ledger with a run approved and finished in it.
        let sandbox = try RunSandbox()
        let started = try sandbox.background(["run", "--set", "state_dir=\(sandbox.state)", RunSandbox.fixture("shell-gated")])
        let runID = try started.runID()
        try waitUntil("run \(runID) waits") { try sandbox.types(of: runID).contains("waiting") }
        let planDigest = try #require(try sandbox.records().first { $0.draft.type == .runStarted }?.draft.planDigest)
        #expect(
            try sandbox.wpkAsApprover(["approve", "--run", runID, "--step", "change", "--plan", Plan.fingerprint(of: planDigest)]).status
                == 0)
        #expect(try started.finish() == 0)
        let fileHead = try Ledger(path: sandbox.ledger).read().head

        let migrated = try runWPK(["approvals", "migrate", "--from", sandbox.ledger], launch: team.sandbox.launch)
        #expect(migrated.status == 0, "\(migrated.standardOutput)\(migrated.standardError)")
        #expect(migrated.standardOutput.contains("copied 7 of 7 records") && migrated.standardOutput.contains(fileHead))
        let verified = try team.onHostB(["approvals", "verify", "--format", "json"])
        let copyHead = try JSONValue.parse(Array(verified.standardOutput.utf8))["head"]?.stringValue
        #expect(verified.status == 0 && copyHead == fileHead, "\(verified.standardError)")
        // Again: nothing more to copy.
        let again = try runWPK(["approvals", "migrate", "--from", sandbox.ledger], launch: team.sandbox.launch)
        #expect(
            again.status == 0 && again.standardOutput.contains("copied 0 of 7 records"), "\(again.standardOutput)\(again.standardError)")
        // A damaged file is refused before anything is copied.
        var lines = try String(contentsOfFile: sandbox.ledger, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacingOccurrences(of: "\"waiting\"", with: "\"approved\"")
        #expect(lines[1].contains("\"approved\""))
        let damaged = sandbox.root.appendingPathComponent("damaged.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: damaged, atomically: true, encoding: .utf8)
        let refused = try runWPK(["approvals", "migrate", "--from", damaged], launch: team.sandbox.launch)
        #expect(refused.status == 1 && refused.standardError.contains("does not verify, nothing was copied"), "\(refused.standardError)")
    }
}
