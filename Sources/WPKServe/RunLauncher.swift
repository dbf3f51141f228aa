internal import CProcess
import Foundation
import Synchronization
import WPKCore

#if canImport(Glibc)
    import Glibc
#endif

/// One run to start: a playbook, its inputs (as `--set` gives them) and how it was started.
public struct LaunchRequest: Sendable {
    public var playbookPath: String
    public var inputs: [String: String]
    public var startedBy: StartedBy
    /// The playbook's `max_concurrency`: simultaneous runs this server starts of it.
    public var maxConcurrency: Int?
    /// An alert being handled (Alertmanager fingerprint, per playbook): no second run while one lives.
    public var fingerprint: String?

    public init(playbookPath: String, inputs: [String: String], startedBy: StartedBy, maxConcurrency: Int?, fingerprint: String? = nil) {
        self.playbookPath = playbookPath
        self.inputs = inputs
        self.startedBy = startedBy
        self.maxConcurrency = maxConcurrency
        self.fingerprint = fingerprint
    }
}

/// Starts each run as its own `wpk run` process (in its own process group, so the server can
/// stop or restart without touching it), learns its run id from the first line it prints (printed
/// once `run_started` is in the ledger), and counts the live ones per playbook.
public final class RunLauncher: Sendable {
    /// The outcome of reserving slots for a batch of requests.
    public enum Reservation: Sendable {
        /// Each request either got a slot (true) or names an alert already being handled (false).
        case reserved([Bool])
        /// Starting them all would take a playbook over its `max_concurrency`: nothing was reserved.
        case overLimit(playbook: String, limit: Int)
    }

    /// Why a run did not start.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private struct State {
        var live: [String: Int] = [:]
        var handling: Set<String> = []
        var total = 0
    }

    private let executable: String
    private let environment: [String]
    private let state = Mutex(State())
    /// How long a started `wpk run` may take to print its run id.
    private let startTimeout: Double

    /// A launcher running `executable` (the wpk binary) with `environment`.
    public init(executable: String, environment: [String: String], startTimeout: Double = 60) {
        self.executable = executable
        self.environment = environment.map { "\($0.key)=\($0.value)" }
        self.startTimeout = startTimeout
    }

    /// Runs started by this server that have not ended.
    public var liveRuns: Int { state.withLock { $0.total } }

    /// Reserves a slot for every request, all or nothing; a request whose alert is already
    /// being handled gets none and needs none.
    public func reserve(_ requests: [LaunchRequest]) -> Reservation {
        state.withLock { state in
            var wanted: [String: Int] = [:]
            var granted: [Bool] = []
            var claimed: Set<String> = []
            for request in requests {
                if let key = Self.handlingKey(request) {
                    if state.handling.contains(key) || claimed.contains(key) {
                        granted.append(false)
                        continue
                    }
                    claimed.insert(key)
                }
                wanted[request.playbookPath, default: 0] += 1
                granted.append(true)
                if let limit = request.maxConcurrency, state.live[request.playbookPath, default: 0] + wanted[request.playbookPath]! > limit
                {
                    return .overLimit(playbook: request.playbookPath, limit: limit)
                }
            }
            for (path, count) in wanted {
                state.live[path, default: 0] += count
                state.total += count
            }
            state.handling.formUnion(claimed)
            return .reserved(granted)
        }
    }

    /// Starts a run whose slot `reserve` granted; returns its run id once `run_started` is
    /// recorded. The slot is released when the process ends (or now, when it never started).
    public func launch(_ request: LaunchRequest) async -> Result<String, Failure> {
        var arguments = [executable, "run", "--started-by", request.startedBy.json.serialized(.compact)]
        for name in request.inputs.keys.sorted() {
            arguments += ["--set", "\(name)=\(request.inputs[name]!)"]
        }
        arguments += ["--", request.playbookPath]
        let spawned = spawn(arguments)
        guard case .success(let (pid, output)) = spawned else {
            release(request)
            if case .failure(let failure) = spawned { return .failure(failure) }
            return .failure(Failure(description: "cannot start wpk run"))
        }
        let timeout = startTimeout
        return await withCheckedContinuation { continuation in
            // One thread per run: read its first line, answer, then wait for it to end.
            let thread = Thread { [self] in
                let line = Self.firstLine(of: output, timeout: timeout)
                close(output)
                switch line {
                case .some(let id) where Self.isRunID(id):
                    continuation.resume(returning: .success(id))
                case .some(let other):
                    continuation.resume(
                        returning: .failure(
                            Failure(description: "wpk run did not start the run: \(DisplaySanitizer.sanitize(String(other.prefix(200))))")))
                case .none:
                    continuation.resume(returning: .failure(Failure(description: "wpk run printed no run id within \(Int(timeout)) s")))
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                self.release(request)
            }
            thread.start()
        }
    }

    /// Counts runs an earlier server process started that still live (found in the ledger), so
    /// `max_concurrency` and "this alert is already being handled" hold across a restart; each
    /// slot is given back when its process ends (looked at every two seconds).
    public func adopt(_ runs: [(request: LaunchRequest, pid: Int32)]) {
        guard !runs.isEmpty else { return }
        state.withLock { state in
            for (request, _) in runs {
                state.live[request.playbookPath, default: 0] += 1
                state.total += 1
                if let key = Self.handlingKey(request) { state.handling.insert(key) }
            }
        }
        let thread = Thread { [self] in
            var left = runs
            while !left.isEmpty {
                Thread.sleep(forTimeInterval: 2)
                left.removeAll { run in
                    guard !ProcessTable.isAlive(run.pid) else { return false }
                    release(run.request)
                    return true
                }
            }
        }
        thread.start()
    }

    /// Gives back the slot of a request `reserve` granted that will not be launched.
    public func release(_ request: LaunchRequest) {
        state.withLock { state in
            state.live[request.playbookPath, default: 1] -= 1
            if state.live[request.playbookPath] == 0 { state.live[request.playbookPath] = nil }
            state.total -= 1
            if let key = Self.handlingKey(request) { state.handling.remove(key) }
        }
    }

    private static func handlingKey(_ request: LaunchRequest) -> String? {
        request.fingerprint.map { request.playbookPath + "\u{0}" + $0 }
    }

    static func isRunID(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Spawns `arguments` with standard input from /dev/null, standard output into a new pipe
    /// (returned), standard error shared with the server's (its log), in a process group of its own.
    private func spawn(_ arguments: [String]) -> Result<(pid_t, Int32), Failure> {
        var ends: [Int32] = [-1, -1]
        guard wpk_pipe2(&ends, O_CLOEXEC) == 0 else { return .failure(Failure(description: "pipe: \(String(cString: strerror(errno)))")) }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        // Nothing else the server holds (listening socket, connections) reaches the run.
        wpk_spawn_addclosefrom(&actions, 3)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, number) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(ends[1])
        guard result == 0 else {
            close(ends[0])
            return .failure(Failure(description: "cannot start \(executable): \(String(cString: strerror(result)))"))
        }
        return .success((pid, ends[0]))
    }

    /// The first line `fd` delivers (without its newline), or nil at end of input or timeout.
    private static func firstLine(of fd: Int32, timeout: Double) -> String? {
        var collected: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 256)
        while collected.count < 4096 {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            collected.append(contentsOf: buffer[..<n])
            if let newline = collected.firstIndex(of: 0x0A) {
                return String(decoding: collected[..<newline], as: UTF8.self)
            }
        }
        return String(decoding: collected, as: UTF8.self)
    }
}
