import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import WPKCore

/// What `wpk serve` is started with.
public struct ServeConfiguration: Sendable {
    /// Address and port to listen on (loopback by default).
    public var host: String
    public var port: Int
    /// The PATH arguments: playbook files and directories.
    public var paths: [String]
    /// The wpk binary each run is started with.
    public var executable: String
    /// The environment of the server, handed to every run (and where `env:` secrets are read).
    public var environment: [String: String]
    /// Checks playbooks when they are (re)loaded and plans them before a run is started.
    public var checker: PlaybookChecker
    /// Reads the bearer token `/alertmanager` requires (at start and on SIGHUP).
    public var alertmanagerKey: @Sendable () -> AlertmanagerKey
    /// The wall clock webhook timestamps and replays are judged by.
    public var now: @Sendable () -> Date
    /// The clock schedules follow. Only this one may be shifted (tests do, in debug builds), so a
    /// shifted clock can move when a schedule fires but never make a stale webhook acceptable.
    public var scheduleNow: @Sendable () -> Date
    /// Where how far each schedule was followed is kept, so fires missed while no server ran are reported.
    public var scheduleMemory: ScheduleMemory?
    /// Opens a database ledger the machine policy names (the executable supplies PostgreSQL's).
    public var ledgerDatabase: DatabaseLedgerOpener?

    public init(
        host: String = "127.0.0.1", port: Int = 9095, paths: [String], executable: String, environment: [String: String],
        checker: PlaybookChecker, alertmanagerKey: @escaping @Sendable () -> AlertmanagerKey,
        now: @escaping @Sendable () -> Date = { Date() }, scheduleNow: @escaping @Sendable () -> Date = { Date() },
        scheduleMemory: ScheduleMemory? = nil, ledgerDatabase: DatabaseLedgerOpener? = nil
    ) {
        self.host = host
        self.port = port
        self.paths = paths
        self.executable = executable
        self.environment = environment
        self.checker = checker
        self.alertmanagerKey = alertmanagerKey
        self.now = now
        self.scheduleNow = scheduleNow
        self.scheduleMemory = scheduleMemory
        self.ledgerDatabase = ledgerDatabase
    }
}

/// The bearer token of `/alertmanager`, or why there is none (then every request there is refused).
public enum AlertmanagerKey: Sendable {
    case token([UInt8])
    case refused(String)
}

/// The request context: Hummingbird's core storage plus the peer's address (for `started_by`).
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `ADDRESS:PORT` of the client (`[ADDRESS]:PORT` for IPv6), or `unknown`.
    public let remote: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        if let address = source.channel.remoteAddress, let ip = address.ipAddress {
            let port = address.port.map(String.init) ?? "?"
            remote = ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        } else {
            remote = "unknown"
        }
    }
}

/// `wpk serve`: receives webhooks and Alertmanager notifications, follows schedules, and starts
/// a `wpk run` for each trigger that passes authentication, limits and input checks. It decides
/// nothing a run decides: gates and approvals happen in the run, exactly as for a run by hand.
public final class ServeServer: Sendable {
    /// Bodies larger than this are refused (413).
    public static let maxBodyBytes = 1 << 20

    public let configuration: ServeConfiguration
    let logger: Logger
    let launcher: RunLauncher
    let metrics = ServeMetrics()
    let replay = ReplayMemory()
    private let catalog = Mutex<(catalog: TriggerCatalog, generation: Int)>((TriggerCatalog(), 0))
    private let alertmanagerKey = Mutex(AlertmanagerKey.refused("not read yet"))

    public init(configuration: ServeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        launcher = RunLauncher(executable: configuration.executable, environment: configuration.environment)
    }

    /// Reads the playbooks and the Alertmanager token again (at start and on SIGHUP), logging
    /// each playbook left out and why, and why `/alertmanager` refuses everything when it does.
    @discardableResult
    public func reload() -> TriggerCatalog {
        let key = configuration.alertmanagerKey()
        if case .refused(let why) = key {
            logger.error("/alertmanager refuses every request: \(DisplaySanitizer.sanitize(why))")
        }
        alertmanagerKey.withLock { $0 = key }
        let loaded = TriggerCatalog.load(
            paths: configuration.paths, checker: configuration.checker,
            secrets: SecretResolver(environment: configuration.environment, vaultProgram: configuration.environment["WPK_VAULT"]))
        for problem in loaded.problems { logger.warning("\(problem)") }
        logger.info(
            "playbooks loaded",
            metadata: [
                "playbooks": "\(loaded.playbookCount)", "webhooks": "\(loaded.webhooks.count)",
                "alert_triggers": "\(loaded.alerts.count)", "schedules": "\(loaded.schedules.count)", "skipped": "\(loaded.problems.count)",
            ])
        catalog.withLock { $0 = (loaded, $0.generation + 1) }
        return loaded
    }

    var currentCatalog: (catalog: TriggerCatalog, generation: Int) { catalog.withLock { $0 } }

    /// Serves until SIGTERM or SIGINT: then stops accepting, finishes the responses under way and
    /// returns; runs already started go on (they are separate processes).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        adoptLiveRuns(reload())
        // Dispatch delivers these as events only while their default action is off (on Linux too);
        // the runs started get the defaults back (RunLauncher.spawn).
        for number in [SIGHUP, SIGTERM, SIGINT] { signal(number, SIG_IGN) }
        let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangUp.setEventHandler { [self] in
            logger.info("SIGHUP: reading the playbooks again")
            reload()
        }
        hangUp.resume()
        defer { hangUp.cancel() }

        let responder = CallbackResponder<ServeContext> { [self] request, context in
            await respond(to: request, context: context)
        }
        let app = Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "wpk"),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("listening", metadata: ["address": "\(configuration.host):\(port)"])
                onListening(port)
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: ScheduleService(server: self), successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped; runs started here go on", metadata: ["runs_in_progress": "\(launcher.liveRuns)"])
    }

    // MARK: Requests

    /// Answers one request; never throws (every failure is a status).
    func respond(to request: Request, context: ServeContext) async -> Response {
        let path = request.uri.path
        let (response, trigger, decision) = await route(request, path: path, context: context)
        metrics.request(trigger, status: Int(response.status.code))
        if trigger != "healthz" && trigger != "metrics" {
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method)", "path": "\(DisplaySanitizer.sanitize(String(path.prefix(200))))",
                    "remote": "\(context.remote)", "status": "\(response.status.code)",
                    "decision": "\(DisplaySanitizer.sanitize(decision))",
                ])
        }
        return response
    }

    private func route(_ request: Request, path: String, context: ServeContext) async -> (Response, String, String) {
        switch path {
        case "/healthz":
            guard request.method == .get || request.method == .head else { return (Self.text(405, "use GET"), "healthz", "method") }
            return (Self.text(200, "ok"), "healthz", "ok")
        case "/metrics":
            guard request.method == .get else { return (Self.text(405, "use GET"), "metrics", "method") }
            var response = Self.text(200, metrics.text(running: launcher.liveRuns, waiting: waitingRuns()), trailingNewline: false)
            response.headers[.contentType] = "text/plain; version=0.0.4"
            return (response, "metrics", "ok")
        case "/alertmanager":
            guard request.method == .post else { return (Self.text(405, "use POST"), "alertmanager", "method") }
            let (response, decision) = await alertmanager(request, context: context)
            return (response, "alertmanager", decision)
        default:
            guard let hook = currentCatalog.catalog.webhooks[path] else {
                return (Self.text(404, "no trigger at this path"), "other", "unknown path")
            }
            guard request.method == .post else { return (Self.text(405, "use POST"), "webhook", "method") }
            let (response, decision) = await webhook(request, hook: hook, context: context)
            return (response, "webhook", decision)
        }
    }

    private func webhook(_ request: Request, hook: TriggerCatalog.Webhook, context: ServeContext) async -> (Response, String) {
        let body: [UInt8]
        switch await Self.body(of: request) {
        case .bytes(let bytes): body = bytes
        case .refused(let response):
            metrics.refused("body")
            return (response, "body refused")
        }
        guard let key = hook.key else {
            metrics.refused("unauthenticated")
            return (Self.empty(401), "no key for this trigger")
        }
        let now = configuration.now()
        let verified = WebhookSignature.verify(
            key: key, timestampHeader: request.headers[Self.timestampHeader],
            signatureHeader: request.headers[Self.signatureHeader], body: body, now: now)
        let signature: [UInt8]
        switch verified {
        case .success(let bytes): signature = bytes
        case .failure(.stale):
            metrics.refused("stale")
            return (Self.empty(401), "stale timestamp")
        case .failure:
            metrics.refused("unauthenticated")
            return (Self.empty(401), "bad signature")
        }
        switch replay.admit(signature, now: now) {
        case .success: break
        case .failure(.replayed):
            metrics.refused("replayed")
            return (Self.text(409, "this request was already received"), "replayed")
        case .failure:
            metrics.refused("replay_memory_full")
            return (Self.text(503, "too many recent requests to remember; try again later"), "replay memory full")
        }
        if let refusal = Self.jsonContentTypeProblem(request) {
            metrics.refused("bad_request")
            return (Self.text(400, refusal), refusal)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(body, maxDepth: 32)
        } catch {
            metrics.refused("bad_request")
            return (Self.text(400, "malformed JSON: \(error.description)"), "malformed JSON")
        }
        let inputs: [String: String]
        switch TriggerInputs.values(for: hook.entry.trigger, event: .webhook(body: json)) {
        case .success(let values): inputs = values
        case .failure(let problem):
            metrics.refused("bad_request")
            return (Self.text(400, problem.message), problem.message)
        }
        let launch = LaunchRequest(
            playbookPath: hook.entry.path, inputs: inputs,
            startedBy: StartedBy(kind: .webhook, trigger: hook.entry.trigger.path ?? "", source: context.remote),
            maxConcurrency: hook.entry.maxConcurrency)
        return await start([launch], kind: .webhook)
    }

    private func alertmanager(_ request: Request, context: ServeContext) async -> (Response, String) {
        let body: [UInt8]
        switch await Self.body(of: request) {
        case .bytes(let bytes): body = bytes
        case .refused(let response):
            metrics.refused("body")
            return (response, "body refused")
        }
        let key = alertmanagerKey.withLock { $0 }
        guard case .token(let token) = key,
            let given = request.headers[.authorization], given.hasPrefix("Bearer "),
            Self.constantTimeEquals(Array(given.utf8.dropFirst(7)), token)
        else {
            metrics.refused("unauthenticated")
            if case .refused(let why) = key { return (Self.empty(401), "no usable token: \(why)") }
            return (Self.empty(401), "bad token")
        }
        if let refusal = Self.jsonContentTypeProblem(request) {
            metrics.refused("bad_request")
            return (Self.text(400, refusal), refusal)
        }
        let payload: AlertmanagerPayload
        do {
            payload = try AlertmanagerPayload(json: body)
        } catch {
            metrics.refused("bad_request")
            return (Self.text(400, error.message), error.message)
        }
        var launches: [LaunchRequest] = []
        var problems: [String] = []
        let triggers = currentCatalog.catalog.alerts
        for alert in payload.alerts where alert.isFiring {
            for entry in triggers where alert.matches(entry.trigger.filter) {
                switch TriggerInputs.values(for: entry.trigger, event: .alert(labels: alert.labels, annotations: alert.annotations)) {
                case .success(let inputs):
                    if let problem = plannable(entry.path, inputs) {
                        problems.append("\(alert.fingerprint) \(entry.playbookName): \(problem)")
                        continue
                    }
                    launches.append(
                        LaunchRequest(
                            playbookPath: entry.path, inputs: inputs,
                            startedBy: StartedBy(
                                kind: .alertmanager, trigger: "\(alert.name) \(alert.fingerprint)", source: context.remote),
                            maxConcurrency: entry.maxConcurrency, fingerprint: alert.fingerprint))
                case .failure(let problem):
                    problems.append("\(alert.fingerprint) \(entry.playbookName): \(problem.message)")
                }
            }
        }
        for problem in problems {
            metrics.refused("inputs")
            logger.warning("alert not started: \(DisplaySanitizer.sanitize(problem))")
        }
        return await start(launches, kind: .alertmanager, planned: true, problems: problems)
    }

    /// Why `inputs` do not plan for the playbook at `path` (the checks `--set` values get), or nil.
    private func plannable(_ path: String, _ inputs: [String: String]) -> String? {
        guard case .invalid(let report) = Planner.plan(.file(path), inputs: inputs, checker: configuration.checker) else { return nil }
        let first = report.diagnostics.first { $0.severity == .error }
        return "the run would not plan: \(first?.message ?? "invalid") [\(first?.code ?? "")]"
    }

    /// Reserves slots for all of `launches` (429 when that is over a limit), checks each plans
    /// (400), starts them and answers 202 with their run ids, or 200 when there was nothing to start.
    private func start(_ launches: [LaunchRequest], kind: StartedByKindName, planned: Bool = false, problems: [String] = []) async -> (
        Response, String
    ) {
        // The cap first: a refusal over the limit is cheap, planning is not.
        let granted: [Bool]
        switch launcher.reserve(launches) {
        case .overLimit(let playbook, let limit):
            metrics.refused("over_limit")
            let why =
                "\(DisplaySanitizer.sanitize(playbook)) already has \(limit) run(s) started by wpk serve (max_concurrency); nothing was started"
            return (Self.text(429, why), "over limit")
        case .reserved(let list): granted = list
        }
        if !planned, let launch = launches.first, let problem = plannable(launch.playbookPath, launch.inputs) {
            for (launch, isGranted) in zip(launches, granted) where isGranted { launcher.release(launch) }
            metrics.refused("bad_request")
            return (Self.text(400, problem), problem)
        }
        let skipped = granted.filter { !$0 }.count
        if skipped > 0 { metrics.refused("already_handled") }
        var runs: [String] = []
        var failures: [String] = []
        await withTaskGroup(of: Result<String, RunLauncher.Failure>.self) { group in
            for (launch, isGranted) in zip(launches, granted) where isGranted {
                group.addTask { await self.launcher.launch(launch) }
            }
            for await result in group {
                switch result {
                case .success(let id):
                    runs.append(id)
                    metrics.started(kind)
                case .failure(let failure): failures.append(failure.description)
                }
            }
        }
        for failure in failures { logger.error("run not started: \(failure)") }
        if runs.isEmpty && !failures.isEmpty {
            return (Self.text(500, "the run did not start: \(failures[0])"), "start failed")
        }
        var members: [(key: String, value: JSONValue)] = [("runs", .array(runs.sorted().map(JSONValue.string)))]
        if !problems.isEmpty { members.append(("refused", .array(problems.map(JSONValue.string)))) }
        let status = runs.isEmpty ? 200 : 202
        let decision = runs.isEmpty ? (skipped > 0 ? "already being handled" : "nothing matched") : "started \(runs.joined(separator: ","))"
        return (Self.json(status, .object(members)), decision)
    }

    /// Finds in the ledger the runs an earlier server started that still live on this host and
    /// counts them as this server's (see `RunLauncher.adopt`): a restart must not start a second
    /// run for an alert whose first run still waits, nor go over `max_concurrency`.
    func adoptLiveRuns(_ catalog: TriggerCatalog) {
        let records: [LedgerRecord]
        do {
            records = try ledgerRecords()
        } catch {
            logger.warning(
                "cannot read the ledger for runs started before this server: \(DisplaySanitizer.sanitize("\(error)")); they are not counted against max_concurrency"
            )
            return
        }
        var adopted: [(request: LaunchRequest, pid: Int32)] = []
        for run in LedgerState(records: records).runOverview(at: Date()) {
            switch run.status {
            case .waiting, .running: break
            default: continue
            }
            guard let startedBy = run.history.startedBy, startedBy.kind != .cli, let pid = run.history.pid,
                RunOverview.localProcessAlive(run.history) == true
            else { continue }
            let name = run.history.playbook
            var entry: TriggerCatalog.Entry?
            var fingerprint: String?
            switch startedBy.kind {
            case .webhook: entry = catalog.webhooks[startedBy.trigger]?.entry
            case .alertmanager:
                entry = catalog.alerts.first { $0.playbookName == name }
                fingerprint = startedBy.trigger.split(separator: " ").last.map(String.init)
            case .schedule: entry = catalog.schedules.first { $0.entry.playbookName == name }?.entry
            case .cli: entry = nil
            }
            guard let entry else { continue }
            adopted.append(
                (
                    LaunchRequest(
                        playbookPath: entry.path, inputs: [:], startedBy: startedBy,
                        maxConcurrency: entry.maxConcurrency, fingerprint: fingerprint), Int32(pid)
                ))
        }
        launcher.adopt(adopted)
        if !adopted.isEmpty {
            logger.info("runs started before this server that still live are counted as its own", metadata: ["runs": "\(adopted.count)"])
        }
    }

    /// The verified records of the ledger the machine policy names, on either backend.
    private func ledgerRecords() throws -> [LedgerRecord] {
        try LedgerChoice.chosen(
            by: MachinePolicy.load(), requested: nil, environment: configuration.environment, home: NSHomeDirectory(),
            database: configuration.ledgerDatabase
        ).get().read().records
    }

    /// Runs started by a trigger (from this server or an earlier one) now waiting at a gate, by
    /// kind, as the ledger runs are recorded in says; nil when it cannot be read (the gauge is then
    /// left out and the log says why). Read at each scrape: the ledger, not this process, knows
    /// which runs wait.
    func waitingRuns() -> [StartedByKindName: Int]? {
        let records: [LedgerRecord]
        do {
            records = try ledgerRecords()
        } catch {
            logger.warning("metrics: cannot read the ledger for the waiting runs: \(DisplaySanitizer.sanitize("\(error)"))")
            return nil
        }
        var waiting: [StartedByKindName: Int] = [:]
        for run in LedgerState(records: records).runOverview(at: Date()) {
            guard case .waiting = run.status, let kind = run.history.startedBy.flatMap({ StartedByKindName(rawValue: $0.kind.rawValue) })
            else { continue }
            waiting[kind, default: 0] += 1
        }
        return waiting
    }

    // MARK: Helpers

    static let timestampHeader = HTTPField.Name("X-WPK-Timestamp")!
    static let signatureHeader = HTTPField.Name("X-WPK-Signature")!

    /// The request body, at most `maxBodyBytes` (413 beyond, without reading the rest).
    enum Body {
        case bytes([UInt8])
        case refused(Response)
    }

    static func body(of request: Request) async -> Body {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            return .refused(text(413, "the body is over \(maxBodyBytes) bytes"))
        }
        // Chunked bodies have no length up front: count as they arrive and stop past the limit.
        var bytes: [UInt8] = []
        do {
            for try await buffer in request.body {
                guard bytes.count + buffer.readableBytes <= maxBodyBytes else {
                    return .refused(text(413, "the body is over \(maxBodyBytes) bytes"))
                }
                bytes.append(contentsOf: buffer.readableBytesView)
            }
        } catch {
            return .refused(text(400, "the body could not be read"))
        }
        return .bytes(bytes)
    }

    static func jsonContentTypeProblem(_ request: Request) -> String? {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json" ? nil : "Content-Type must be application/json"
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    static func empty(_ status: Int) -> Response {
        Response(status: .init(code: status), headers: [.contentLength: "0"], body: .init())
    }

    static func text(_ status: Int, _ message: String, trailingNewline: Bool = true) -> Response {
        let line = trailingNewline ? message.replacingOccurrences(of: "\n", with: " ") + "\n" : message
        return Response(
            status: .init(code: status), headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: line)))
    }

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized(.compact) + "\n")))
    }

    // MARK: Schedules

    /// Starts the run of a schedule that is due.
    func startScheduled(_ entry: TriggerCatalog.Entry, schedule: CronSchedule, at due: Date) async {
        let zone = schedule.timeZone.identifier
        let launch = LaunchRequest(
            playbookPath: entry.path, inputs: [:],
            startedBy: StartedBy(kind: .schedule, trigger: "\(schedule.expression) \(zone)", source: "wpk serve"),
            maxConcurrency: entry.maxConcurrency)
        let (response, decision) = await start([launch], kind: .schedule)
        logger.info(
            "schedule",
            metadata: [
                "playbook": "\(DisplaySanitizer.sanitize(entry.path))", "cron": "\(schedule.expression)",
                "zone": "\(zone)", "due": "\(RFC3339.format(due))", "status": "\(response.status.code)",
                "decision": "\(DisplaySanitizer.sanitize(decision))",
            ])
    }
}

/// Follows every schedule of the catalog and starts runs when they are due; rebuilt when the
/// catalog is reloaded. Nothing missed while the server was down (or asleep) is caught up: the
/// log says what was missed.
struct ScheduleService: Service {
    let server: ServeServer

    func run() async throws {
        // Shutdown cancels the loop's sleep; that is this service's normal end, not an error.
        try? await cancelWhenGracefulShutdown {
            var generation = -1
            var trackers: [(entry: TriggerCatalog.Entry, tracker: ScheduleTracker)] = []
            let memory = server.configuration.scheduleMemory
            while !Task.isCancelled {
                let current = server.currentCatalog
                let now = server.configuration.scheduleNow()
                if current.generation != generation {
                    generation = current.generation
                    // A schedule kept across a reload keeps its tracker (a fire due just now is not lost).
                    func key(_ path: String, _ schedule: CronSchedule) -> String {
                        [path, schedule.expression, schedule.timeZone.identifier].joined(separator: "\u{0}")
                    }
                    var followed: [String: ScheduleTracker] = [:]
                    for (entry, tracker) in trackers { followed[key(entry.path, tracker.schedule)] = tracker }
                    var added: [(entry: TriggerCatalog.Entry, tracker: ScheduleTracker)] = []
                    trackers = current.catalog.schedules.map { scheduled in
                        if let kept = followed[key(scheduled.entry.path, scheduled.schedule)] { return (scheduled.entry, kept) }
                        let before = memory?.followedUntil(playbook: scheduled.entry.path, schedule: scheduled.schedule)
                        let tracker = ScheduleTracker(schedule: scheduled.schedule, start: now, followedUntil: before)
                        added.append((scheduled.entry, tracker))
                        return (scheduled.entry, tracker)
                    }
                    for (entry, tracker) in added {
                        if let missed = tracker.missedBeforeStart {
                            missedLog(entry, tracker.schedule, missed, why: "while wpk serve was not running")
                        }
                        if memory?.remember(playbook: entry.path, schedule: tracker.schedule, followedUntil: now) == false {
                            server.logger.warning(
                                "cannot write \(DisplaySanitizer.sanitize(memory?.directory ?? "")): fires missed while wpk serve is down will not be reported (set XDG_STATE_HOME to a writable directory)"
                            )
                        }
                        server.logger.info(
                            "schedule followed; fires due before now are not caught up",
                            metadata: [
                                "playbook": "\(DisplaySanitizer.sanitize(entry.path))", "cron": "\(tracker.schedule.expression)",
                                "zone": "\(tracker.schedule.timeZone.identifier)", "next": "\(tracker.next.map(RFC3339.format) ?? "never")",
                            ])
                    }
                }
                var wake = now.addingTimeInterval(1)
                for index in trackers.indices {
                    let entry = trackers[index].entry
                    let schedule = trackers[index].tracker.schedule
                    polling: while true {
                        switch trackers[index].tracker.poll(now: now) {
                        case .fire(let due):
                            memory?.remember(playbook: entry.path, schedule: schedule, followedUntil: due)
                            Task { await server.startScheduled(entry, schedule: schedule, at: due) }
                        case .missed(let first, let last, let count):
                            memory?.remember(playbook: entry.path, schedule: schedule, followedUntil: last)
                            missedLog(entry, schedule, (first, last, count), why: "while wpk serve was busy or asleep")
                        case .wait(let until):
                            wake = min(wake, until)
                            break polling
                        case .never:
                            break polling
                        }
                    }
                }
                let seconds = max(0.01, wake.timeIntervalSince(server.configuration.scheduleNow()))
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            }
        }
    }

    private func missedLog(
        _ entry: TriggerCatalog.Entry, _ schedule: CronSchedule, _ missed: (first: Date, last: Date, count: Int), why: String
    ) {
        server.metrics.missed(missed.count)
        server.logger.warning(
            "schedule missed \(why); not caught up",
            metadata: [
                "playbook": "\(DisplaySanitizer.sanitize(entry.path))", "cron": "\(schedule.expression)",
                "zone": "\(schedule.timeZone.identifier)",
                "first": "\(RFC3339.format(missed.first))", "last": "\(RFC3339.format(missed.last))", "count": "\(missed.count)",
            ])
    }
}
