import Foundation
import Testing

/// `wpk sign`, `wpk verify`, and the signature on validate, plan and run, with keys and
/// signatures checked by the real `openssl`.
@Suite struct SignatureCommandTests {
    /// Runs a program and returns its exit status and output (standard error included).
    static func tool(_ program: String, _ arguments: [String]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self), standardError: "")
    }

    /// Whether openssl is installed; tests needing it skip locally and fail in CI without it.
    static func haveOpenSSL() -> Bool {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") { return true }
        print("openssl not found at /usr/bin/openssl; the signature command tests are skipped")
        #expect(ProcessInfo.processInfo.environment["CI"] == nil, "openssl must be installed in CI")
        return false
    }

    /// A private key made by openssl (mode 0600) and its public half.
    static func makeKey(_ algorithm: String, in directory: URL, name: String = "release") throws -> (privateKey: String, publicKey: String)
    {
        let privateKey = directory.appendingPathComponent("\(name).pem").path
        let publicKey = directory.appendingPathComponent("\(name).pub").path
        let generate =
            algorithm == "ed25519"
            ? ["genpkey", "-algorithm", "ed25519", "-out", privateKey]
            : ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", privateKey]
        #expect(try tool("/usr/bin/openssl", generate).status == 0)
        #expect(try tool("/usr/bin/openssl", ["pkey", "-in", privateKey, "-pubout", "-out", publicKey]).status == 0)
        chmod(privateKey, 0o600)
        return (privateKey, publicKey)
    }

    /// A valid playbook declaring its signature.
    static func playbook(named name: String, algorithm: String, in directory: URL) throws -> String {
        var text = try exampleText("scale-on-latency")
        text = text.replacingOccurrences(
            of: "  signature: {ref: scale-on-latency.wpk.yaml.sig, algorithm: ed25519}",
            with: "  signature: {ref: \(name).sig, algorithm: \(algorithm)}")
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// wpk started under a machine policy with this text (mounted at /etc/wpk; needs root).
    static func policy(_ text: String) throws -> WPKLaunch {
        WPKLaunch(policy: try TestPolicy(text))
    }

    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func whatWpkSignWritesVerifiesWithOpenSSLAndWpkVerify(algorithm: String) throws {
        guard Self.haveOpenSSL() else { return }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try Self.makeKey(algorithm, in: directory)
        let file = try Self.playbook(named: "a.wpk.yaml", algorithm: algorithm, in: directory)

        let signed = try runWPK(["sign", "--key", key.privateKey, file])
        #expect(signed.status == 0, "\(signed.standardError)")
        #expect(signed.standardOutput.contains("a.wpk.yaml.sig: \(algorithm) signature by key SHA256:"))
        #expect(signed.standardError.isEmpty, "\(signed.standardError)")

        // The signature file is base64; openssl checks the decoded signature.
        let encoded = try String(contentsOfFile: file + ".sig", encoding: .utf8)
        let raw = try #require(Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)))
        let rawPath = directory.appendingPathComponent("raw.sig").path
        try raw.write(to: URL(fileURLWithPath: rawPath))
        let opensslVerify =
            algorithm == "ed25519"
            ? try Self.tool(
                "/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", key.publicKey, "-rawin", "-in", file, "-sigfile", rawPath])
            : try Self.tool("/usr/bin/openssl", ["dgst", "-sha256", "-verify", key.publicKey, "-signature", rawPath, file])
        #expect(opensslVerify.status == 0, "\(opensslVerify.standardOutput)")
        #expect(
            opensslVerify.standardOutput.contains("Verified OK") || opensslVerify.standardOutput.contains("Signature Verified Successfully")
        )

        let verified = try runWPK(["verify", "--key", key.publicKey, file])
        #expect(verified.status == 0, "\(verified.standardOutput)\(verified.standardError)")
        #expect(verified.standardOutput.contains("info: signature verified: \(algorithm) key \"release\" (SHA256:"))
        #expect(verified.standardOutput.contains("[WPK501]"))

        // One byte changed: openssl and wpk both say no.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let version = try #require(bytes.firstRange(of: Data("version: 2.1.0".utf8)))
        bytes[version.upperBound - 1] = UInt8(ascii: "1")
        try bytes.write(to: URL(fileURLWithPath: file))
        let tampered = try runWPK(["verify", "--key", key.publicKey, file])
        #expect(tampered.status == 1)
        #expect(tampered.standardOutput.contains("error: the \(algorithm) signature in a.wpk.yaml.sig does not verify"))
        #expect(tampered.standardOutput.contains("[WPK508]"))
    }

    @Test func signRefusesAKeyOthersCanReadAndVerifySaysWhatIsWrongWithAKey() throws {
        guard Self.haveOpenSSL() else { return }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try Self.makeKey("ed25519", in: directory)
        let file = try Self.playbook(named: "a.wpk.yaml", algorithm: "ed25519", in: directory)
        chmod(key.privateKey, 0o644)
        let refused = try runWPK(["sign", "--key", key.privateKey, file])
        #expect(refused.status == 2)
        #expect(refused.standardError.contains("readable by group or others (mode 644)"), "\(refused.standardError)")
        #expect(!FileManager.default.fileExists(atPath: file + ".sig"))

        let publicAsPrivate = try runWPK(["sign", "--key", key.publicKey, file])
        #expect(publicAsPrivate.status == 2)
        let privateAsPublic = try runWPK(["verify", "--key", key.privateKey, file])
        #expect(privateAsPublic.status == 2)
        #expect(privateAsPublic.standardError.contains("private key"))
        #expect(try runWPK(["verify", "--key", directory.appendingPathComponent("none.pub").path, file]).status == 2)
        #expect(try runWPK(["verify"]).status == 2)

        // A key of the other algorithm: untrusted, not "bad".
        chmod(key.privateKey, 0o600)
        #expect(try runWPK(["sign", "--key", key.privateKey, file]).status == 0)
        let ec = try Self.makeKey("ecdsa-p256", in: directory, name: "ec")
        let otherAlgorithm = try runWPK(["verify", "--key", ec.publicKey, file])
        #expect(otherAlgorithm.status == 1)
        #expect(otherAlgorithm.standardOutput.contains("no ed25519 key is trusted") && otherAlgorithm.standardOutput.contains("[WPK509]"))

        for command in ["sign", "verify"] {
            let help = try runWPK([command, "--help"])
            #expect(help.status == 0)
            #expect(help.standardOutput.contains("Exit codes"))
        }
    }

    @Test(.enabled(if: canActAsRoot, needsRootComment)) func validateShowsTheExamplesVerifiedWhenTheExampleKeyIsTrusted() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let launch = try Self.policy("trusted_keys: \(packageRoot.appendingPathComponent("examples/keys").path)\n")
        let text = try runWPK(["validate", "examples/playbooks"], directory: packageRoot, launch: launch)
        #expect(text.status == 0, "\(text.standardOutput)\(text.standardError)")
        let verifiedLines = text.standardOutput.split(separator: "\n").filter {
            $0.contains("info: signature verified: ed25519 key \"wpk-example\" (SHA256:")
        }
        #expect(verifiedLines.count == 5, "\(text.standardOutput)")

        let json = try runWPK(["validate", "--format", "json", "examples/playbooks"], directory: packageRoot, launch: launch)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let files = try #require(object["files"] as? [[String: Any]])
        #expect(files.count == 5)
        for file in files {
            let diagnostics = try #require(file["diagnostics"] as? [[String: Any]])
            #expect(diagnostics.map { $0["code"] as? String } == ["WPK501"])
            #expect(diagnostics.first?["severity"] as? String == "info")
            #expect(diagnostics.first?["pointer"] as? String == "/metadata/signature/ref")
            #expect(file["valid"] as? Bool == true)
        }
        let sarif = try runWPK(["validate", "--format", "sarif", "examples/playbooks"], directory: packageRoot, launch: launch)
        #expect(sarif.standardOutput.contains("\"WPK501\""))
        #expect(sarif.standardOutput.contains("signature verified"))

        // Without trusted keys: said, not failed.
        let untrusted = try runWPK(["validate", "examples/playbooks"], directory: packageRoot, launch: try Self.policy("mode: manual\n"))
        #expect(untrusted.status == 0)
        #expect(
            untrusted.standardOutput.split(separator: "\n").filter { $0.contains("info: the ed25519 signature is not checked") }.count == 5)
    }

    @Test(.enabled(if: canActAsRoot, needsRootComment)) func aRequiringPolicyMakesEveryUnverifiedSignatureAnError() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let launch = try Self.policy(
            "trusted_keys: \(packageRoot.appendingPathComponent("examples/keys").path)\nrequire_signed_playbooks: true\n")
        try writeFiles(
            [
                "unsigned.wpk.yaml": try exampleText("scale-on-latency").replacingOccurrences(
                    of: "  signature: {ref: scale-on-latency.wpk.yaml.sig, algorithm: ed25519}\n", with: "")
            ], in: directory)
        try writeFiles(
            [
                "changed.wpk.yaml": try exampleText("scale-on-latency").replacingOccurrences(
                    of: "ref: scale-on-latency.wpk.yaml.sig", with: "ref: changed.wpk.yaml.sig")
            ], in: directory)
        try FileManager.default.copyItem(
            at: packageRoot.appendingPathComponent("examples/playbooks/scale-on-latency.wpk.yaml.sig"),
            to: directory.appendingPathComponent("changed.wpk.yaml.sig"))
        let result = try runWPK(
            [
                "validate", "unsigned.wpk.yaml", "changed.wpk.yaml",
                packageRoot.appendingPathComponent("examples/playbooks/backup-verify.wpk.yaml").path,
            ],
            directory: directory, launch: launch)
        #expect(result.status == 1)
        #expect(
            result.standardOutput.contains(
                "unsigned.wpk.yaml:5:3: error: the playbook is not signed, and this machine requires signed playbooks"),
            "\(result.standardOutput)")
        #expect(
            result.standardOutput.contains("changed.wpk.yaml:13:20: error: the ed25519 signature in changed.wpk.yaml.sig does not verify"))
        #expect(result.standardOutput.contains("backup-verify.wpk.yaml:14:20: info: signature verified"))
    }

    /// `algorithm: ssh`: signed by the real `ssh-keygen -Y sign -n file`, verified against the
    /// policy's allowed_signers by validate and verify.
    @Test(.enabled(if: canActAsRoot, needsRootComment)) func sshSignaturesVerifyAgainstThePolicysAllowedSigners() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen") else {
            print("ssh-keygen not found; the ssh signature test is skipped")
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "ssh-keygen must be installed in CI")
            return
        }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("alice").path
        #expect(try Self.tool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", key]).status == 0)
        let file = try Self.playbook(named: "a.wpk.yaml", algorithm: "ssh", in: directory)
        #expect(try Self.tool("/usr/bin/ssh-keygen", ["-Y", "sign", "-f", key, "-n", "file", file]).status == 0)
        let policy = try TestPolicy(
            "allowed_signers: /etc/wpk/allowed_signers\n",
            files: ["allowed_signers": "alice@example.com " + (try String(contentsOfFile: key + ".pub", encoding: .utf8))])
        let launch = WPKLaunch(policy: policy)
        let validate = try runWPK(["validate", file], launch: launch)
        #expect(validate.status == 0)
        #expect(
            validate.standardOutput.contains("info: signature verified: ssh key of \"alice@example.com\" (SHA256:"),
            "\(validate.standardOutput)")
        let verify = try runWPK(["verify", file], launch: launch)
        #expect(verify.status == 0, "\(verify.standardOutput)")
        // Another key, not listed: untrusted, and verify fails.
        #expect(
            try Self.tool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory.appendingPathComponent("mallory").path])
                .status == 0)
        try FileManager.default.removeItem(atPath: file + ".sig")
        #expect(
            try Self.tool(
                "/usr/bin/ssh-keygen", ["-Y", "sign", "-f", directory.appendingPathComponent("mallory").path, "-n", "file", file]
            ).status == 0)
        let untrusted = try runWPK(["verify", file], launch: launch)
        #expect(untrusted.status == 1)
        #expect(
            untrusted.standardOutput.contains("is not in /etc/wpk/allowed_signers") && untrusted.standardOutput.contains("[WPK509]"),
            "\(untrusted.standardOutput)")
    }

    @Test(.enabled(if: canActAsRoot, needsRootComment)) func planPrintsAndBindsTheSigner() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trusted = try Self.policy("trusted_keys: \(packageRoot.appendingPathComponent("examples/keys").path)\n")
        let arguments = ["plan", "--set", "replicas=12", "examples/playbooks/scale-on-latency.wpk.yaml"]
        let text = try runWPK(arguments, directory: packageRoot, launch: trusted)
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("Signature: verified, ed25519 key wpk-example\n      SHA256:"), "\(text.standardOutput)")
        #expect(text.standardError.isEmpty, "the header says it; standard error stays quiet: \(text.standardError)")
        let json = try runWPK(["plan", "--format", "json"] + arguments.dropFirst(), directory: packageRoot, launch: trusted)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let signature = try #require(object["signature"] as? [String: Any])
        #expect(signature["state"] as? String == "verified")
        #expect(signature["key"] as? String == "wpk-example")
        #expect((signature["fingerprint"] as? String)?.hasPrefix("SHA256:") == true)
        // The signer is part of the plan digest: the same file unverified plans to another digest.
        let unchecked = try runWPK(
            ["plan", "--format", "json"] + arguments.dropFirst(), directory: packageRoot, launch: try Self.policy("mode: manual\n"))
        let uncheckedObject = try #require(try JSONSerialization.jsonObject(with: Data(unchecked.standardOutput.utf8)) as? [String: Any])
        #expect((uncheckedObject["signature"] as? [String: Any])?["state"] as? String == "not-checked")
        #expect(object["plan_digest"] as? String != uncheckedObject["plan_digest"] as? String)
    }

    @Test(.enabled(if: canActAsRoot, needsRootComment)) func runRefusesAnUnverifiedPlaybookBeforeAnyStepWhenThePolicyRequiresSignatures()
        throws
    {
        guard Self.haveOpenSSL() else { return }
        // The trusted key's public half in the policy's trusted_keys (/etc/wpk/trusted-keys as
        // wpk sees it); the private half elsewhere.
        let keys = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        let signedKey = try Self.makeKey("ecdsa-p256", in: keys, name: "platform")
        let sandbox = try RunSandbox(policy: "mode: auto\ntrusted_keys: /etc/wpk/trusted-keys\nrequire_signed_playbooks: true\n")
        try sandbox.policy.write("trusted-keys/platform.pub", try String(contentsOfFile: signedKey.publicKey, encoding: .utf8))

        let unsigned = try sandbox.wpk(["run", "--set", "state_dir=\(sandbox.state)", RunSandbox.fixture("shell-steps")])
        // Refused as invalid before a run starts: no run id, no ledger record, no step.
        #expect(unsigned.status == 1)
        #expect(
            unsigned.standardOutput.contains(
                "shell-steps.wpk.yaml:5:3: error: the playbook is not signed, and this machine requires signed playbooks"),
            "\(unsigned.standardOutput)")
        #expect(unsigned.standardOutput.contains("[WPK503]"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.state).isEmpty, "a step ran")
        let records = FileManager.default.fileExists(atPath: sandbox.ledger) ? try sandbox.records() : []
        #expect(records.isEmpty)

        // The same playbook signed by the trusted key runs.
        let text = try String(contentsOfFile: RunSandbox.fixture("shell-steps"), encoding: .utf8)
            .replacingOccurrences(of: "metadata:\n", with: "metadata:\n  signature: {ref: signed.wpk.yaml.sig, algorithm: ecdsa-p256}\n")
        let signedPath = sandbox.root.appendingPathComponent("signed.wpk.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: signedPath))
        #expect(try runWPK(["sign", "--key", signedKey.privateKey, signedPath]).status == 0)
        let signed = try sandbox.wpk(["run", "--set", "state_dir=\(sandbox.state)", signedPath])
        #expect(signed.status == 0, "\(signed.standardOutput)\(signed.standardError)")

        // Changed after signing: refused again, nothing runs.
        try Data((text + "# changed\n").utf8).write(to: URL(fileURLWithPath: signedPath))
        try FileManager.default.removeItem(atPath: sandbox.state)
        try FileManager.default.createDirectory(atPath: sandbox.state, withIntermediateDirectories: true)
        let changed = try sandbox.wpk(["run", "--set", "state_dir=\(sandbox.state)", signedPath])
        #expect(changed.status == 1)
        #expect(changed.standardOutput.contains("[WPK508]"), "\(changed.standardOutput)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.state).isEmpty, "a step ran")
    }
}
