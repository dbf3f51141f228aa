import Foundation
import Testing

/// A throwaway OpenSSH server on a loopback port: its own host key and configuration in a temporary
/// directory, public-key login only, for one account. Stopped (and its files removed) when dropped.
final class SSHServer {
    static let sshd = "/usr/sbin/sshd"

    /// Why SSH tests cannot run here, or nil when they can. Under `CI=true` the caller fails instead of skipping.
    static var unavailable: String? {
        guard FileManager.default.isExecutableFile(atPath: sshd) else { return "\(sshd) is missing (apt-get install openssh-server)" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh") else {
            return "/usr/bin/ssh is missing (apt-get install openssh-client)"
        }
        guard getuid() == 0 else { return "needs root: sshd switches to the test account" }
        return nil
    }

    let directory: URL
    let port: Int
    /// The private key that logs in as the account.
    let clientKey: String
    /// sshd's pid. Started with posix_spawn and reaped with waitpid, not Foundation's Process,
    /// whose exit monitoring lost track of the test's other children while sshd ran.
    private var pid: pid_t = 0

    /// Starts sshd for `account` and waits until it accepts connections.
    init(for account: TestAccount) throws {
        // useradd leaves the password locked ("!"), and sshd refuses a locked account even for a key: "*" is no password, not locked.
        try Self.run("/usr/sbin/usermod", ["-p", "*", account.name])
        directory = try makeTemporaryDirectory()
        chmod(directory.path, 0o755)
        let hostKey = directory.appendingPathComponent("host_key").path
        clientKey = directory.appendingPathComponent("client_key").path
        try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey])
        try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", clientKey])
        let authorized = directory.appendingPathComponent("authorized_keys").path
        try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: authorized)
        chmod(authorized, 0o644)
        // sshd refuses to start without its privilege separation directory.
        mkdir("/run/sshd", 0o755)
        port = try Self.freeLoopbackPort()
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
            PidFile \(directory.appendingPathComponent("sshd.pid").path)
            AuthorizedKeysFile \(authorized)
            AuthenticationMethods publickey
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            PermitRootLogin no
            AllowUsers \(account.name)
            # The key files live under /tmp (world-writable), which strict modes would refuse.
            StrictModes no
            AcceptEnv LANG
            X11Forwarding no
            AllowTcpForwarding no

            """
        let configPath = directory.appendingPathComponent("sshd_config").path
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        let logPath = directory.appendingPathComponent("sshd.log").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let words: [String] = [Self.sshd, "-D", "-e", "-f", configPath]
        let argv = words.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        let spawned = posix_spawn(&pid, Self.sshd, &actions, nil, argv, environ)
        guard spawned == 0 else { throw E2EError("cannot start sshd: error \(spawned)") }
        try waitUntil("sshd listens on 127.0.0.1:\(port)") { Self.accepts(port: port) || kill(pid, 0) != 0 }
        guard Self.accepts(port: port) else { throw E2EError("sshd did not start: \(log)") }
    }

    /// What sshd wrote to standard error.
    var log: String { (try? String(contentsOf: directory.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? "" }

    /// The client command that runs `remote` as `account` through this server, with a terminal.
    func sshCommand(_ account: TestAccount, remote: String) -> String {
        [
            "/usr/bin/ssh", "-t", "-i", clientKey, "-p", String(port), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "\(account.name)@127.0.0.1", remote,
        ].map(shellQuoted).joined(separator: " ")
    }

    deinit {
        if pid > 0 {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let result = try runProcess(executable, arguments)
        guard result.status == 0 else { throw E2EError("\(executable) failed: \(result.output)") }
    }

    /// A port the kernel just handed out on 127.0.0.1 (bound and released, so free a moment ago).
    private static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in(
            sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")),
            sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw E2EError("cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in(
            sin_family: sa_family_t(AF_INET), sin_port: UInt16(port).bigEndian, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")),
            sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        return withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
