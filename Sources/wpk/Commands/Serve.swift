import ArgumentParser
import Dispatch
import Foundation
import Logging
import WPKCore
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
            serve_token_file>; GET /healthz; GET /metrics. Each run is a separate `wpk run` process, \
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
        guard let (host, port) = Self.parseListen(listen) else { throw UsageFailure("--listen takes ADDR:PORT, e.g. 127.0.0.1:9095 or [::1]:9095") }
        let checker = PlaybookChecker(schema: try SchemaLocator.load(schema))
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "wpk.serve")
        logger.logLevel = .info
        let environment = ProcessInfo.processInfo.environment
        let token = Self.alertmanagerToken(logger: logger)
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let absolute = paths.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
        let server = ServeServer(configuration: ServeConfiguration(host: host, port: port, paths: absolute, executable: executable,
                                                                   environment: environment, checker: checker, alertmanagerToken: token),
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
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// The bearer token from the policy's `serve_token_file` (one trailing newline ignored), or nil.
    static func alertmanagerToken(logger: Logger) -> [UInt8]? {
        switch MachinePolicy.load() {
        case .unsafe(let path, let reason):
            logger.error("the machine policy \(path) is unusable (\(DisplaySanitizer.sanitize(reason))): /alertmanager refuses every request, and runs will refuse to start")
            return nil
        case .loaded(let policy):
            guard let file = policy.serveTokenFile else {
                logger.warning("the policy names no serve_token_file: /alertmanager refuses every request")
                return nil
            }
            guard let data = FileManager.default.contents(atPath: file), data.count <= 4096 else {
                logger.error("cannot read serve_token_file \(DisplaySanitizer.sanitize(file)): /alertmanager refuses every request")
                return nil
            }
            var bytes = Array(data)
            if bytes.last == 0x0A { bytes.removeLast() }
            if bytes.last == 0x0D { bytes.removeLast() }
            guard !bytes.isEmpty else {
                logger.error("serve_token_file \(DisplaySanitizer.sanitize(file)) is empty: /alertmanager refuses every request")
                return nil
            }
            return bytes
        }
    }
}

/// The error that ended the server, handed from its task to the waiting command.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ text: String) { lock.withLock { message = text } }
    func get() -> String? { lock.withLock { message } }
}
