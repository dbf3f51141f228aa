import Foundation
import Testing

@testable import WPKCore

/// A directory only root can write, all the way up (under /run, never /tmp, whose sticky
/// world-writable mode the policy loader refuses on the way), removed when dropped.
final class RootOwnedDirectory {
    let path: String

    init() throws {
        var template = Array("/run/wpk-policy-test-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw CocoaError(
                .fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: "mkdtemp under /run: \(String(cString: strerror(errno)))"])
        }
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        chmod(path, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Root can make files owned by root and other accounts; without root these tests cannot set up.
private let isRoot = getuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true"

@Suite("Machine policy file", .enabled(if: isRoot, "needs root: it makes root-owned policy files under /run and files owned by other uids"))
struct MachinePolicyFileTests {
    /// A policy file in its own root-owned directory; the directory lives as long as the value.
    private struct PolicyFile {
        let dir: RootOwnedDirectory
        var path: String { dir.file("policy.yaml") }
    }

    private func policyFile(_ text: String, mode: mode_t = 0o644, owner: uid_t = 0) throws -> PolicyFile {
        let dir = try RootOwnedDirectory()
        let path = dir.file("policy.yaml")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect(chmod(path, mode) == 0)
        #expect(chown(path, owner, gid_t(0)) == 0)
        return PolicyFile(dir: dir)
    }

    @Test func theBinaryReadsOnlyTheCompiledInPath() {
        #expect(MachinePolicy.path == "/etc/wpk/policy.yaml")
    }

    @Test func readsAllSettings() throws {
        let file = try policyFile("min_approvals: 2\nallow_self_approval: false\napprover_groups: [sre, oncall]\nmode: manual\n")
        #expect(
            MachinePolicy.load(path: file.path)
                == .loaded(MachinePolicy(minApprovals: 2, approverGroups: ["sre", "oncall"], source: file.path)))
    }

    @Test func readsTheTeamSettings() throws {
        let file = try policyFile(
            """
            gate: destructive
            ledger: /var/lib/wpk/ledger.jsonl
            ledger_password_file: /etc/wpk/ledger-password
            require_append_only: true
            allowed_signers: /etc/wpk/allowed_signers
            trusted_keys: /etc/wpk/trusted-keys/
            require_signed_playbooks: true
            serve_token_file: /etc/wpk/serve-token

            """)
        #expect(
            MachinePolicy.load(path: file.path)
                == .loaded(
                    MachinePolicy(
                        gate: .destructive, ledger: "/var/lib/wpk/ledger.jsonl", ledgerPasswordFile: "/etc/wpk/ledger-password",
                        requireAppendOnly: true, allowedSigners: "/etc/wpk/allowed_signers", trustedKeys: "/etc/wpk/trusted-keys/",
                        requireSignedPlaybooks: true, serveTokenFile: "/etc/wpk/serve-token", source: file.path)))
        #expect(
            MachinePolicy.builtIn.gate == .mutating && MachinePolicy.builtIn.ledger == nil && MachinePolicy.builtIn.allowedSigners == nil)
    }

    @Test func anAbsentFileOrDirectoryMeansBuiltInDefaults() throws {
        let dir = try RootOwnedDirectory()
        #expect(MachinePolicy.load(path: dir.file("policy.yaml")) == .loaded(.builtIn))
        #expect(MachinePolicy.load(path: dir.file("wpk/policy.yaml")) == .loaded(.builtIn))
        #expect(MachinePolicy.builtIn.minApprovals == 1 && !MachinePolicy.builtIn.allowSelfApproval && !MachinePolicy.builtIn.allowAutoMode)
    }

    @Test(arguments: [
        ("min_approvals: 2\n", mode_t(0o664), uid_t(0), "writable by group or others"),
        ("min_approvals: 2\n", mode_t(0o646), uid_t(0), "writable by group or others"),
        ("min_approvals: 2\n", mode_t(0o644), uid_t(4242), "not by root"),
        ("min_approvals: [\n", mode_t(0o644), uid_t(0), "not valid YAML"),
        ("min_aprovals: 2\n", mode_t(0o644), uid_t(0), "unknown setting"),
        ("min_approvals: 0\n", mode_t(0o644), uid_t(0), "from 1 to 100"),
        ("allow_self_approval: yes\n", mode_t(0o644), uid_t(0), "true or false"),
        ("- 1\n", mode_t(0o644), uid_t(0), "not a mapping"),
        ("gate: none\n", mode_t(0o644), uid_t(0), "mutating or destructive"),
        ("ledger: relative/ledger.jsonl\n", mode_t(0o644), uid_t(0), "absolute file path"),
        ("allowed_signers: signers\n", mode_t(0o644), uid_t(0), "absolute path"),
        ("require_signed_playbooks: yes\n", mode_t(0o644), uid_t(0), "true or false"),
    ])
    func unsafeOrBrokenFileFailsClosed(_ text: String, _ mode: mode_t, _ owner: uid_t, _ reasonContains: String) throws {
        let file = try policyFile(text, mode: mode, owner: owner)
        guard case .unsafe(_, let reason) = MachinePolicy.load(path: file.path) else {
            Issue.record("accepted")
            return
        }
        #expect(reason.contains(reasonContains), "\(reason)")
    }

    @Test func anOversizedFileIsRefused() throws {
        let file = try policyFile(String(repeating: "# padding\n", count: 7000))
        guard case .unsafe(_, let reason) = MachinePolicy.load(path: file.path) else {
            Issue.record("accepted")
            return
        }
        #expect(reason == "it is larger than 65536 bytes")
    }

    @Test func aDirectoryOnTheWayThatSomeoneElseCouldWriteFailsClosedEvenWithoutAFile() throws {
        let file = try policyFile("min_approvals: 2\n")
        let inner = file.dir.file("wpk")
        #expect(mkdir(inner, 0o755) == 0)
        try Data("min_approvals: 2\n".utf8).write(to: URL(fileURLWithPath: inner + "/policy.yaml"))
        #expect(chmod(inner, 0o775) == 0)
        guard case .unsafe(_, let groupWritable) = MachinePolicy.load(path: inner + "/policy.yaml") else {
            Issue.record("accepted")
            return
        }
        #expect(groupWritable.contains("the directory \(inner) is writable by group or others (mode 775); fix with: chmod go-w \(inner)"))
        #expect(chmod(inner, 0o755) == 0 && chown(inner, 4242, 0) == 0)
        // Its owner could delete the file and so fall back to the defaults: refused even when the file is gone.
        #expect(unlink(inner + "/policy.yaml") == 0)
        guard case .unsafe(_, let foreign) = MachinePolicy.load(path: inner + "/policy.yaml") else {
            Issue.record("accepted")
            return
        }
        #expect(foreign.contains("owned by uid 4242, not by root"))
        // /tmp is writable by everyone (sticky or not): never on the way to a policy.
        let inTmp = TemporaryDirectory()
        guard case .unsafe(_, let tmp) = MachinePolicy.load(path: inTmp.file("policy.yaml")) else {
            Issue.record("accepted")
            return
        }
        #expect(tmp.contains("writable by group or others"), "\(tmp)")
    }

    @Test func symbolicLinksAreNeverFollowed() throws {
        let file = try policyFile("min_approvals: 2\n")
        let link = file.dir.file("link.yaml")
        #expect(symlink(file.path, link) == 0)
        guard case .unsafe(_, let reason) = MachinePolicy.load(path: link) else {
            Issue.record("a symbolic link was followed")
            return
        }
        #expect(reason.contains("symbolic link"))
        let linkedDirectory = file.dir.file("etc-wpk")
        #expect(symlink(file.dir.path, linkedDirectory) == 0)
        guard case .unsafe(_, let directoryReason) = MachinePolicy.load(path: linkedDirectory + "/policy.yaml") else {
            Issue.record("a symbolic link to a directory was followed")
            return
        }
        #expect(directoryReason.contains("\(linkedDirectory) is a symbolic link"))
    }

    @Test func specialAndGeneratedFilesAreRefusedWithoutHanging() throws {
        let dir = try RootOwnedDirectory()
        #expect(mkfifo(dir.file("policy.yaml"), 0o644) == 0)
        guard case .unsafe(_, let fifo) = MachinePolicy.load(path: dir.file("policy.yaml")) else {
            Issue.record("a FIFO was read")
            return
        }
        #expect(fifo.contains("not a regular file"))
        guard case .unsafe = MachinePolicy.load(path: dir.path) else {
            Issue.record("a directory was accepted")
            return
        }
        // A root-owned, 0644 regular file whose text the process chooses (attack 2 of issue 13).
        guard case .unsafe(_, let proc) = MachinePolicy.load(path: "/proc/\(getpid())/comm") else {
            Issue.record("/proc comm was accepted")
            return
        }
        #expect(proc.contains("proc pseudo file system"), "\(proc)")
    }

    /// The old loader checked the name with stat and opened it again: swapping a symbolic link in
    /// between won. Now the file is opened once and checked on the descriptor, so a swap loop
    /// produces the real policy or a refusal, never the linked file's settings.
    @Test func aSymbolicLinkSwappedInALoopNeverWins() throws {
        let dir = try RootOwnedDirectory()
        let real = dir.file("real.yaml")
        let forged = dir.file("forged.yaml")
        let target = dir.file("policy.yaml")
        try Data("min_approvals: 2\n".utf8).write(to: URL(fileURLWithPath: real))
        // Even root-owned and 0644: the link itself is what must never be followed.
        try Data("mode: auto\n".utf8).write(to: URL(fileURLWithPath: forged))
        chmod(real, 0o644)
        chmod(forged, 0o644)
        let stop = ManagedAtomicFlag()
        let staged = dir.file("staged")
        let swapper = Thread {
            var useLink = false
            while !stop.isSet {
                unlink(staged)
                if useLink { _ = symlink(forged, staged) } else { _ = link(real, staged) }
                _ = rename(staged, target)
                useLink.toggle()
            }
        }
        swapper.start()
        defer { stop.set() }
        var loaded = 0
        var refused = 0
        let deadline = Date().addingTimeInterval(20)
        while (loaded < 50 || refused < 50) && Date() < deadline {
            switch MachinePolicy.load(path: target) {
            case .loaded(let policy):
                #expect(!policy.allowAutoMode && (policy.minApprovals == 2 || policy == .builtIn), "the forged policy was read")
                loaded += 1
            case .unsafe:
                refused += 1
            }
        }
        #expect(loaded >= 50 && refused >= 50, "the race was not exercised: \(loaded) loaded, \(refused) refused")
    }
}

/// A flag one thread sets and another reads.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
