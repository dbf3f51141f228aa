import ArgumentParser
import Dispatch
import Foundation
import Logging
import Synchronization
import WPKCore
import WPKPostgres
import WPKServe

/// `wpk serve`: the receiver that turns webhooks, Alertmanager alerts and schedules into runs.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start runs from webhooks, Alertmanager alerts and schedules (a long-running receiver).",
        discussion: """
            Reads the triggers of the playbooks under PATH (again on SIGHUP; invalid playbooks are \
            reported and skipped) and listens on ADDR:PORT (default 127.0.0.1:9095). POST <webhook path> \
            needs X-WPK-Timestamp and X-WPK-Signature (sha256=HMAC of "<timestamp>.<body>" under the \
            trigger's secret_input); POST /alertmanager needs Authorization: Bearer <the policy's \
            serve_token_file>, a file owned by root that group and others can neither read nor write \
            (re-read on SIGHUP); GET /healthz; GET /metrics. Schedule fires missed while no server ran \
            are logged, never caught up. Each run is a separate `wpk run` process, \
            recorded with started_by and gated as any run. SIGTERM or SIGINT stop accepting, finish the \
            responses under way and exit 0; runs already started go on.
            Exit codes: 0 stopped by a signal, 1 cannot listen, 2 usage error.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Address and port to listen on; [ADDR]:PORT for IPv6.", valueName: "ADDR:PORT"))
    var listen: String = "127.0.0.1:9095"

    @Option(name: .long, help: ArgumentHelp("The WPK schema to check playbooks against (default: the one wpk carries).", valueName: "FILE"))
    var schema: String?

    @Argument(help: "Playbook files and directories (searched recursively for *.wpk.yaml).")
    var paths: [String] = []

    func run() throws {
        guard !paths.isEmpty else { throw UsageFailure("wpk serve needs at least one PATH (a playbook file or a directory)") }
        guard !paths.contains("-") else { throw UsageFailure("wpk serve reads playbooks from files, not standard input") }
        guard let (host, port) = Self.parseListen(listen) else {
            throw UsageFailure("--listen takes ADDR:PORT, e.g. 127.0.0.1:9095 or [::1]:9095")
        }
        let checker = PlaybookChecker(schema: try SchemaLocator.load(schema), gateFloor: MachinePolicy.load().gateFloor)
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "wpk.serve")
        logger.logLevel = .info
        let environment = ProcessInfo.processInfo.environment
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let absolute = paths.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
        let server = ServeServer(
            configuration: ServeConfiguration(
                host: host, port: port, paths: absolute, executable: executable, environment: environment,
                checker: checker, alertmanagerKey: Self.alertmanagerKey,
                scheduleNow: Self.scheduleClock(environment: environment, logger: logger),
                scheduleMemory: ScheduleMemory.standard(environment: environment, home: NSHomeDirectory()),
                ledgerDatabase: PostgresLedger.opener),
            logger: logger)
        let finished = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await server.run() } catch { failure.set("\(error)") }
            finished.signal()
        }
        finished.wait()
        if let message = failure.get() {
            printError("wpk serve: \(DisplaySanitizer.sanitize(message))")
            throw ExitCode(1)
        }
    }

    /// `HOST:PORT` or `[V6]:PORT`.
    static func parseListen(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// The bearer token from the policy's `serve_token_file` (one trailing newline ignored), read
    /// only from a file root alone can write and nobody else can read; otherwise why not.
    @Sendable static func alertmanagerKey() -> AlertmanagerKey {
        let s = DisplaySanitizer.sanitize
        switch MachinePolicy.load() {
        case .unsafe(let path, let reason):
            return .refused("the machine policy \(path) is unusable (\(s(reason))), and runs will refuse to start")
        case .loaded(let policy):
            guard let file = policy.serveTokenFile else { return .refused("the policy names no serve_token_file") }
            switch RootOwnedFile.read(file, maxBytes: 4096, secret: true) {
            case .missing: return .refused("serve_token_file \(s(file)) does not exist")
            case .refused(let why): return .refused("serve_token_file \(s(file)) is refused: \(s(why))")
            case .contents(var bytes):
                if bytes.last == 0x0A { bytes.removeLast() }
                if bytes.last == 0x0D { bytes.removeLast() }
                guard !bytes.isEmpty else { return .refused("serve_token_file \(s(file)) is empty") }
                return .token(bytes)
            }
        }
    }

    /// The clock schedules follow: the wall clock, except in a debug build given
    /// `WPK_SERVE_TEST_SCHEDULE_CLOCK=<RFC 3339 UTC instant>`, where schedules see that instant when
    /// they are first looked at and time runs on from it. Only schedules see it (webhook timestamps
    /// and replays are judged by the real clock), and a release build ignores it, saying so.
    static func scheduleClock(environment: [String: String], logger: Logger) -> @Sendable () -> Date {
        guard let text = environment["WPK_SERVE_TEST_SCHEDULE_CLOCK"] else { return { Date() } }
        #if DEBUG
            guard let start = RFC3339.parse(text) else {
                logger.error(
                    "WPK_SERVE_TEST_SCHEDULE_CLOCK is not an RFC 3339 UTC instant (2027-03-14T06:59:57Z); schedules follow the real clock")
                return { Date() }
            }
            logger.warning(
                "schedules follow a test clock starting at \(RFC3339.format(start)) (WPK_SERVE_TEST_SCHEDULE_CLOCK, debug build)")
            let clock = ShiftedClock(start: start)
            return { clock.now() }
        #else
            logger.warning("WPK_SERVE_TEST_SCHEDULE_CLOCK is ignored: only debug builds take a test clock")
            return { Date() }
        #endif
    }
}

#if DEBUG
    /// A clock that reads `start` the first time it is read and runs on from there.
    private final class ShiftedClock: Sendable {
        private let start: Date
        private let shift = Mutex<TimeInterval?>(nil)

        init(start: Date) { self.start = start }

        func now() -> Date {
            let real = Date()
            return real.addingTimeInterval(
                shift.withLock { shift in
                    if shift == nil { shift = start.timeIntervalSince(real) }
                    return shift!
                })
        }
    }
#endif

/// The error that ended the server, handed from its task to the waiting command.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ text: String) { lock.withLock { message = text } }
    func get() -> String? { lock.withLock { message } }
}
