import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Signs a ledger record's content for the operator. The ledger calls it outside its lock,
/// since signing may wait for a passphrase.
public protocol RecordSigner: Sendable {
    /// The name `allowed_signers` lists the key under (the account name where no file is configured).
    var principal: String { get }
    /// The signing key.
    var publicKey: SSHPublicKey { get }
    /// The armored SSHSIG of `content` in the decision namespace.
    func sign(_ content: [UInt8]) throws(SigningError) -> String
}

/// Why no signature could be made; the message says what to do.
public struct SigningError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Signs with `ssh-keygen -Y sign`, so a key in a (forwarded) SSH agent works and a passphrase
/// is asked on the operator's terminal by ssh-keygen itself; wpk never sees private keys.
public struct SSHSigner: RecordSigner {
    /// The SSHSIG namespace of approval decisions (and of `run_started`): a signature made
    /// for anything else (git commits, files) is never a decision.
    public static let decisionNamespace = "wpk-decision"

    public let principal: String
    public let publicKey: SSHPublicKey
    /// What `ssh-keygen -f` is given: a private key, or a `.pub` whose private half is in the
    /// agent; nil for a key found in the agent (its public half is written for each signature).
    public let keyPath: String?
    /// The environment ssh-keygen runs with (it finds the agent through `SSH_AUTH_SOCK`).
    let environment: [String: String]

    public init(principal: String, publicKey: SSHPublicKey, keyPath: String?, environment: [String: String]) {
        self.principal = principal
        self.publicKey = publicKey
        self.keyPath = keyPath
        self.environment = environment
    }

    /// Finds the operator's key: `explicitKey` (`--key`), else `WPK_SIGNING_KEY`, else, where
    /// an `allowed_signers` file is configured, the first agent key (`ssh-add -L`) it lists, else
    /// `~/.ssh/id_ed25519` or `~/.ssh/id_ecdsa`. Without `allowed_signers` only an explicit key is
    /// used (nil otherwise): single-user mode stays as quiet as before.
    ///
    /// The principal is the one `allowed_signers` lists the key under (`AllowedSigners.principal`);
    /// without the file it is `accountName`.
    public static func find(
        explicitKey: String?, signers: AllowedSigners?, accountName: String,
        environment: [String: String], home: String, now: Date
    ) throws(SigningError) -> SSHSigner? {
        let named = explicitKey ?? environment["WPK_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        var candidates: [(keyPath: String?, publicKey: SSHPublicKey)] = []
        if let named {
            candidates.append(try keyFile(named))
        } else {
            guard let signers else { return nil }
            for key in agentKeys(environment: environment) where signers.lists(key) {
                candidates.append((nil, key))
            }
            for name in ["id_ed25519", "id_ecdsa"] where FileManager.default.fileExists(atPath: home + "/.ssh/" + name) {
                if let found = try? keyFile(home + "/.ssh/" + name) { candidates.append(found) }
            }
            guard !candidates.isEmpty else {
                throw SigningError(
                    "no signing key: give --key FILE or set WPK_SIGNING_KEY, add a key listed in \(signers.source) to your SSH agent, or create ~/.ssh/id_ed25519"
                )
            }
        }
        guard let signers else {
            let first = candidates[0]
            return SSHSigner(principal: accountName, publicKey: first.publicKey, keyPath: first.keyPath, environment: environment)
        }
        for candidate in candidates {
            if let principal = signers.principal(for: candidate.publicKey, namespace: decisionNamespace, at: now) {
                return SSHSigner(principal: principal, publicKey: candidate.publicKey, keyPath: candidate.keyPath, environment: environment)
            }
        }
        let key = candidates[0].publicKey
        throw SigningError(
            "the key \(key.fingerprint) is not listed in \(signers.source) for namespace \(decisionNamespace) now; ask root to add a line: PRINCIPAL namespaces=\"\(decisionNamespace)\" \(key.openSSH)"
        )
    }

    /// A key file named by the operator: a private key with its `.pub` beside it, or a `.pub` alone.
    static func keyFile(_ path: String) throws(SigningError) -> (keyPath: String, publicKey: SSHPublicKey) {
        let publicPath = path.hasSuffix(".pub") ? path : path + ".pub"
        guard let data = FileManager.default.contents(atPath: publicPath), data.count <= SSHSignature.maxArmoredBytes else {
            throw SigningError(
                path.hasSuffix(".pub")
                    ? "cannot read the public key \(publicPath)"
                    : "cannot read \(publicPath), the public half of \(path); create it with: ssh-keygen -y -f \(path) > \(publicPath)")
        }
        do {
            let key = try SSHPublicKey(openSSH: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            guard path.hasSuffix(".pub") || FileManager.default.fileExists(atPath: path) else {
                throw SigningError("no private key \(path)")
            }
            return (path, key)
        } catch let error as SSHSignatureError {
            throw SigningError("\(publicPath): \(error)")
        } catch let error as SigningError {
            throw error
        } catch {
            throw SigningError("\(publicPath): \(error)")
        }
    }

    /// Keys the SSH agent offers (`ssh-add -L`), in its order; none when there is no agent.
    static func agentKeys(environment: [String: String]) -> [SSHPublicKey] {
        guard environment["SSH_AUTH_SOCK"]?.isEmpty == false,
            let program = ExecutableLookup.resolve("ssh-add", searchPath: environment["PATH"])
        else { return [] }
        guard let result = ToolProcess.run(program, ["-L"], environment: environment, terminal: false), result.status == 0 else {
            return []
        }
        return String(decoding: result.output, as: UTF8.self).split(separator: "\n").compactMap { try? SSHPublicKey(openSSH: String($0)) }
    }

    public func sign(_ content: [UInt8]) throws(SigningError) -> String {
        guard let program = ExecutableLookup.resolve("ssh-keygen", searchPath: environment["PATH"]) else {
            throw SigningError("ssh-keygen is not installed (it makes the signature); install openssh-client")
        }
        let directory = try ToolProcess.privateDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let messagePath = directory + "/record"
        guard FileManager.default.createFile(atPath: messagePath, contents: Data(content), attributes: [.posixPermissions: 0o600]) else {
            throw SigningError("cannot write \(messagePath)")
        }
        // ssh-keygen signs with an agent key when given its public half as -f.
        let keyArgument = keyPath ?? directory + "/agent-key.pub"
        if keyPath == nil,
            !FileManager.default.createFile(
                atPath: keyArgument, contents: Data((publicKey.openSSH + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        {
            throw SigningError("cannot write \(keyArgument)")
        }
        // The terminal stays ssh-keygen's, so it can ask for the key's passphrase.
        guard
            let result = ToolProcess.run(
                program, ["-Y", "sign", "-q", "-n", SSHSigner.decisionNamespace, "-f", keyArgument, messagePath],
                environment: environment, terminal: true)
        else {
            throw SigningError("cannot start \(program)")
        }
        guard result.status == 0, let data = FileManager.default.contents(atPath: messagePath + ".sig"),
            data.count <= SSHSignature.maxArmoredBytes
        else {
            throw SigningError(
                "ssh-keygen -Y sign -f \(keyPath ?? "(agent key \(publicKey.fingerprint))") failed (exit \(result.status)); nothing was recorded"
            )
        }
        let armored = String(decoding: data, as: UTF8.self)
        // Check what ssh-keygen made before it goes into the ledger.
        do {
            let signature = try SSHSignature(armored: armored)
            guard signature.publicKey == publicKey else {
                throw SigningError("ssh-keygen signed with \(signature.publicKey.fingerprint), not with \(publicKey.fingerprint)")
            }
            try signature.verify(message: content, namespace: SSHSigner.decisionNamespace)
        } catch let error as SigningError {
            throw error
        } catch {
            throw SigningError("ssh-keygen made a signature wpk cannot verify: \(error)")
        }
        return armored
    }
}

/// Starts ssh-keygen and ssh-add: in wpk's own process group, so a passphrase prompt can use the
/// terminal, with default signal handling (wpk run ignores some signals itself).
enum ToolProcess {
    struct Result {
        var status: Int32
        var output: [UInt8]
    }

    /// Runs `program` to its end. `terminal`: standard input and error are wpk's (prompts);
    /// otherwise input is /dev/null and errors are discarded. Standard output is captured
    /// (up to 1 MiB). Nil when it cannot start.
    static func run(_ program: String, _ arguments: [String], environment: [String: String], terminal: Bool) -> Result? {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { return nil }
        // Neither end may leak into other children wpk starts (the signer runs before steps do).
        _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        // Opening fails without a controlling terminal (a test, a service): then wpk's own streams are inherited.
        let terminalFD = terminal ? open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY) : -1
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
            if terminalFD >= 0 { close(terminalFD) }
        }
        if !terminal {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        } else if terminalFD >= 0 {
            // The controlling terminal, even when wpk's own input is a pipe (a playbook on stdin).
            posix_spawn_file_actions_adddup2(&actions, terminalFD, 0)
            posix_spawn_file_actions_adddup2(&actions, terminalFD, 2)
        }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU] { sigaddset(&defaults, signal) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let started = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        close(pipeEnds[1])
        defer { close(pipeEnds[0]) }
        guard started == 0 else { return nil }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            if output.count < 1 << 20 { output.append(contentsOf: chunk[0..<count]) }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        return Result(status: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), output: output)
    }

    /// A fresh directory only this user can enter.
    static func privateDirectory() throws(SigningError) -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        var template = Array((base + "/wpk-sign-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw SigningError("cannot create a private directory under \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }
}
