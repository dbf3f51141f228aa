import Foundation
import WPKCore

/// A `wpk run` (or any wpk command) started in the background, its standard output going to a
/// file the test reads while it runs.
final class BackgroundWPK {
    let process = Process()
    let outputPath: String

    init(_ arguments: [String], environment: [String: String], in directory: URL, launch: WPKLaunch = WPKLaunch()) throws {
        outputPath = directory.appendingPathComponent("wpk-\(UUID().uuidString).out").path
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let command = try launch.command(arguments)
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        var env = ProcessInfo.processInfo.environment
        env["XDG_STATE_HOME"] = WPKLaunch.stateHome
        for (key, value) in environment { env[key] = value }
        process.environment = env
        FileManager.default.createFile(atPath: outputPath + ".err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath + ".err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// What it printed on standard output so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// What it printed on standard error so far.
    var errors: String { (try? String(contentsOfFile: outputPath + ".err", encoding: .utf8)) ?? "" }

    /// The first line of standard output: the run id.
    func runID() throws -> String {
        try waitUntil("the run id is printed") { output.contains("\n") }
        return String(output.prefix { $0 != "\n" })
    }

    /// Waits for it to exit (bounded) and returns its exit status.
    func finish(timeout: Double = 20) throws -> Int32 {
        try waitUntil("wpk exits", timeout: timeout) { !process.isRunning }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// Something the test waited for did not happen in time.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting until \(what)" }
}

/// Polls `condition` until it holds (fzf's way: wait until, never a fixed sleep), or throws.
func waitUntil(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    if try condition() { return }
    throw TimedOut(what: what)
}

/// A scratch directory for one run test: the ledger, a machine policy that allows auto mode,
/// stand-in programs first on PATH, and a state directory for the fixture scripts.
final class RunSandbox {
    let root: URL
    /// The machine policy every wpk of this sandbox sees at /etc/wpk (`mode: auto` unless given).
    let policy: TestPolicy
    /// In a setgid team directory (2770, group root), so a second account can write it too.
    var ledger: String { root.appendingPathComponent("team/ledger.jsonl").path }
    var state: String { root.appendingPathComponent("state").path }
    var bin: String { root.appendingPathComponent("bin").path }
    var argvLog: String { root.appendingPathComponent("argv.log").path }

    init(policy text: String = "mode: auto\n") throws {
        root = try makeTemporaryDirectory()
        policy = try TestPolicy(text)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let team = root.appendingPathComponent("team").path
        try FileManager.default.createDirectory(atPath: team, withIntermediateDirectories: true)
        chmod(team, 0o2770)
        chmod(root.path, 0o755)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// The environment of a `wpk run` here: this sandbox's ledger, the stand-ins first on PATH.
    var environment: [String: String] {
        [
            "WPK_LEDGER": ledger,
            "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "WPK_ARGV_LOG": argvLog,
        ]
    }

    /// Installs a stand-in program that appends its name and arguments (NUL-separated, one
    /// invocation per record) to `argvLog`, prints `output` and exits with `status`.
    func installStandIn(_ name: String, output: String = "", status: Int32 = 0) throws {
        let path = bin + "/" + name
        let script = """
            #!/bin/sh
            { printf '%s\\0' "$(basename "$0")" "$@"; printf '\\036'; } >> "$WPK_ARGV_LOG"
            printf '%s' '\(output)'
            exit \(status)

            """
        try writeExecutableScript(script, to: path)
    }

    /// Every argv the stand-ins recorded, in order.
    func recordedArgv() throws -> [[String]] {
        guard FileManager.default.fileExists(atPath: argvLog) else { return [] }
        let text = try String(contentsOfFile: argvLog, encoding: .utf8)
        return text.split(separator: "\u{1E}").map { record in
            record.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    /// The ledger's records (verified).
    func records() throws -> [LedgerRecord] {
        try Ledger(path: ledger).read().records
    }

    /// Types of the records of one run, in order.
    func types(of run: String) throws -> [String] {
        try records().filter { $0.draft.run == run }.map(\.draft.type.name)
    }

    /// The uid of the second operator: not the account that starts runs, since nobody may
    /// approve their own run. It has no password entry, so the ledger names it by its number.
    static let approverUID = 4242

    /// How wpk starts here: under this sandbox's policy, as the test's own account.
    var launch: WPKLaunch { WPKLaunch(policy: policy) }

    /// Runs `wpk` here (this sandbox's policy and environment) to its end.
    func wpk(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProcessResult {
        try runWPK(arguments, environment: environment.merging(extra) { $1 }, launch: launch)
    }

    /// Starts `wpk` here in the background.
    func background(_ arguments: [String]) throws -> BackgroundWPK {
        try BackgroundWPK(arguments, environment: environment, in: root, launch: launch)
    }

    /// Runs `wpk` as the second operator (group root for the team directory): a real separate
    /// process of another OS account, as on a shared bastion.
    func wpkAsApprover(_ arguments: [String]) throws -> ProcessResult {
        try runWPK(arguments, environment: environment, launch: WPKLaunch(policy: policy, user: (uid_t(Self.approverUID), 0, [])))
    }

    /// The path of a run fixture.
    static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("Tests/Fixtures/run/\(name).wpk.yaml").path
    }
}

/// The plan `wpk plan --format json` prints for a fixture, parsed.
func planJSON(_ fixture: String, set: [String], in sandbox: RunSandbox) throws -> JSONValue {
    let result = try sandbox.wpk(["plan", "--format", "json"] + set.flatMap { ["--set", $0] } + [fixture])
    return try JSONValue.parse(Array(result.standardOutput.utf8))
}

/// Writes an executable script through a close-on-exec descriptor: a plain write leaves the descriptor
/// open in any child another test thread spawns meanwhile, and executing the script then fails with
/// "Text file busy" (ETXTBSY) for as long as that child lives.
func writeExecutableScript(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o755)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        written += n
    }
    guard fchmod(fd, 0o755) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}
