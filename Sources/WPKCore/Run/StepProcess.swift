internal import CProcess
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What to spawn for one attempt of a step.
public struct ProcessSpec: Sendable, Equatable {
    /// The argument vector exactly as the plan shows it; `arguments[0]` is the program,
    /// looked up on the `PATH` of `environment` when it has no slash.
    public var arguments: [String]
    /// The child's whole environment.
    public var environment: [String: String]
    /// Seconds before wpk stops the step (SIGTERM to its process group).
    public var timeoutSeconds: Double
    /// Seconds between SIGTERM and SIGKILL.
    public var gracePeriodSeconds: Double
    /// Most output bytes kept in memory; the digest still covers all of it.
    public var outputCap: Int
    /// The program to run instead of looking `arguments[0]` up (configuration naming kubectl's path).
    public var executable: String?
    /// The child's working directory; nil keeps wpk's.
    public var workingDirectory: String?
    /// Bytes the child reads on standard input (a secret `vault write … key=-` takes there);
    /// nil gives it /dev/null. At most `maxStandardInput` bytes: they are written to a pipe whole
    /// before the child starts.
    public var standardInput: [UInt8]? = nil

    /// The most bytes `standardInput` may hold (what a pipe takes without a reader).
    public static let maxStandardInput = 16_384

    /// A spec with wpk run's defaults: 5 s grace period, 1 MiB of output kept.
    public init(
        arguments: [String], environment: [String: String], timeoutSeconds: Double,
        gracePeriodSeconds: Double = 5, outputCap: Int = 1 << 20, executable: String? = nil,
        workingDirectory: String? = nil
    ) {
        self.executable = executable
        self.workingDirectory = workingDirectory
        self.arguments = arguments
        self.environment = environment
        self.timeoutSeconds = timeoutSeconds
        self.gracePeriodSeconds = gracePeriodSeconds
        self.outputCap = outputCap
    }
}

/// Why wpk stopped a process before it ended by itself.
public enum StopReason: Sendable, Equatable {
    /// The step's timeout passed.
    case timedOut
    /// A `cancelled` record for the run appeared (its text says who and why).
    case cancelled(String)
    /// wpk itself was asked to stop (Ctrl-C or SIGTERM); the text names the signal.
    case interrupted(String)
}

/// Something a running process or a waiting gate listens to, so it stops promptly when the
/// run is cancelled or interrupted, without polling in a busy loop.
public protocol StopWatch: AnyObject {
    /// Descriptors whose readability means "look again" (an interrupt pipe, a ledger watch).
    var wakeDescriptors: [Int32] { get }
    /// Drains pending wake-ups and says whether to stop now.
    func stopReason() -> StopReason?
    /// Longest time to go without asking `stopReason` (a safety net when no descriptor fires).
    var recheckSeconds: Double { get }
}

/// How one spawned process ended, with what it printed.
public struct ProcessOutcome: Sendable {
    /// How the program ended.
    public enum Ending: Sendable, Equatable {
        case exited(code: Int32)
        case signaled(Int32)
        /// It never ran: the program was not found or could not be spawned.
        case notStarted(String)
    }

    /// How the program ended.
    public var ending: Ending
    /// Set when wpk stopped it (timeout, cancellation, interruption).
    public var stop: StopReason?
    /// Its process id (also its process group id); nil when it never started.
    public var pid: Int32?
    /// Standard output and standard error interleaved, up to the cap.
    public var output: [UInt8]
    /// All bytes printed, kept or not.
    public var outputByteCount: Int
    /// `sha256:<hex>` of everything printed.
    public var outputDigest: String
    /// Wall time from spawn to the last member of its group ending.
    public var seconds: Double
    /// Processes of the step's group still alive when its leader ended, which wpk then stopped.
    public var leftoverProcessesStopped: Bool

    /// Whether the program ran and exited 0 on its own.
    public var succeeded: Bool { ending == .exited(code: 0) && stop == nil }
}

/// Runs one argv in its own process group: output streamed and captured up to a cap, a
/// timeout that sends SIGTERM to the whole group and SIGKILL after a grace period, and no
/// process of the group left behind when it returns.
public enum StepProcess {
    /// How often a process is looked at when the kernel cannot notify its exit (no pidfd).
    static let fallbackTick = 0.1

    /// wpk adopts orphaned descendants (prctl PR_SET_CHILD_SUBREAPER), so processes a step
    /// leaves behind can be stopped and reaped rather than lingering as zombies. Done once.
    static let adoptsOrphans: Bool = wpk_become_child_subreaper() == 0

    /// Runs `spec` to its end, calling `onOutput` with each chunk as it arrives.
    public static func run(
        _ spec: ProcessSpec, stopWatch: StopWatch? = nil,
        onOutput: (ArraySlice<UInt8>) -> Void = { _ in }
    ) -> ProcessOutcome {
        _ = adoptsOrphans
        let start = monotonicSeconds()
        var capture = OutputCapture(cap: spec.outputCap)
        func notStarted(_ message: String) -> ProcessOutcome {
            ProcessOutcome(
                ending: .notStarted(message), stop: nil, pid: nil, output: [], outputByteCount: 0,
                outputDigest: capture.digest(), seconds: monotonicSeconds() - start, leftoverProcessesStopped: false)
        }
        guard let program = spec.arguments.first, !program.isEmpty else { return notStarted("the command is empty") }
        guard let executable = ExecutableLookup.resolve(spec.executable ?? program, searchPath: spec.environment["PATH"]) else {
            return notStarted(spec.executable.map { "\($0): not an executable file" } ?? "\(program): not found on PATH")
        }
        if let reason = stopWatch?.stopReason() {
            var outcome = notStarted("stopped before it started")
            outcome.stop = reason
            return outcome
        }
        // Standard input, when given, is written whole into a pipe before the child starts, so
        // no secret passes through argv, a file or a thread of its own.
        var inputFD: Int32 = -1
        if let bytes = spec.standardInput {
            guard bytes.count <= ProcessSpec.maxStandardInput else {
                return notStarted("standard input of \(bytes.count) bytes is over the limit of \(ProcessSpec.maxStandardInput)")
            }
            var inputEnds: [Int32] = [-1, -1]
            guard wpk_pipe2(&inputEnds, O_CLOEXEC) == 0 else {
                return notStarted("cannot create a pipe: \(String(cString: strerror(errno)))")
            }
            let written = bytes.withUnsafeBytes { write(inputEnds[1], $0.baseAddress, $0.count) }
            close(inputEnds[1])
            guard written == bytes.count else {
                close(inputEnds[0])
                return notStarted("cannot write standard input: \(String(cString: strerror(errno)))")
            }
            inputFD = inputEnds[0]
        }
        defer { if inputFD >= 0 { close(inputFD) } }
        var pipeEnds: [Int32] = [-1, -1]
        guard wpk_pipe2(&pipeEnds, O_CLOEXEC) == 0 else { return notStarted("cannot create a pipe: \(String(cString: strerror(errno)))") }
        let readEnd = pipeEnds[0]
        let spawned = spawn(executable: executable, spec: spec, outputFD: pipeEnds[1], inputFD: inputFD)
        close(pipeEnds[1])
        let pid: pid_t
        switch spawned {
        case .failure(let message):
            close(readEnd)
            return notStarted(message)
        case .success(let child):
            pid = child
        }
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        let pidfd = wpk_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }

        var pipeOpen = true
        var leaderStatus: Int32?
        var stop: StopReason?
        var termSentAt: Double?
        var killSent = false
        let deadline = start + max(0, spec.timeoutSeconds)
        var lastStopCheck = start

        var buffer = [UInt8](repeating: 0, count: 65_536)
        func readAvailable() {
            while pipeOpen {
                let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    capture.append(buffer[0..<n])
                    onOutput(buffer[0..<n])
                } else if n == 0 {
                    pipeOpen = false
                } else if errno == EINTR {
                    continue
                } else {
                    return  // EAGAIN: nothing more for now
                }
            }
        }
        func reapLeader() {
            guard leaderStatus == nil else { return }
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { leaderStatus = status }
        }

        while leaderStatus == nil {
            let now = monotonicSeconds()
            if stop == nil, now >= deadline { stop = .timedOut }
            if stop != nil, termSentAt == nil {
                _ = kill(-pid, SIGTERM)
                termSentAt = now
            }
            if let sent = termSentAt, !killSent, now >= sent + spec.gracePeriodSeconds {
                _ = kill(-pid, SIGKILL)
                killSent = true
            }
            var wait = stop == nil ? deadline - now : .infinity
            if let sent = termSentAt, !killSent { wait = min(wait, sent + spec.gracePeriodSeconds - now) }
            if pidfd < 0 || !pipeOpen { wait = min(wait, fallbackTick) }
            if stop == nil, let watch = stopWatch { wait = min(wait, lastStopCheck + watch.recheckSeconds - now) }
            var fds: [pollfd] = []
            if pipeOpen { fds.append(pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)) }
            if pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            let wakes = stop == nil ? (stopWatch?.wakeDescriptors ?? []) : []
            for fd in wakes { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let millis = Int32(max(0, min(wait, 3600) * 1000).rounded(.up))
            let ready = poll(&fds, nfds_t(fds.count), millis)
            if ready < 0 && errno != EINTR { _ = usleep(10_000) }
            if pipeOpen { readAvailable() }
            reapLeader()
            let woken = fds.contains { wakes.contains($0.fd) && $0.revents != 0 }
            if stop == nil, let watch = stopWatch, woken || monotonicSeconds() >= lastStopCheck + watch.recheckSeconds {
                stop = watch.stopReason()
                lastStopCheck = monotonicSeconds()
            }
        }

        readAvailable()
        let leftovers = stopGroup(pid, alreadyKilled: killSent, grace: spec.gracePeriodSeconds, drain: readAvailable)
        close(readEnd)
        let status = leaderStatus ?? 0
        let ending: ProcessOutcome.Ending = (status & 0x7f) == 0 ? .exited(code: (status >> 8) & 0xff) : .signaled(status & 0x7f)
        return ProcessOutcome(
            ending: ending, stop: stop, pid: pid, output: capture.kept, outputByteCount: capture.total,
            outputDigest: capture.digest(), seconds: monotonicSeconds() - start,
            leftoverProcessesStopped: leftovers)
    }

    /// After the leader ended: stops whatever is left of its group (SIGTERM, then SIGKILL after
    /// the grace period) and reaps the members wpk adopted. Returns whether anything was left.
    private static func stopGroup(_ pgid: pid_t, alreadyKilled: Bool, grace: Double, drain: () -> Void) -> Bool {
        reapGroup(pgid)
        guard groupExists(pgid) else {
            // Members that exited on their own may still be zombies wpk adopted.
            reapGroup(pgid)
            return false
        }
        var killed = alreadyKilled
        _ = kill(-pgid, killed ? SIGKILL : SIGTERM)
        let termAt = monotonicSeconds()
        // Bounded: a member that survives SIGKILL (stuck in the kernel) is not waited for forever.
        while groupExists(pgid), monotonicSeconds() < termAt + grace + 2 {
            drain()
            if !killed, monotonicSeconds() >= termAt + grace {
                _ = kill(-pgid, SIGKILL)
                killed = true
            }
            _ = usleep(20_000)
            reapGroup(pgid)
        }
        drain()
        reapGroup(pgid)
        return true
    }

    /// Reaps every exited member of the group that is wpk's child (the adopted orphans).
    private static func reapGroup(_ pgid: pid_t) {
        var status: Int32 = 0
        while waitpid(-pgid, &status, WNOHANG) > 0 {}
    }

    /// Whether any process of the group is still alive (zombies of another parent count as gone).
    static func groupExists(_ pgid: pid_t) -> Bool {
        guard kill(-pgid, 0) == 0 else { return false }
        return ProcessTable.liveMembers(ofGroup: pgid).isEmpty == false
    }

    private enum Spawned {
        case success(pid_t)
        case failure(String)
    }

    private static func spawn(executable: String, spec: ProcessSpec, outputFD: Int32, inputFD: Int32) -> Spawned {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        if inputFD >= 0 {
            posix_spawn_file_actions_adddup2(&actions, inputFD, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        _ = wpk_spawn_addclosefrom(&actions, 3)
        if let directory = spec.workingDirectory { _ = wpk_spawn_addchdir(&actions, directory) }
        // Its own group, so one signal reaches everything it starts; default signal handling
        // and an empty mask, because wpk ignores SIGINT/SIGTERM itself and that is inherited.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = spec.arguments.map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { return .failure("\(executable): cannot start: \(String(cString: strerror(result)))") }
        return .success(pid)
    }
}

/// Output kept up to a cap, with a digest of all of it.
struct OutputCapture {
    let cap: Int
    var kept: [UInt8] = []
    var total = 0
    private var hasher = SHA256()

    init(cap: Int) { self.cap = max(0, cap) }

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        total += chunk.count
        hasher.update(data: chunk)
        if kept.count < cap { kept.append(contentsOf: chunk.prefix(cap - kept.count)) }
    }

    func digest() -> String { "sha256:" + ContentDigest.hex(hasher.finalize()) }
}

/// Finds programs the way a shell would, but on the PATH the child will get.
public enum ExecutableLookup {
    /// The path to run for `program`: itself when it contains a slash, else the first
    /// executable regular file of that name in `searchPath`; nil when there is none.
    public static func resolve(_ program: String, searchPath: String?) -> String? {
        if program.contains("/") { return isExecutableFile(program) ? program : nil }
        for directory in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = "\(directory)/\(program)"
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}

/// Live processes as `/proc` shows them (Linux).
public enum ProcessTable {
    /// Pids of the group's members that are not zombies.
    public static func liveMembers(ofGroup pgid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = statFields(pid) else { return false }
            return stat.group == pgid && stat.state != "Z" && stat.state != "X"
        }
    }

    /// Whether the process exists and is not a zombie.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = statFields(pid) else { return false }
        return stat.state != "Z" && stat.state != "X"
    }

    /// State letter and process group from `/proc/PID/stat` (after the command's closing parenthesis).
    private static func statFields(_ pid: Int32) -> (state: Character, group: Int32)? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
            let text = String(data: data, encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let state = fields[0].first, let group = Int32(fields[2]) else { return nil }
        return (state, group)
    }
}

/// Seconds on a clock that never jumps (wall-clock changes do not shorten a timeout).
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
