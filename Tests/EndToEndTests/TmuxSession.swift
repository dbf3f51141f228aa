import Foundation
import Testing

/// A failure of the end-to-end harness, with what the pane showed.
struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion and returns its exit status and its output.
///
/// posix_spawn and waitpid rather than Foundation's Process, whose exit monitoring did not see the
/// tmux client exit when run under the test runner (the client stayed a zombie and the wait hung).
@discardableResult
func runProcess(_ executable: String, _ arguments: [String], captureOutput: Bool = true) throws -> (status: Int32, output: String) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw E2EError("pipe failed") }
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if captureOutput {
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    } else {
        // A daemon the command starts (the tmux server) would inherit a pipe and hold it open forever.
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    }
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, fds[1])
    // The child starts with default signal handling and nothing blocked, as from a login shell,
    // whatever the test runner's threads have set up.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    var allSignals = sigset_t()
    sigemptyset(&noSignals)
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for arg in argv { free(arg) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
    close(fds[1])
    guard spawned == 0 else {
        close(fds[0])
        throw E2EError("cannot run \(executable): error \(spawned)")
    }
    var output = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fds[0], &buffer, buffer.count)
        if n > 0 { output += buffer[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return (exitCode, String(decoding: output, as: UTF8.self))
}

/// A private tmux server (its own `-L` socket) with one pane running a plain shell, driven the way
/// a person would: keys in, screen text out. Waits poll the pane until a condition holds or a
/// deadline passes; nothing sleeps for a fixed time.
final class TmuxSession {
    /// What a wpk in the session's shell binds its plans to (PATH /usr/bin:/bin; a kubeconfig
    /// named, since HOME is the session's own): a plan made outside the session with this
    /// environment has the same digest as one made inside it with `KUBECONFIG` set alike.
    static let bindingEnvironment = ["PATH": "/usr/bin:/bin", "KUBECONFIG": "/nonexistent/kubeconfig"]

    let socket: String
    let scratch: URL
    private let tmuxPath: String

    /// Starts a shell in a `width`x`height` pane with the prompt `e2e$ `, in the package root.
    init(width: Int = 100, height: Int = 30) throws {
        guard
            let tmux = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw E2EError("tmux is not installed (apt-get install tmux)")
        }
        tmuxPath = tmux
        socket = "wpk-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent(socket)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let shell =
            "cd '\(packageRoot.path)' && exec env -i HOME='\(scratch.path)' HISTFILE=/dev/null PATH=/usr/bin:/bin PS1='e2e$ ' TERM=xterm-256color bash --norc --noprofile"
        let started = try runProcess(
            tmux, ["-u", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "\(width)", "-y", "\(height)", shell],
            captureOutput: false)
        guard started.status == 0 else { throw E2EError("tmux new-session failed: \(started.output)") }
        // No global `window-size manual`: with no client attached, tmux 3.3a then dies on new-window.
        // resize-window sets it for its own window.
        try waitFor("the shell prompt") { $0.contains("e2e$") }
    }

    deinit {
        _ = try? runProcess(tmuxPath, ["-L", socket, "kill-server"], captureOutput: false)
        // HISTFILE=/dev/null above: a shell saving its history as it hangs up would otherwise
        // race this removal and leave the directory behind.
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Runs a tmux command against this server.
    @discardableResult
    func tmux(_ arguments: String...) throws -> String {
        let result = try runProcess(tmuxPath, ["-L", socket] + arguments)
        guard result.status == 0 else { throw E2EError("tmux \(arguments.joined(separator: " ")) failed: \(result.output)") }
        return result.output
    }

    /// Types text literally, then optionally presses Enter.
    func type(_ text: String, enter: Bool = false) throws {
        try tmux("send-keys", "-t", "e2e", "-l", text)
        if enter { try tmux("send-keys", "-t", "e2e", "Enter") }
    }

    /// Presses named keys (tmux names: Down, Enter, Escape, Tab, BSpace, C-c).
    func press(_ keys: String...) throws {
        for key in keys { try tmux("send-keys", "-t", "e2e", key) }
    }

    /// The pane's text; with `escapes`, including the colour and attribute sequences.
    func capture(escapes: Bool = false) throws -> String {
        escapes ? try tmux("capture-pane", "-p", "-e", "-t", "e2e") : try tmux("capture-pane", "-p", "-t", "e2e")
    }

    /// Polls the pane until `condition` holds; fails with the last screen after `timeout` seconds.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 60, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if condition(screen) { return screen }
            usleep(30_000)
        }
        throw E2EError("timed out after \(timeout)s waiting for \(what); the pane shows:\n\(screen)")
    }

    /// Resizes the pane's window.
    func resize(width: Int, height: Int) throws {
        try tmux("resize-window", "-t", "e2e", "-x", "\(width)", "-y", "\(height)")
    }

    /// The process running in the pane's foreground under the shell (the review), by /proc.
    func childOfShell() throws -> pid_t {
        let shell = try tmux("display-message", "-p", "-t", "e2e", "#{pane_pid}").trimmingCharacters(in: .whitespacesAndNewlines)
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        guard let pid = children.split(separator: " ").first.flatMap({ pid_t($0) }) else {
            throw E2EError("no process is running under the pane's shell \(shell)")
        }
        return pid
    }

    /// A file in this session's scratch directory.
    func scratchFile(_ name: String) -> String { scratch.appendingPathComponent(name).path }
}
