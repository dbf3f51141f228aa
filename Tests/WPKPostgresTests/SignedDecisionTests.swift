import Foundation
import Testing

@testable import WPKCore
@testable import WPKPostgres

/// Real keys (ssh-keygen), a real ledger file, and the policy's counting with allowed_signers.
private final class SignedBench {
    typealias F = LedgerFixtures
    /// Keys and files of the test; the ledger is of the backend asked for.
    let dir = TemporaryDirectory()
    let fresh: BackendLedger
    var ledger: any LedgerBackend { fresh.ledger }
    var keys: [String: (privatePath: String, publicText: String)] = [:]
    let policy: MachinePolicyStatus = .loaded(MachinePolicy(minApprovals: 2, allowedSigners: "/etc/wpk/allowed_signers"))

    init(_ names: [String: String], backend: Backend = .file) throws {
        fresh = try BackendLedger(backend)
        for (name, type) in names { keys[name] = try SSHKeygen.makeKey(type, named: name, in: dir) }
    }

    func key(_ name: String) throws -> SSHPublicKey { try SSHPublicKey(openSSH: keys[name]!.publicText) }

    func signers(_ text: String) throws -> SignerPolicy { .signed(try AllowedSigners(text: text, source: "allowed_signers")) }

    func signer(_ keyName: String, as principal: String) throws -> SSHSigner {
        SSHSigner(
            principal: principal, publicKey: try key(keyName), keyPath: keys[keyName]!.privatePath,
            environment: ProcessInfo.processInfo.environment)
    }

    func subject(author: String? = "carol", run: String? = "run-1") -> GateSubject {
        var subject = F.subject(approvals: 2, safety: SafetySettings(approvalsRequired: 2, approvalTimeoutSeconds: 600, author: author))
        subject.run = run
        return subject
    }

    /// A run started by `op` and waiting at the subject's gate.
    func startRun(by op: Operator, subject: GateSubject, signer: SSHSigner? = nil) throws {
        let started = RecordDraft(
            type: .runStarted, run: subject.run, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
            planDigest: subject.planDigest)
        if let signer {
            _ = try ledger.appendSigned(operator: op, signer: signer, clock: { F.t0 }) { _, _ in (started, ()) }
        } else {
            try ledger.append(started, operator: op, now: F.t0)
        }
        try ledger.append(try ApprovalPolicy.waitingDraft(subject: subject, policy: policy, now: F.t0).get(), operator: op, now: F.t0)
    }

    func approvalDraft(_ subject: GateSubject) -> RecordDraft {
        RecordDraft(
            type: .approved, run: subject.run, playbook: subject.playbook, playbookDigest: subject.playbookDigest,
            planDigest: subject.planDigest, step: subject.step, approvalsRequired: 2, expires: F.t0.addingTimeInterval(600))
    }

    /// An approval written as `op`, signed by `signer` (nil: unsigned, as a forger without a listed key writes it).
    @discardableResult
    func approve(_ subject: GateSubject, as op: Operator, signer: SSHSigner?, at seconds: Double = 1) throws -> LedgerRecord {
        let now = F.t0.addingTimeInterval(seconds)
        if let signer {
            let draft = approvalDraft(subject)
            let written = try ledger.appendSigned(operator: op, signer: signer, clock: { now }) { _, _ in (draft, ()) }
            return try #require(written.record)
        }
        return try ledger.append(approvalDraft(subject), operator: op, now: now)
    }

    func status(_ subject: GateSubject, signers: SignerPolicy, policy: MachinePolicyStatus? = nil) throws -> (GateStatus, [String]) {
        let state = LedgerState(records: try ledger.read().records)
        let now = F.t0.addingTimeInterval(5)
        let status = ApprovalPolicy.gateStatus(subject: subject, state: state, policy: policy ?? self.policy, now: now, signers: signers)
        let rules = try ApprovalPolicy.rules(for: subject, policy: policy ?? self.policy).get()
        let discounted = ApprovalPolicy.tally(
            gate: state.gates[subject.key], run: subject.run!, history: state.runs[subject.run!]!,
            subject: subject, rules: rules, signers: signers, now: now
        ).discounted.map(\.reason)
        return (status, discounted)
    }
}

@Suite("Signed decisions and who counts, on every backend")
struct SignedDecisionTests {
    typealias F = LedgerFixtures

    @Test("a signed record verifies in Swift; its signature binds seq, time, prev and principal", arguments: Backend.available)
    func signatureBindsTheRecord(_ backend: Backend) throws {
        guard requireSSHKeygen() else { return }
        let bench = try SignedBench(["alice": "ed25519"], backend: backend)
        let signers = try bench.signers("alice@example.com \(bench.keys["alice"]!.publicText)\n")
        let subject = bench.subject()
        try bench.startRun(by: F.carol, subject: subject)
        let record = try bench.approve(subject, as: F.alice, signer: try bench.signer("alice", as: "alice@example.com"))
        let aliceKey = try bench.key("alice")
        #expect(record.principal == "alice@example.com" && record.key == aliceKey.fingerprint)
        let stored = try #require(try bench.ledger.read().records.last)
        #expect(stored == record)
        #expect(try signers.principal(of: stored).get() == "alice@example.com")
        // ssh-keygen agrees the signature covers exactly signedContent.
        let contentPath = bench.dir.file("content")
        let signaturePath = bench.dir.file("content.sig")
        try Data(stored.signedContent).write(to: URL(fileURLWithPath: contentPath))
        try Data(stored.signature!.utf8).write(to: URL(fileURLWithPath: signaturePath))
        try Data("alice@example.com \(bench.keys["alice"]!.publicText)\n".utf8).write(to: URL(fileURLWithPath: bench.dir.file("signers")))
        let peer = try SSHKeygen.run(
            [
                "-Y", "verify", "-f", bench.dir.file("signers"), "-I", "alice@example.com", "-n", "wpk-decision",
                "-s", signaturePath,
            ], input: stored.signedContent)
        #expect(peer.status == 0, "\(peer.errors)")

        func refused(_ change: (inout LedgerRecord) -> Void) -> String? {
            var moved = stored
            change(&moved)
            if case .failure(let error) = signers.principal(of: moved) { return error.code }
            return nil
        }
        #expect(refused { $0.seq += 1 } == "invalid_signature")
        #expect(refused { $0.prev = LedgerRecord.genesis } == "invalid_signature")
        #expect(refused { $0.time = $0.time.addingTimeInterval(60) } == "invalid_signature")
        #expect(refused { $0.principal = "bob@example.com" } == "invalid_signature")
        #expect(refused { $0.draft.step = "other" } == "invalid_signature")
        #expect(refused { $0.key = "SHA256:AAAA" } == "key_mismatch")
        #expect(refused { $0.signature = nil } == "unsigned")
    }

    @Test(
        "attack 1: forged unsigned approvals claiming other operators do not count, with a reason; signed ones do",
        arguments: Backend.available)
    func forgedApprovalsDoNotCount(_ backend: Backend) throws {
        guard requireSSHKeygen() else { return }
        let bench = try SignedBench(["alice": "ed25519", "bob": "ecdsa"], backend: backend)
        let signers = try bench.signers(
            "alice@example.com \(bench.keys["alice"]!.publicText)\nbob@example.com \(bench.keys["bob"]!.publicText)\n")
        let subject = bench.subject()
        try bench.startRun(by: F.carol, subject: subject)
        try bench.approve(subject, as: F.alice, signer: nil)
        try bench.approve(subject, as: Operator(uid: 4_000_000, name: "ghost"), signer: nil)
        var (status, reasons) = try bench.status(subject, signers: signers)
        #expect(status == .pending(have: 0, need: 2))
        #expect(reasons.count == 2 && reasons.allSatisfy { $0.contains("is not signed") }, "\(reasons)")
        // A signature by a key allowed_signers does not list is no better.
        try bench.ledger.append(RecordDraft(type: .stepFinished, run: "other"), operator: F.bob, now: F.t0)
        _ = try bench.approve(subject, as: F.bob, signer: try bench.signer("alice", as: "bob@example.com"))
        (status, reasons) = try bench.status(subject, signers: signers)
        #expect(status == .pending(have: 0, need: 2))
        #expect(reasons.last?.contains("does not list key") == true, "\(reasons)")
        try bench.approve(subject, as: F.alice, signer: try bench.signer("alice", as: "alice@example.com"))
        try bench.approve(subject, as: F.bob, signer: try bench.signer("bob", as: "bob@example.com"))
        (status, _) = try bench.status(subject, signers: signers)
        guard case .approved(let seqs) = status else {
            Issue.record("not approved: \(status)")
            return
        }
        #expect(seqs.count == 2)
    }

    @Test("one account with two principals, or one principal on two accounts, is one person", arguments: Backend.available)
    func identityIsAccountAndPrincipal(_ backend: Backend) throws {
        guard requireSSHKeygen() else { return }
        let bench = try SignedBench(["alice": "ed25519", "bob": "ed25519"], backend: backend)
        let signers = try bench.signers(
            "alice@example.com \(bench.keys["alice"]!.publicText)\nbob@example.com \(bench.keys["bob"]!.publicText)\n")
        let subject = bench.subject()
        try bench.startRun(by: F.carol, subject: subject)
        try bench.approve(subject, as: F.alice, signer: try bench.signer("alice", as: "alice@example.com"))
        try bench.approve(subject, as: F.alice, signer: try bench.signer("bob", as: "bob@example.com"))
        var (status, reasons) = try bench.status(subject, signers: signers)
        #expect(status == .pending(have: 1, need: 2))
        #expect(reasons.contains { $0.contains("the same person as approval") }, "\(reasons)")

        let other = try SignedBench(["alice": "ed25519"], backend: backend)
        let otherSigners = try other.signers("alice@example.com \(other.keys["alice"]!.publicText)\n")
        try other.startRun(by: F.carol, subject: subject)
        try other.approve(subject, as: F.alice, signer: try other.signer("alice", as: "alice@example.com"))
        try other.approve(subject, as: F.bob, signer: try other.signer("alice", as: "alice@example.com"))
        (status, reasons) = try other.status(subject, signers: otherSigners)
        #expect(status == .pending(have: 1, need: 2))
    }

    @Test("attack 9: the author and the run's starter are compared with principals and accounts", arguments: Backend.available)
    func selfApprovalByPrincipal(_ backend: Backend) throws {
        guard requireSSHKeygen() else { return }
        let bench = try SignedBench(["alice": "ed25519", "carol": "ed25519"], backend: backend)
        let signers = try bench.signers(
            "alice@example.com \(bench.keys["alice"]!.publicText)\ncarol@example.com \(bench.keys["carol"]!.publicText)\n")
        let subject = bench.subject(author: "Alice Example <alice@example.com>")
        // carol starts the run signed; an approval by carol's principal from another account is hers.
        try bench.startRun(by: F.carol, subject: subject, signer: try bench.signer("carol", as: "carol@example.com"))
        let alias = Operator(uid: 2001, name: "al")
        try bench.approve(subject, as: alias, signer: try bench.signer("alice", as: "alice@example.com"))
        try bench.approve(subject, as: Operator(uid: 2002, name: "cc"), signer: try bench.signer("carol", as: "carol@example.com"))
        let (status, reasons) = try bench.status(subject, signers: signers)
        #expect(status == .pending(have: 0, need: 2))
        #expect(reasons.contains { $0.contains("alice@example.com (al) is the playbook's author") }, "\(reasons)")
        #expect(reasons.contains { $0.contains("carol@example.com (cc) started this run") }, "\(reasons)")

        // Single-user mode: the author alice@example.com is the account alice.
        let single = try SignedBench([:], backend: backend)
        let plain = single.subject(author: "alice@example.com")
        try single.startRun(by: F.carol, subject: plain)
        try single.approve(plain, as: F.alice, signer: nil)
        let (_, plainReasons) = try single.status(plain, signers: .unsigned, policy: .loaded(MachinePolicy(minApprovals: 2)))
        #expect(plainReasons.contains { $0.contains("alice is the playbook's author") }, "\(plainReasons)")
        let decision = ApprovalPolicy.decide(
            .approve, subject: F.subject(safety: SafetySettings(author: "alice@example.com")),
            planPrefix: F.planPrefix, state: LedgerState(records: []), policy: .loaded(.builtIn),
            operator: F.alice, now: F.t0)
        #expect(
            decision == .refused(.selfApproval(who: "alice", role: "is the author of this playbook (metadata.author alice@example.com)")))
    }

    @Test("expired signers, approver groups from the group database, and a required signature", arguments: Backend.available)
    func validityGroupsAndRequirement(_ backend: Backend) throws {
        guard requireSSHKeygen() else { return }
        let bench = try SignedBench(["alice": "ed25519"], backend: backend)
        let expired = try bench.signers("alice@example.com valid-before=\"20200101Z\" \(bench.keys["alice"]!.publicText)\n")
        let subject = bench.subject()
        try bench.startRun(by: F.carol, subject: subject)
        try bench.approve(subject, as: F.alice, signer: try bench.signer("alice", as: "alice@example.com"))
        let (_, reasons) = try bench.status(subject, signers: expired)
        #expect(reasons.first?.contains("expired at 2020-01-01T00:00:00Z") == true, "\(reasons)")

        let valid = try bench.signers("alice@example.com \(bench.keys["alice"]!.publicText)\n")
        let grouped: MachinePolicyStatus = .loaded(
            MachinePolicy(minApprovals: 2, approverGroups: ["wpk-no-such-group"], allowedSigners: "/x"))
        let (_, groupReasons) = try bench.status(subject, signers: valid, policy: grouped)
        // F.alice is uid 1001, which the record claims; the group database decides, not the record.
        #expect(
            groupReasons.first.map { $0.contains("approver group") || $0.contains("does not exist on this machine") } == true,
            "\(groupReasons)")

        let unsigned = ApprovalPolicy.decide(
            .approve, subject: F.subject(), planPrefix: F.planPrefix, state: LedgerState(records: []),
            policy: bench.policy, operator: F.alice, now: F.t0, principal: nil, signers: valid)
        #expect(unsigned == .refused(.signatureRequired(path: "/etc/wpk/allowed_signers")))
    }

    @Test("the signer finds the principal allowed_signers lists for an explicit key, and refuses an unlisted one")
    func signerResolution() throws {
        guard requireSSHKeygen() else { return }
        let bench = try SignedBench(["alice": "ed25519", "mallory": "ed25519"])
        let file = try AllowedSigners(
            text: "alice@example.com,*@ops namespaces=\"wpk-decision\" \(bench.keys["alice"]!.publicText)\n", source: "allowed_signers")
        let environment = ["PATH": "/usr/bin:/bin"]
        let found = try #require(
            try SSHSigner.find(
                explicitKey: bench.keys["alice"]!.privatePath, signers: file, accountName: "alice",
                environment: environment, home: bench.dir.path, now: Date()))
        let aliceKey = try bench.key("alice")
        #expect(found.principal == "alice@example.com" && found.publicKey == aliceKey)
        let viaPub = try #require(
            try SSHSigner.find(
                explicitKey: nil, signers: nil, accountName: "alice",
                environment: ["WPK_SIGNING_KEY": bench.keys["alice"]!.privatePath + ".pub"],
                home: bench.dir.path, now: Date()))
        #expect(viaPub.principal == "alice")
        #expect(
            try SSHSigner.find(explicitKey: nil, signers: nil, accountName: "alice", environment: [:], home: bench.dir.path, now: Date())
                == nil)
        #expect(throws: SigningError.self) {
            try SSHSigner.find(
                explicitKey: bench.keys["mallory"]!.privatePath, signers: file, accountName: "mallory",
                environment: environment, home: bench.dir.path, now: Date())
        }
        // The signature ssh-keygen makes for the found signer verifies against the file.
        let armored = try found.sign(Array("content".utf8))
        let signature = try SSHSignature(armored: armored)
        try signature.verify(message: Array("content".utf8), namespace: "wpk-decision")
    }

    @Test("without --key, the first SSH agent key allowed_signers lists signs, through the agent alone")
    func agentKeySigns() throws {
        guard requireSSHKeygen() else { return }
        let bench = try SignedBench(["other": "ed25519", "alice": "ecdsa"])
        let socket = bench.dir.file("agent.sock")
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        agent.arguments = ["-D", "-a", socket]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer {
            // SIGKILL: the agent inherits the test runner's signal mask, in which SIGTERM may be blocked.
            kill(agent.processIdentifier, SIGKILL)
            agent.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: socket) && Date() < deadline { usleep(20_000) }
        let environment = ["SSH_AUTH_SOCK": socket, "PATH": "/usr/bin:/bin"]
        for name in ["other", "alice"] {
            let add = Process()
            add.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-add")
            add.arguments = ["-q", bench.keys[name]!.privatePath]
            add.environment = environment
            add.standardError = FileHandle.nullDevice
            try add.run()
            add.waitUntilExit()
            try #require(add.terminationStatus == 0)
        }
        // Only the agent holds the private key from here on.
        try FileManager.default.removeItem(atPath: bench.keys["alice"]!.privatePath)
        let file = try AllowedSigners(text: "alice@example.com \(bench.keys["alice"]!.publicText)\n", source: "allowed_signers")
        let found = try #require(
            try SSHSigner.find(
                explicitKey: nil, signers: file, accountName: "alice", environment: environment,
                home: bench.dir.path, now: Date()))
        let aliceKey = try bench.key("alice")
        #expect(found.principal == "alice@example.com" && found.publicKey == aliceKey && found.keyPath == nil)
        let signature = try SSHSignature(armored: try found.sign(Array("by the agent".utf8)))
        try signature.verify(message: Array("by the agent".utf8), namespace: "wpk-decision")
        #expect(signature.publicKey == aliceKey)
    }
}
