import Foundation
import Testing

@testable import WPKCore

/// A scratch directory with keys made by the real `openssl`, and playbooks signed by it.
final class SignatureLab {
    let root: URL
    /// The playbooks' directory (the keys live beside it, in `keys/`).
    let dir: URL

    /// Whether `openssl` is there; without it the tests skip locally and fail in CI.
    static let hasOpenSSL = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-sig-\(UUID().uuidString)")
        dir = root.appendingPathComponent("playbooks")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("keys"), withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// Runs a program; throws with its output when it fails.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], input: Data? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(input) }
        try inPipe.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LabError(
                "\(program) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))"
            )
        }
        return output
    }

    struct LabError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// `keys/NAME.pem` and `keys/NAME.pub` (`openssl pkey -pubout`), Ed25519 or P-256.
    @discardableResult
    func makeKey(_ name: String, _ algorithm: PlaybookSignatureAlgorithm) throws -> (privateKey: String, publicKey: String) {
        let privatePath = path("keys/\(name).pem")
        let publicPath = path("keys/\(name).pub")
        switch algorithm {
        case .ed25519: try Self.run("/usr/bin/openssl", ["genpkey", "-algorithm", "ed25519", "-out", privatePath])
        default:
            try Self.run("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", privatePath])
        }
        try Self.run("/usr/bin/openssl", ["pkey", "-in", privatePath, "-pubout", "-out", publicPath])
        return (privatePath, publicPath)
    }

    /// A playbook declaring `ref` and `algorithm`, written to `playbooks/NAME`.
    @discardableResult
    func writePlaybook(_ name: String, ref: String? = nil, algorithm: String = "ed25519", body: String = "") throws -> String {
        var text = "apiVersion: wpk/v1\nkind: WorkflowPackage\nmetadata:\n  name: demo\n"
        if let ref { text += "  signature:\n    ref: \(ref)\n    algorithm: \(algorithm)\n" }
        text += "spec: {}\n" + body
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Signs a file with openssl as the issue's users would: `pkeyutl -sign -rawin` (raw 64
    /// bytes, or base64 of them) for Ed25519, `dgst -sha256 -sign | base64` for P-256.
    func opensslSign(_ file: String, key: String, algorithm: PlaybookSignatureAlgorithm, to signature: String, base64: Bool = false) throws
    {
        switch algorithm {
        case .ed25519:
            let raw = try Self.run("/usr/bin/openssl", ["pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", file])
            try (base64 ? Data((raw.base64EncodedString() + "\n").utf8) : raw).write(to: URL(fileURLWithPath: signature))
        default:
            let encoded = try Self.run("/bin/sh", ["-c", "openssl dgst -sha256 -sign \"$1\" \"$2\" | base64", "sh", key, file])
            try encoded.write(to: URL(fileURLWithPath: signature))
        }
    }

    /// Trust in the public keys named (from `keys/`).
    func trust(_ names: [String], required: Bool = false) throws -> PlaybookSignatureTrust {
        let keys = try names.map { try PEMPublicKey(pem: String(contentsOfFile: path("keys/\($0).pub"), encoding: .utf8), name: $0) }
        return PlaybookSignatureTrust(keys: keys, keySource: path("keys"), required: required)
    }

    /// The signature check of a playbook file as validate does it.
    func check(_ playbook: String, trust: PlaybookSignatureTrust) throws -> PlaybookSignatureCheck {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: playbook)))
        return PlaybookSignatureVerifier.check(bytes: bytes, path: playbook, root: try YAMLLoader.load(bytes).root, trust: trust)
    }
}

/// A test that needs openssl: skipped locally with a printed reason, failed in CI.
func requireOpenSSL() -> Bool {
    if SignatureLab.hasOpenSSL { return true }
    print("openssl not found at /usr/bin/openssl; signature tests against it are skipped")
    #expect(ProcessInfo.processInfo.environment["CI"] == nil, "openssl must be installed in CI")
    return false
}

@Suite struct PlaybookSignatureTests {
    @Test(arguments: [(PlaybookSignatureAlgorithm.ed25519, false), (.ed25519, true), (.ecdsaP256, true)])
    func opensslSignaturesVerify(algorithm: PlaybookSignatureAlgorithm, base64: Bool) throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        let key = try lab.makeKey("release", algorithm)
        let playbook = try lab.writePlaybook("a.wpk.yaml", ref: "a.wpk.yaml.sig", algorithm: algorithm.rawValue)
        try lab.opensslSign(playbook, key: key.privateKey, algorithm: algorithm, to: playbook + ".sig", base64: base64)
        let check = try lab.check(playbook, trust: lab.trust(["release"]))
        #expect(check.state == .verified, "\(check.message)")
        #expect(check.code == .verified)
        #expect(check.keyName == "release")
        // The fingerprint is the one ssh-keygen prints for the same key (OpenSSH 9.2 converts
        // only P-256 PEM keys; an Ed25519 key's OpenSSH line is its 32 bytes from openssl, framed).
        let sshKey: Data
        if algorithm == .ed25519 {
            let der = try SignatureLab.run("/usr/bin/openssl", ["pkey", "-pubin", "-in", key.publicKey, "-outform", "DER"])
            let blob: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32] + Array(der.suffix(32))
            sshKey = Data(("ssh-ed25519 " + Data(blob).base64EncodedString() + "\n").utf8)
        } else {
            sshKey = try SignatureLab.run("/usr/bin/ssh-keygen", ["-i", "-m", "PKCS8", "-f", key.publicKey])
        }
        let listed = String(decoding: try SignatureLab.run("/usr/bin/ssh-keygen", ["-l", "-f", "-"], input: sshKey), as: UTF8.self)
        #expect(listed.split(separator: " ").dropFirst().first.map(String.init) == check.fingerprint, "\(listed)")
        #expect(check.diagnostic?.severity == .info)
        #expect(check.message.contains("\"release\"") && check.message.contains(check.fingerprint ?? "?"))
    }

    @Test func opensslRawDERForP256AlsoVerifies() throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        let key = try lab.makeKey("ec", .ecdsaP256)
        let playbook = try lab.writePlaybook("a.wpk.yaml", ref: "a.sig", algorithm: "ecdsa-p256")
        try SignatureLab.run(
            "/usr/bin/openssl",
            ["dgst", "-sha256", "-sign", key.privateKey, "-out", lab.dir.appendingPathComponent("a.sig").path, playbook])
        #expect(try lab.check(playbook, trust: lab.trust(["ec"])).state == .verified)
    }

    /// Each way a signature can be wrong gives its own code and says what happened.
    @Test func everyFailureHasItsOwnDiagnostic() throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        let ed = try lab.makeKey("release", .ed25519)
        try lab.makeKey("other", .ed25519)
        let ec = try lab.makeKey("ec", .ecdsaP256)
        let trusted = try lab.trust(["release"])

        // One byte changed after signing.
        let changed = try lab.writePlaybook("changed.wpk.yaml", ref: "changed.wpk.yaml.sig")
        try lab.opensslSign(changed, key: ed.privateKey, algorithm: .ed25519, to: changed + ".sig")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: changed))
        let name = bytes.firstRange(of: Data("demo".utf8))!.lowerBound
        bytes[name + 2] ^= 0x03  // demo -> deno: still valid YAML, one byte different
        try bytes.write(to: URL(fileURLWithPath: changed))
        let changedCheck = try lab.check(changed, trust: trusted)
        #expect(changedCheck.code == .bad && changedCheck.message.contains("changed after it was signed"), "\(changedCheck.message)")

        // The signature of another file.
        let other = try lab.writePlaybook("other.wpk.yaml", ref: "elsewhere.sig", body: "# another file\n")
        let elsewhere = try lab.writePlaybook("elsewhere.wpk.yaml")
        try lab.opensslSign(elsewhere, key: ed.privateKey, algorithm: .ed25519, to: lab.dir.appendingPathComponent("elsewhere.sig").path)
        #expect(try lab.check(other, trust: trusted).code == .bad)

        // A truncated signature: raw, base64, and base64 DER.
        let truncated = try lab.writePlaybook("truncated.wpk.yaml", ref: "truncated.sig")
        try lab.opensslSign(truncated, key: ed.privateKey, algorithm: .ed25519, to: lab.dir.appendingPathComponent("truncated.sig").path)
        let whole = try Data(contentsOf: lab.dir.appendingPathComponent("truncated.sig"))
        try whole.prefix(40).write(to: lab.dir.appendingPathComponent("truncated.sig"))
        let truncatedCheck = try lab.check(truncated, trust: trusted)
        #expect(truncatedCheck.code == .malformed && truncatedCheck.message.contains("64 bytes"), "\(truncatedCheck.message)")
        let truncatedEC = try lab.writePlaybook("truncated-ec.wpk.yaml", ref: "truncated-ec.sig", algorithm: "ecdsa-p256")
        try lab.opensslSign(
            truncatedEC, key: ec.privateKey, algorithm: .ecdsaP256, to: lab.dir.appendingPathComponent("truncated-ec.sig").path)
        let encoded = try String(contentsOf: lab.dir.appendingPathComponent("truncated-ec.sig"), encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        try Data(encoded.prefix(encoded.count - 8).utf8).write(to: lab.dir.appendingPathComponent("truncated-ec.sig"))
        #expect(try lab.check(truncatedEC, trust: lab.trust(["ec"])).code == .malformed)

        // Signed by a key this machine does not trust (another Ed25519 key).
        let wrongKey = try lab.writePlaybook("wrong-key.wpk.yaml", ref: "wrong-key.wpk.yaml.sig")
        try lab.opensslSign(wrongKey, key: lab.path("keys/other.pem"), algorithm: .ed25519, to: wrongKey + ".sig")
        let wrongKeyCheck = try lab.check(wrongKey, trust: trusted)
        #expect(wrongKeyCheck.code == .bad && wrongKeyCheck.message.contains("\"release\""), "\(wrongKeyCheck.message)")
        #expect(try lab.check(wrongKey, trust: lab.trust(["release", "other"])).keyName == "other")

        // Only a key of the other algorithm is trusted.
        let otherAlgorithm = try lab.check(wrongKey, trust: lab.trust(["ec"]))
        #expect(otherAlgorithm.code == .untrustedKey && otherAlgorithm.message.contains("ec (ecdsa-p256)"), "\(otherAlgorithm.message)")
        // A P-256 signature declared as ed25519.
        let mislabelled = try lab.writePlaybook("mislabelled.wpk.yaml", ref: "mislabelled.sig", algorithm: "ed25519")
        try lab.opensslSign(
            mislabelled, key: ec.privateKey, algorithm: .ecdsaP256, to: lab.dir.appendingPathComponent("mislabelled.sig").path)
        let mislabelledCheck = try lab.check(mislabelled, trust: lab.trust(["release", "ec"]))
        #expect(mislabelledCheck.code == .malformed && mislabelledCheck.message.contains("ecdsa-p256?"), "\(mislabelledCheck.message)")
    }

    @Test func hostileSignatureFilesNeverHangOrExhaustMemory() throws {
        let lab = try SignatureLab()
        let trust = PlaybookSignatureTrust()
        // A FIFO nobody writes to: opening must not wait for a writer.
        let fifo = try lab.writePlaybook("fifo.wpk.yaml", ref: "fifo.sig")
        #expect(mkfifo(lab.dir.appendingPathComponent("fifo.sig").path, 0o644) == 0)
        let started = Date()
        let fifoCheck = try lab.check(fifo, trust: trust)
        #expect(fifoCheck.code == .unreadable && fifoCheck.message.contains("FIFO"), "\(fifoCheck.message)")
        #expect(Date().timeIntervalSince(started) < 5)

        // A 100 MB signature file (sparse): refused by its size, not read.
        let huge = try lab.writePlaybook("huge.wpk.yaml", ref: "huge.sig")
        #expect(FileManager.default.createFile(atPath: lab.dir.appendingPathComponent("huge.sig").path, contents: nil))
        #expect(truncate(lab.dir.appendingPathComponent("huge.sig").path, 100 * 1024 * 1024) == 0)
        let hugeCheck = try lab.check(huge, trust: trust)
        #expect(
            hugeCheck.code == .unreadable && hugeCheck.message.contains("104857600 bytes, more than the limit of 65536"),
            "\(hugeCheck.message)")

        // A symbolic link leaving the playbook's directory, and one staying inside.
        try Data("secret\n".utf8).write(to: lab.root.appendingPathComponent("outside.sig"))
        let link = try lab.writePlaybook("link.wpk.yaml", ref: "link.sig")
        try FileManager.default.createSymbolicLink(
            atPath: lab.dir.appendingPathComponent("link.sig").path, withDestinationPath: "../outside.sig")
        let linkCheck = try lab.check(link, trust: trust)
        #expect(
            linkCheck.code == .refusedReference && linkCheck.message.contains("leaves the playbook's directory"), "\(linkCheck.message)")
        try FileManager.default.createDirectory(at: lab.dir.appendingPathComponent("sigs"), withIntermediateDirectories: true)
        try Data(repeating: 7, count: 64).write(to: lab.dir.appendingPathComponent("sigs/inside.sig"))
        try FileManager.default.createSymbolicLink(
            atPath: lab.dir.appendingPathComponent("inside.sig").path, withDestinationPath: "sigs/inside.sig")
        let inside = try lab.writePlaybook("inside.wpk.yaml", ref: "inside.sig")
        #expect(try lab.check(inside, trust: trust).code == .notChecked)

        // Refs that are not files next to the playbook.
        for ref in ["/etc/passwd", "https://example.com/a.sig", "../outside.sig", "sub/../../outside.sig", "../missing.sig"] {
            let playbook = try lab.writePlaybook("ref.wpk.yaml", ref: "\"\(ref)\"")
            let check = try lab.check(playbook, trust: trust)
            #expect(check.code == .refusedReference, "\(ref): \(check.message)")
        }
        let missing = try lab.writePlaybook("missing.wpk.yaml", ref: "missing.sig")
        #expect(try lab.check(missing, trust: trust).code == .missing)
        // A directory where the signature should be.
        try FileManager.default.createDirectory(at: lab.dir.appendingPathComponent("dir.sig"), withIntermediateDirectories: true)
        let directory = try lab.writePlaybook("dir.wpk.yaml", ref: "dir.sig")
        #expect(try lab.check(directory, trust: trust).code == .unreadable)
        // Standard input has no directory.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: missing)))
        #expect(
            PlaybookSignatureVerifier.check(bytes: bytes, path: "-", root: try YAMLLoader.load(bytes).root, trust: trust).code
                == .refusedReference)
    }

    @Test func stateAndSeverityFollowThePolicy() throws {
        let lab = try SignatureLab()
        let unsigned = try lab.writePlaybook("unsigned.wpk.yaml")
        #expect(try lab.check(unsigned, trust: PlaybookSignatureTrust()).diagnostic == nil)
        let unsignedRequired = try lab.check(unsigned, trust: PlaybookSignatureTrust(required: true))
        #expect(unsignedRequired.code == .unsigned && unsignedRequired.diagnostic?.severity == .error && !unsignedRequired.permitsRun)

        let sigstore = try lab.writePlaybook("sigstore.wpk.yaml", ref: "bundle.json", algorithm: "sigstore")
        let notChecked = try lab.check(sigstore, trust: PlaybookSignatureTrust())
        #expect(notChecked.code == .notChecked && notChecked.diagnostic?.severity == .info && notChecked.message.contains("sigstore"))
        #expect(try lab.check(sigstore, trust: PlaybookSignatureTrust(required: true)).diagnostic?.severity == .error)

        let unknown = try lab.writePlaybook("unknown.wpk.yaml", ref: "x.sig", algorithm: "rsa-pss")
        let unknownCheck = try lab.check(unknown, trust: PlaybookSignatureTrust())
        #expect(unknownCheck.code == .unsupportedAlgorithm && unknownCheck.pointer == "/metadata/signature/algorithm")
        #expect(unknownCheck.diagnostic?.severity == .warning)
        #expect(try lab.check(unknown, trust: PlaybookSignatureTrust(required: true)).diagnostic?.severity == .error)

        // A well-formed signature on a machine that trusts no key: said, not failed.
        let unchecked = try lab.writePlaybook("unchecked.wpk.yaml", ref: "unchecked.sig")
        try Data(repeating: 1, count: 64).write(to: lab.dir.appendingPathComponent("unchecked.sig"))
        let noTrust = try lab.check(unchecked, trust: PlaybookSignatureTrust())
        #expect(noTrust.code == .notChecked && noTrust.message.contains("trusts no signing keys"), "\(noTrust.message)")
        let unsafe = try lab.check(
            unchecked,
            trust: PlaybookSignatureTrust(policyStatus: .unsafe(path: "/etc/wpk/policy.yaml", reason: "it is writable by others")))
        #expect(unsafe.code == .notChecked && unsafe.message.contains("writable by others"))
    }

    @Test func theCheckerReportsTheSignatureBesideTheOtherDiagnostics() throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        let key = try lab.makeKey("release", .ed25519)
        let playbook = try lab.writePlaybook("a.wpk.yaml", ref: "a.wpk.yaml.sig")
        try lab.opensslSign(playbook, key: key.privateKey, algorithm: .ed25519, to: playbook + ".sig")
        var checker = playbookChecker
        checker.signatures = try lab.trust(["release"], required: true)
        let report = checker.check(.file(playbook))
        #expect(report.signature?.state == .verified)
        #expect(report.diagnostics.contains { $0.code == "WPK501" && $0.severity == .info && $0.pointer == "/metadata/signature/ref" })
        // The schema-only checker never looks at signatures.
        checker.appliesRules = false
        #expect(checker.check(.file(playbook)).signature == nil)
    }

    @Test func trustedKeysComeFromTheDirectoryByName() throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        try lab.makeKey("release", .ed25519)
        try lab.makeKey("ec", .ecdsaP256)
        // The private halves are in the same directory under .pem: ignored, not trusted.
        try FileManager.default.copyItem(atPath: lab.path("keys/release.pem"), toPath: lab.path("keys/oops.pub"))
        let trust = PlaybookSignatureTrust(policy: MachinePolicy(trustedKeys: lab.path("keys"), requireSignedPlaybooks: true))
        #expect(trust.keys.map(\.name) == ["ec", "release"])
        #expect(trust.keys.map(\.algorithm) == [.ecdsaP256, .ed25519])
        #expect(trust.required)
        #expect(trust.keyProblems.count == 1 && trust.keyProblems[0].contains("oops.pub") && trust.keyProblems[0].contains("private key"))
        let missing = PlaybookSignatureTrust(policy: MachinePolicy(trustedKeys: lab.path("nowhere")))
        #expect(missing.keys.isEmpty && missing.keyProblems.first?.contains("cannot be read") == true)
    }

    @Test func pemKeysThatAreNotUsableSayWhy() throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        try SignatureLab.run(
            "/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", lab.path("keys/rsa.pem")])
        try SignatureLab.run("/usr/bin/openssl", ["pkey", "-in", lab.path("keys/rsa.pem"), "-pubout", "-out", lab.path("keys/rsa.pub")])
        let rsa = try String(contentsOfFile: lab.path("keys/rsa.pub"), encoding: .utf8)
        do {
            _ = try PEMPublicKey(pem: rsa, name: "rsa")
            Issue.record("accepted an RSA key")
        } catch {
            #expect(error.message.contains("RSA"))
        }
        do {
            _ = try PEMPrivateKey(pem: "not a key")
            Issue.record("accepted text that is not PEM")
        } catch {
            #expect(error.message.contains("not PEM"))
        }
    }

    /// What `wpk sign` writes (base64) verifies here, for both key types, and a signature
    /// file of the key's own making is refused by the other algorithm.
    @Test(arguments: [PlaybookSignatureAlgorithm.ed25519, .ecdsaP256])
    func signedFilesRoundTrip(algorithm: PlaybookSignatureAlgorithm) throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        let key = try lab.makeKey("k", algorithm)
        let signer = try PEMPrivateKey(pem: String(contentsOfFile: key.privateKey, encoding: .utf8))
        #expect(signer.algorithm == algorithm)
        let playbook = try lab.writePlaybook("a.wpk.yaml", ref: "a.wpk.yaml.sig", algorithm: algorithm.rawValue)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: playbook)))
        try Data(try signer.signatureFile(for: bytes)).write(to: URL(fileURLWithPath: playbook + ".sig"))
        let check = try lab.check(playbook, trust: lab.trust(["k"]))
        #expect(check.state == .verified && check.fingerprint == signer.publicKey.fingerprint)
    }
}

/// `algorithm: ssh`: signatures made by the real `ssh-keygen -Y sign -n file`, checked against an
/// `allowed_signers` text as `ssh-keygen -Y verify` would.
@Suite struct SSHPlaybookSignatureTests {
    static let hasSSHKeygen = FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen")

    static func requireSSHKeygen() -> Bool {
        if hasSSHKeygen { return true }
        print("ssh-keygen not found at /usr/bin/ssh-keygen; ssh signature tests are skipped")
        #expect(ProcessInfo.processInfo.environment["CI"] == nil, "ssh-keygen must be installed in CI")
        return false
    }

    /// An OpenSSH key pair `keys/NAME` (and `.pub`), made by ssh-keygen.
    static func makeKey(_ lab: SignatureLab, _ name: String, type: String = "ed25519") throws -> String {
        let path = lab.path("keys/\(name)")
        try SignatureLab.run("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-C", name, "-f", path])
        return path
    }

    static func sign(_ file: String, key: String, namespace: String = "file") throws {
        try SignatureLab.run("/usr/bin/ssh-keygen", ["-Y", "sign", "-f", key, "-n", namespace, file])
    }

    static func trust(_ lines: String) throws -> PlaybookSignatureTrust {
        PlaybookSignatureTrust(allowedSigners: .success(try AllowedSigners(text: lines, source: "/etc/wpk/allowed_signers")))
    }

    @Test(arguments: ["ed25519", "ecdsa"]) func sshKeygenSignaturesVerifyForTheListedPrincipal(type: String) throws {
        guard Self.requireSSHKeygen() else { return }
        let lab = try SignatureLab()
        let key = try Self.makeKey(lab, "alice", type: type)
        let playbook = try lab.writePlaybook("a.wpk.yaml", ref: "a.wpk.yaml.sig", algorithm: "ssh")
        try Self.sign(playbook, key: key)
        let publicKey = try String(contentsOfFile: key + ".pub", encoding: .utf8)
        let check = try lab.check(playbook, trust: Self.trust("alice@example.com namespaces=\"file\" \(publicKey)"))
        #expect(check.state == .verified, "\(check.message)")
        #expect(check.keyName == "alice@example.com")
        let listed = String(decoding: try SignatureLab.run("/usr/bin/ssh-keygen", ["-l", "-f", key + ".pub"]), as: UTF8.self)
        #expect(listed.split(separator: " ").dropFirst().first.map(String.init) == check.fingerprint)
        // ssh-keygen agrees with the file as it is.
        try Data("alice@example.com namespaces=\"file\" \(publicKey)".utf8).write(to: URL(fileURLWithPath: lab.path("allowed")))
        try SignatureLab.run(
            "/bin/sh",
            [
                "-c", "ssh-keygen -Y verify -f \"$1\" -I alice@example.com -n file -s \"$2.sig\" < \"$2\"", "sh", lab.path("allowed"),
                playbook,
            ])
    }

    @Test func everySSHFailureHasItsOwnDiagnostic() throws {
        guard Self.requireSSHKeygen() else { return }
        let lab = try SignatureLab()
        let alice = try Self.makeKey(lab, "alice")
        let mallory = try Self.makeKey(lab, "mallory")
        let aliceLine = "alice@example.com " + (try String(contentsOfFile: alice + ".pub", encoding: .utf8))
        let trust = try Self.trust(aliceLine)

        let changed = try lab.writePlaybook("changed.wpk.yaml", ref: "changed.wpk.yaml.sig", algorithm: "ssh")
        try Self.sign(changed, key: alice)
        try Data((try String(contentsOfFile: changed, encoding: .utf8) + "# one more line\n").utf8).write(to: URL(fileURLWithPath: changed))
        let changedCheck = try lab.check(changed, trust: trust)
        #expect(changedCheck.code == .bad && changedCheck.message.contains("changed after it was signed"), "\(changedCheck.message)")

        let otherNamespace = try lab.writePlaybook("ns.wpk.yaml", ref: "ns.wpk.yaml.sig", algorithm: "ssh")
        try Self.sign(otherNamespace, key: alice, namespace: "git")
        let namespaceCheck = try lab.check(otherNamespace, trust: trust)
        #expect(namespaceCheck.code == .bad && namespaceCheck.message.contains("namespace \"git\""), "\(namespaceCheck.message)")

        let untrusted = try lab.writePlaybook("mallory.wpk.yaml", ref: "mallory.wpk.yaml.sig", algorithm: "ssh")
        try Self.sign(untrusted, key: mallory)
        let untrustedCheck = try lab.check(untrusted, trust: trust)
        #expect(
            untrustedCheck.code == .untrustedKey && untrustedCheck.message.contains("is not in /etc/wpk/allowed_signers"),
            "\(untrustedCheck.message)")
        // Listed, but only for another namespace.
        let gitOnly = try Self.trust(
            "alice@example.com namespaces=\"git\" " + (try String(contentsOfFile: alice + ".pub", encoding: .utf8)))
        try FileManager.default.removeItem(atPath: changed + ".sig")
        try Self.sign(changed, key: alice)
        #expect(try lab.check(changed, trust: trust).code == .verified)
        #expect(try lab.check(changed, trust: gitOnly).code == .untrustedKey)
        // No allowed_signers on this machine: the signature is checked, the signer is not.
        let notChecked = try lab.check(changed, trust: PlaybookSignatureTrust())
        #expect(notChecked.code == .notChecked && notChecked.message.contains("no allowed_signers"), "\(notChecked.message)")

        let truncated = try lab.writePlaybook("truncated.wpk.yaml", ref: "truncated.wpk.yaml.sig", algorithm: "ssh")
        try Self.sign(truncated, key: alice)
        let armored = try String(contentsOfFile: truncated + ".sig", encoding: .utf8)
        try Data(armored.prefix(armored.count / 2).utf8).write(to: URL(fileURLWithPath: truncated + ".sig"))
        #expect(try lab.check(truncated, trust: trust).code == .malformed)

        // An ssh signature declared as ed25519, and a raw signature declared as ssh.
        let mixed = try lab.writePlaybook("mixed.wpk.yaml", ref: "changed.wpk.yaml.sig", algorithm: "ed25519")
        let mixedCheck = try lab.check(mixed, trust: trust)
        #expect(mixedCheck.code == .malformed && mixedCheck.message.contains("algorithm: ssh?"), "\(mixedCheck.message)")
        try Data(repeating: 1, count: 64).write(to: lab.dir.appendingPathComponent("raw.sig"))
        let raw = try lab.writePlaybook("raw.wpk.yaml", ref: "raw.sig", algorithm: "ssh")
        #expect(try lab.check(raw, trust: trust).code == .malformed)
    }
}

/// Verdicts kept in memory, to see what the verifier remembers and asks.
final class MemoryVerdicts: MetaschemaVerdicts, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: Set<String> = []
    var count: Int { lock.withLock { keys.count } }
    func passed(_ key: String) -> Bool { lock.withLock { keys.contains(key) } }
    func recordPass(_ key: String) { _ = lock.withLock { keys.insert(key) } }
}

@Suite struct RememberedSignatureVerdictTests {
    /// A remembered verdict names the file's bytes, the signature and the key: any change to
    /// one of them is verified afresh.
    @Test func aVerdictIsRememberedForTheExactFileSignatureAndKey() throws {
        guard requireOpenSSL() else { return }
        let lab = try SignatureLab()
        let key = try lab.makeKey("release", .ed25519)
        let playbook = try lab.writePlaybook("a.wpk.yaml", ref: "a.wpk.yaml.sig")
        try lab.opensslSign(playbook, key: key.privateKey, algorithm: .ed25519, to: playbook + ".sig")
        var trust = try lab.trust(["release"])
        let verdicts = MemoryVerdicts()
        trust.rememberedVerdicts = verdicts
        #expect(try lab.check(playbook, trust: trust).state == .verified)
        #expect(verdicts.count == 1)
        #expect(try lab.check(playbook, trust: trust).state == .verified)
        #expect(verdicts.count == 1)
        // Changed after signing: the remembered verdict does not apply.
        try Data((try String(contentsOfFile: playbook, encoding: .utf8) + "# changed\n").utf8).write(to: URL(fileURLWithPath: playbook))
        #expect(try lab.check(playbook, trust: trust).code == .bad)
        #expect(verdicts.count == 1)
    }
}
