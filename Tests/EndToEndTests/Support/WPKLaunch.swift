import Foundation
import Testing

/// Whether this process may start wpk under a test policy or as another account (it is root), or
/// must try anyway because CI demands every test run (then a missing privilege fails loudly).
let canActAsRoot: Bool = getuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true"

/// Why tests needing root are skipped here (Swift Testing prints it beside each skipped test).
let needsRootComment: Comment =
    "needs root: it mounts a test policy over /etc/wpk in a private mount namespace and runs wpk as other accounts (CI runs as root)"

/// A machine policy for end-to-end tests: a root-owned directory holding `policy.yaml` (and any
/// file the policy names), which every wpk started with it sees at `/etc/wpk`.
///
/// The binary reads only the compiled-in `/etc/wpk/policy.yaml` and has no override, so a test
/// policy is made the way only root can: a bind mount over `/etc/wpk` inside a private mount
/// namespace of that one wpk process (`unshare --mount`). The machine's own `/etc/wpk` is untouched
/// (an empty mount point is created when it is missing).
final class TestPolicy {
    /// Where wpk sees the directory's files.
    static let mountPoint = "/etc/wpk"
    let directory: URL

    /// A policy with this text; `files` go beside it (paths relative to `/etc/wpk`).
    init(_ text: String, files: [String: String] = [:]) throws {
        directory = try makeTemporaryDirectory()
        // As /etc/wpk must be: owned by root, writable by nobody else.
        chmod(directory.path, 0o755)
        try write("policy.yaml", text)
        for (name, content) in files { try write(name, content) }
    }

    /// Writes (or replaces) one file of the policy directory, root-owned, mode 644.
    func write(_ name: String, _ text: String) throws {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        chmod(url.path, 0o644)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Creates the empty mount point `/etc/wpk` when the machine has none (it then reads as "no policy").
    static func ensureMountPoint() throws {
        var info = stat()
        if stat(mountPoint, &info) == 0 { return }
        guard mkdir(mountPoint, 0o755) == 0 || errno == EEXIST else {
            throw LaunchFailure("cannot create the mount point \(mountPoint): \(String(cString: strerror(errno)))")
        }
    }
}

/// A throwaway OS account (made with `useradd`, removed with `userdel` when dropped), so a test
/// acts as a real separate person on the machine.
final class TestAccount {
    let name: String
    let uid: uid_t
    let gid: gid_t

    /// Creates an account named `wpkt<random>`, in `groups` (which must exist) besides its own,
    /// with `shell` as its login shell (one that logs in over SSH needs a real one).
    init(groups: [String] = [], shell: String = "/usr/sbin/nologin") throws {
        name = "wpkt" + String(UUID().uuidString.prefix(8)).lowercased()
        var arguments = ["--no-create-home", "--shell", shell, "--user-group"]
        if !groups.isEmpty { arguments += ["--groups", groups.joined(separator: ",")] }
        try runChecked("/usr/sbin/useradd", arguments + [name])
        guard let entry = getpwnam(name) else { throw LaunchFailure("useradd made no entry for \(name)") }
        uid = entry.pointee.pw_uid
        gid = entry.pointee.pw_gid
    }

    deinit { _ = try? runChecked("/usr/sbin/userdel", [name]) }
}

/// A throwaway group (`groupadd`, removed with `groupdel` when dropped).
final class TestGroup {
    let name: String

    init() throws {
        name = "wpkg" + String(UUID().uuidString.prefix(8)).lowercased()
        try runChecked("/usr/sbin/groupadd", [name])
    }

    var gid: gid_t { getgrnam(name).map { $0.pointee.gr_gid } ?? 0 }

    deinit { _ = try? runChecked("/usr/sbin/groupdel", [name]) }
}

/// A test's launcher could not set wpk up.
struct LaunchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@discardableResult
private func runChecked(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw LaunchFailure("\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
    }
    return text
}

/// How an end-to-end test starts the wpk binary: under which machine policy and as which account.
/// Every test starts wpk through this (`runWPK`, `BackgroundWPK`, the tmux review), so there is
/// one way of doing it.
struct WPKLaunch {
    /// The policy wpk sees at `/etc/wpk`; nil: the machine's own (normally none).
    var policy: TestPolicy?
    /// Run as this uid, with this gid and supplementary groups; nil: as the test process.
    var user: (uid: uid_t, gid: gid_t, groups: [gid_t])?
    /// The wpk executable: the one SwiftPM just built, or a copy of it (as installed).
    var binary: URL = wpkBinary

    init(policy: TestPolicy? = nil, user: (uid: uid_t, gid: gid_t, groups: [gid_t])? = nil) {
        self.policy = policy
        self.user = user
    }

    /// wpk as `account`, in its own and these groups.
    init(policy: TestPolicy? = nil, as account: TestAccount, groups: [gid_t] = []) {
        self.init(policy: policy, user: (account.uid, account.gid, [account.gid] + groups))
    }

    /// The state directory the tests' wpk processes keep verified ledger heads in (under the
    /// build directory, so tests leave nothing in the home directory).
    static let stateHome = packageRoot.appendingPathComponent(".build/e2e-state").path

    /// The executable and its arguments that start wpk with `arguments` this way.
    func command(_ arguments: [String]) throws -> (executable: String, arguments: [String]) {
        var argv = [binary.path] + arguments
        if let user {
            let groups = user.groups.isEmpty ? ["--clear-groups"] : ["--groups=" + user.groups.map(String.init).joined(separator: ",")]
            argv = ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)"] + groups + argv
        }
        if let policy {
            try TestPolicy.ensureMountPoint()
            // The mount exists only in this process's namespace; exec keeps the pid, so signals reach wpk itself.
            argv =
                [
                    "/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    "mount --bind \"$1\" \(TestPolicy.mountPoint) && shift && exec \"$@\"", "sh", policy.directory.path,
                ] + argv
        }
        return (argv[0], Array(argv.dropFirst()))
    }

    /// The same as one shell command line (for the tmux tests), each word quoted.
    func shellCommand(_ arguments: [String]) throws -> String {
        let (executable, rest) = try command(arguments)
        return ([executable] + rest).map(shellQuoted).joined(separator: " ")
    }
}

/// `text` as one single-quoted shell word.
func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
