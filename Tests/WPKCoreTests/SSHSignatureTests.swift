import Crypto
import Foundation
import Testing

@testable import WPKCore

@Suite("SSHSIG against ssh-keygen")
struct SSHSignatureCrossCheckTests {
    static let keyTypes = ["ed25519", "ecdsa", "rsa"]

    @Test("fingerprints are exactly what ssh-keygen -l prints", arguments: keyTypes)
    func fingerprints(type: String) throws {
        guard requireSSHKeygen() else { return }
        let dir = TemporaryDirectory()
        let key = try SSHKeygen.makeKey(type, named: "k", in: dir)
        let printed = try SSHKeygen.run(["-l", "-E", "sha256", "-f", key.privatePath + ".pub"]).output
        let expected = printed.split(separator: " ")[1]
        let parsed = try SSHPublicKey(openSSH: key.publicText)
        #expect(parsed.fingerprint == String(expected))
        #expect(parsed.openSSH == key.publicText.split(separator: " ").prefix(2).joined(separator: " "))
    }

    /// One verification question, asked of Swift and of `ssh-keygen -Y verify`.
    struct Case: CustomStringConvertible {
        var name: String
        var allowedSigners: String
        var principal = "alice@example.com"
        var namespace = "wpk-decision"
        var tamper = false
        var expectAccepted: Bool
        var expectedCode: String?
        var description: String { name }
    }

    static func cases(aliceKey: String, otherKey: String) -> [Case] {
        [
            Case(name: "listed signer", allowedSigners: "alice@example.com \(aliceKey)\n", expectAccepted: true),
            Case(
                name: "tampered payload", allowedSigners: "alice@example.com \(aliceKey)\n", tamper: true,
                expectAccepted: false, expectedCode: "invalid_signature"),
            Case(
                name: "wrong namespace", allowedSigners: "alice@example.com \(aliceKey)\n", namespace: "file",
                expectAccepted: false, expectedCode: "wrong_namespace"),
            Case(
                name: "unknown key", allowedSigners: "alice@example.com \(otherKey)\n",
                expectAccepted: false, expectedCode: "unknown_key"),
            Case(
                name: "principal not listed", allowedSigners: "bob@example.com \(aliceKey)\n",
                expectAccepted: false, expectedCode: "principal_not_listed"),
            Case(
                name: "expired signer", allowedSigners: "alice@example.com valid-before=\"20200101Z\" \(aliceKey)\n",
                expectAccepted: false, expectedCode: "expired_signer"),
            Case(
                name: "not yet valid", allowedSigners: "alice@example.com valid-after=\"20990101\" \(aliceKey)\n",
                expectAccepted: false, expectedCode: "not_yet_valid"),
            Case(
                name: "valid window",
                allowedSigners: "alice@example.com valid-after=\"20200101\",valid-before=\"209901011200Z\" \(aliceKey)\n",
                expectAccepted: true),
            Case(
                name: "namespace allowed by pattern", allowedSigners: "alice@example.com namespaces=\"file,wpk-*\" \(aliceKey)\n",
                expectAccepted: true),
            Case(
                name: "namespace not allowed", allowedSigners: "alice@example.com namespaces=\"file,git\" \(aliceKey)\n",
                expectAccepted: false, expectedCode: "namespace_not_allowed"),
            Case(name: "wildcard principal", allowedSigners: "*@example.com \(aliceKey)\n", expectAccepted: true),
            Case(
                name: "negated principal", allowedSigners: "*@example.com,!alice@* \(aliceKey)\n",
                expectAccepted: false, expectedCode: "principal_not_listed"),
            Case(
                name: "principal in a list, quoted", allowedSigners: "\"bob@example.com,alice@example.com\" \(aliceKey)\n",
                expectAccepted: true),
            Case(
                name: "second line matches after an expired one",
                allowedSigners:
                    "# team\n\nalice@example.com valid-before=\"20200101Z\" \(aliceKey)\nalice@example.com \(aliceKey) renewed\n",
                expectAccepted: true),
            Case(
                name: "cert-authority line does not list a plain key", allowedSigners: "alice@example.com cert-authority \(aliceKey)\n",
                expectAccepted: false, expectedCode: "principal_not_listed"),
        ]
    }

    @Test("verdicts agree with ssh-keygen -Y verify", arguments: keyTypes)
    func verdictsAgree(type: String) throws {
        guard requireSSHKeygen() else { return }
        let dir = TemporaryDirectory()
        let alice = try SSHKeygen.makeKey(type, named: "alice", in: dir)
        let other = try SSHKeygen.makeKey(type, named: "other", in: dir)
        let message = Array(#"{"seq":3,"type":"approved","step":"migrate"}"#.utf8)
        let messagePath = dir.file("message")
        try Data(message).write(to: URL(fileURLWithPath: messagePath))
        let signed = try SSHKeygen.run(["-Y", "sign", "-q", "-n", "wpk-decision", "-f", alice.privatePath, messagePath])
        try #require(signed.status == 0, "ssh-keygen -Y sign: \(signed.errors)")
        let armored = try String(contentsOfFile: messagePath + ".sig", encoding: .utf8)
        let signature = try SSHSignature(armored: armored)
        #expect(signature.namespace == "wpk-decision")
        #expect(signature.hashAlgorithm == .sha512)  // ssh-keygen's default
        #expect(signature.publicKey == (try SSHPublicKey(openSSH: alice.publicText)))

        for testCase in Self.cases(aliceKey: alice.publicText, otherKey: other.publicText) {
            let signersPath = dir.file("allowed_signers")
            try Data(testCase.allowedSigners.utf8).write(to: URL(fileURLWithPath: signersPath))
            let payload = testCase.tamper ? message + Array(" ".utf8) : message
            let peer = try SSHKeygen.run(
                [
                    "-Y", "verify", "-f", signersPath, "-I", testCase.principal, "-n", testCase.namespace,
                    "-s", messagePath + ".sig",
                ], input: payload)
            var swiftError: SSHSignatureError?
            do {
                let signers = try AllowedSigners(text: testCase.allowedSigners, source: signersPath)
                try signature.verify(message: payload, namespace: testCase.namespace)
                if case .failure(let refusal) = signers.authorize(
                    principal: testCase.principal, key: signature.publicKey,
                    namespace: testCase.namespace, at: Date())
                {
                    swiftError = refusal
                }
            } catch {
                swiftError = error
            }
            #expect((peer.status == 0) == testCase.expectAccepted, "\(type) \(testCase): ssh-keygen said \(peer.status) \(peer.errors)")
            #expect((swiftError == nil) == testCase.expectAccepted, "\(type) \(testCase): Swift said \(String(describing: swiftError))")
            #expect(swiftError?.code == testCase.expectedCode, "\(type) \(testCase)")
        }
    }

    @Test("ssh-keygen -Y sign with sha256 verifies too", arguments: keyTypes)
    func sha256Signatures(type: String) throws {
        guard requireSSHKeygen() else { return }
        let dir = TemporaryDirectory()
        let key = try SSHKeygen.makeKey(type, named: "k", in: dir)
        let messagePath = dir.file("m")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: messagePath))
        let signed = try SSHKeygen.run([
            "-Y", "sign", "-q", "-n", "wpk-decision", "-O", "hashalg=sha256", "-f", key.privatePath, messagePath,
        ])
        try #require(signed.status == 0, "\(signed.errors)")
        let signature = try SSHSignature(armored: String(contentsOfFile: messagePath + ".sig", encoding: .utf8))
        #expect(signature.hashAlgorithm == .sha256)
        try signature.verify(message: Array("hello".utf8), namespace: "wpk-decision")
        #expect(throws: SSHSignatureError.invalidSignature) {
            try signature.verify(message: Array("hellO".utf8), namespace: "wpk-decision")
        }
    }

    /// Signatures assembled in Swift from swift-crypto keys, so the signed-data construction is
    /// checked by ssh-keygen (the other direction of the cross-check).
    @Test("ssh-keygen accepts SSHSIG assembled by wpk's encoder, and refuses a wrong one")
    func swiftMadeSignatures() throws {
        guard requireSSHKeygen() else { return }
        let dir = TemporaryDirectory()
        let message = Array("decision bytes\n".utf8)
        try Data(message).write(to: URL(fileURLWithPath: dir.file("m")))
        let ed = Curve25519.Signing.PrivateKey()
        let p256 = P256.Signing.PrivateKey()
        var writer = SSHWireWriter()
        writer.string("ssh-ed25519")
        writer.string(Array(ed.publicKey.rawRepresentation))
        let edKey = try SSHPublicKey(blob: writer.bytes)
        writer = SSHWireWriter()
        writer.string("ecdsa-sha2-nistp256")
        writer.string("nistp256")
        writer.string(Array(p256.publicKey.x963Representation))
        let ecKey = try SSHPublicKey(blob: writer.bytes)

        func sign(_ data: [UInt8], with key: SSHPublicKey) throws -> (algorithm: String, bytes: [UInt8]) {
            if key.algorithm == "ssh-ed25519" { return ("ssh-ed25519", Array(try ed.signature(for: data))) }
            let raw = Array(try p256.signature(for: data).rawRepresentation)
            var inner = SSHWireWriter()
            inner.positiveInteger(Array(raw[0..<32]))
            inner.positiveInteger(Array(raw[32..<64]))
            return ("ecdsa-sha2-nistp256", inner.bytes)
        }
        for key in [edKey, ecKey] {
            for hash in [SSHSignature.HashAlgorithm.sha256, .sha512] {
                for (label, signedNamespace, good) in [("right", "wpk-decision", true), ("other namespace inside", "file", false)] {
                    let data = SSHSignature.signedData(message: message, namespace: signedNamespace, hashAlgorithm: hash)
                    let made = try sign(data, with: key)
                    let blob = SSHSignature.blob(
                        publicKey: key, namespace: "wpk-decision", hashAlgorithm: hash,
                        signatureAlgorithm: made.algorithm, signature: made.bytes)
                    let armored = SSHSignature.armor(blob)
                    try Data(armored.utf8).write(to: URL(fileURLWithPath: dir.file("m.sig")))
                    try Data("alice \(key.openSSH)\n".utf8).write(to: URL(fileURLWithPath: dir.file("signers")))
                    let peer = try SSHKeygen.run(
                        [
                            "-Y", "verify", "-f", dir.file("signers"), "-I", "alice", "-n", "wpk-decision",
                            "-s", dir.file("m.sig"),
                        ], input: message)
                    #expect((peer.status == 0) == good, "\(key.algorithm) \(hash) \(label): \(peer.errors)")
                    let swift = Result { try SSHSignature(armored: armored).verify(message: message, namespace: "wpk-decision") }
                    #expect(((try? swift.get()) != nil) == good, "\(key.algorithm) \(hash) \(label)")
                }
            }
        }
    }
}

@Suite("SSHSIG parsing of untrusted bytes")
struct SSHSignatureParsingTests {
    /// A fixed ed25519 signature: the test does not need ssh-keygen.
    static func sample() throws -> (armored: String, blob: [UInt8], message: [UInt8]) {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32))
        var writer = SSHWireWriter()
        writer.string("ssh-ed25519")
        writer.string(Array(key.publicKey.rawRepresentation))
        let publicKey = try SSHPublicKey(blob: writer.bytes)
        let message = Array("record".utf8)
        let data = SSHSignature.signedData(message: message, namespace: "wpk-decision", hashAlgorithm: .sha512)
        let blob = SSHSignature.blob(
            publicKey: publicKey, namespace: "wpk-decision", hashAlgorithm: .sha512,
            signatureAlgorithm: "ssh-ed25519", signature: Array(try key.signature(for: data)))
        return (SSHSignature.armor(blob), blob, message)
    }

    @Test("armor: CRLF accepted; missing header, footer, bad base64 and oversize refused")
    func armor() throws {
        let sample = try Self.sample()
        try SSHSignature(armored: sample.armored.replacingOccurrences(of: "\n", with: "\r\n")).verify(
            message: sample.message, namespace: "wpk-decision")
        for bad in [
            "", "hello", "-----BEGIN SSH SIGNATURE-----", "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
            "-----BEGIN SSH SIGNATURE-----AAAA\n-----END SSH SIGNATURE-----",
            "-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----\n",
            String(sample.armored.dropLast(30)),
            " " + sample.armored,
            "-----BEGIN SSH SIGNATURE-----\n" + String(repeating: "A", count: 20_000) + "\n-----END SSH SIGNATURE-----\n",
        ] {
            #expect(throws: SSHSignatureError.self) { try SSHSignature(armored: bad) }
        }
    }

    @Test("every truncation of a signature is refused without a crash")
    func truncations() throws {
        let sample = try Self.sample()
        for length in 0..<sample.blob.count {
            #expect(throws: SSHSignatureError.self) { try SSHSignature(blob: Array(sample.blob.prefix(length))) }
        }
        for length in 0..<sample.armored.utf8.count {
            let text = String(decoding: Array(sample.armored.utf8.prefix(length)), as: UTF8.self)
            if let parsed = try? SSHSignature(armored: text) {
                // Only a cut inside the final newline keeps the whole signature.
                #expect(parsed == (try SSHSignature(blob: sample.blob)))
            }
        }
    }

    @Test("no single-bit change of a signature blob verifies")
    func bitFlips() throws {
        let sample = try Self.sample()
        for index in 0..<sample.blob.count {
            for bit in [0x01, 0x80] as [UInt8] {
                var mutated = sample.blob
                mutated[index] ^= bit
                let verified = (try? SSHSignature(blob: mutated).verify(message: sample.message, namespace: "wpk-decision")) != nil
                #expect(!verified, "byte \(index) bit \(bit)")
            }
        }
    }

    @Test("random bytes and random lengths never crash the parser")
    func randomInput() throws {
        var random = SchemaTestRandom(state: 0x5EED)
        let sample = try Self.sample()
        for round in 0..<3000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0: bytes = (0..<random.below(400)).map { _ in UInt8(random.below(256)) }
            case 1:
                // A valid prefix, then forged lengths: the dangerous case for a length-prefixed format.
                bytes = Array(sample.blob.prefix(random.below(sample.blob.count)))
                bytes += [0xFF, 0xFF, 0xFF, UInt8(random.below(256))]
            default:
                bytes = sample.blob
                for _ in 0..<4 { bytes[random.below(bytes.count)] = UInt8(random.below(256)) }
            }
            _ = try? SSHSignature(blob: bytes)
            _ = try? SSHSignature(armored: SSHSignature.armor(bytes))
            _ = try? SSHPublicKey(blob: bytes)
            _ = try? AllowedSigners(text: String(decoding: bytes, as: UTF8.self), source: "fuzz")
        }
    }

    @Test("unsupported keys and hashes are named")
    func unsupported() throws {
        var writer = SSHWireWriter()
        writer.string("ssh-ed25519-cert-v01@openssh.com")
        writer.string([UInt8](repeating: 1, count: 32))
        #expect(throws: SSHSignatureError.unsupportedAlgorithm("ssh-ed25519-cert-v01@openssh.com")) { try SSHPublicKey(blob: writer.bytes) }
        let sample = try Self.sample()
        let parsed = try SSHSignature(blob: sample.blob)
        let sha1 = SSHSignature.blob(
            publicKey: parsed.publicKey, namespace: "wpk-decision", hashAlgorithm: .sha512,
            signatureAlgorithm: "ssh-ed25519", signature: []
        ).replacing(Array("sha512".utf8), with: Array("sha1xx".utf8))
        #expect(throws: SSHSignatureError.unsupportedHash("sha1xx")) { try SSHSignature(blob: sha1) }
    }
}

@Suite("allowed_signers")
struct AllowedSignersTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpzpD3VLkzS3S6cSrQTTkk0cIHJqWGv7ZtlEXtkr3Re"

    @Test("lines, options and comments")
    func parsing() throws {
        let text = """
            # comment
              \t
            alice@example.com \(Self.key) alice's laptop
            "bob,carol" namespaces="wpk-decision,file",valid-after="20260101",VALID-BEFORE="20270101123000Z" \(Self.key)
            *@ops cert-authority \(Self.key)
            dave ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBJ4=
            """
        let signers = try AllowedSigners(text: text, source: "t")
        #expect(signers.entries.map(\.line) == [3, 4, 5, 6])
        #expect(signers.entries[1].principals == "bob,carol")
        #expect(signers.entries[1].namespaces == "wpk-decision,file")
        #expect(signers.entries[1].validBefore == RFC3339.parse("2027-01-01T12:30:00Z"))
        #expect(signers.entries[2].certificateAuthority)
        #expect(signers.entries[3].key == nil && signers.entries[3].keyType == "ecdsa-sha2-nistp384")
        let key = try SSHPublicKey(openSSH: Self.key)
        #expect(signers.principal(for: key, namespace: "wpk-decision", at: Date()) == "alice@example.com")
    }

    @Test(
        "a line wpk cannot read refuses the file, naming the line",
        arguments: [
            ("alice", "invalid line: no key"),
            ("alice frobnicate \(key)", "bad options: unknown key option"),
            ("alice namespaces=wpk \(key)", "bad options: missing start quote"),
            ("alice namespaces=\"wpk \(key)", "bad options: missing end quote"),
            ("alice valid-before=\"2026\" \(key)", "bad options: invalid \"valid-before\" time"),
            ("alice valid-after=\"20260231\" \(key)", "bad options: invalid \"valid-after\" time"),
            ("alice ssh-ed25519 AAAA", "invalid key"),
            ("alice ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOpzpD3VLkzS3S6cSrQTTkk0cIHJqWGv7ZtlEXtkr3Re", "invalid key"),
        ])
    func badLines(line: String, problem: String) {
        #expect {
            try AllowedSigners(text: "# first\n" + line + "\n", source: "/etc/wpk/allowed_signers")
        } throws: { error in
            guard case .badAllowedSigners(let path, let number, let text) = error as? SSHSignatureError else { return false }
            return path == "/etc/wpk/allowed_signers" && number == 2 && text.hasPrefix(problem)
        }
    }

    @Test("pattern lists behave as OpenSSH's match_pattern_list")
    func patterns() {
        let table: [(String, String, Bool)] = [
            ("alice", "alice", true), ("alice", "Alice", false), ("alice", "a*", true), ("alice", "a?ice", true),
            ("alice", "a?ce", false), ("alice", "*", true), ("", "*", true), ("", "", true), ("alice", "", false),
            ("alice", "bob,alice", true), ("alice", "*,!alice", false), ("alice", "!bob", false), ("alice", "!bob,*", true),
            ("a@x.com", "*@x.com", true), ("a@x.com.evil", "*@x.com", false), ("alice", "**e", true), ("alice", "*l*c*", true),
        ]
        for (text, list, expected) in table {
            #expect(PatternList.matches(text, list) == expected, "\(text) vs \(list)")
        }
        // Linear: a hostile pattern and name take no exponential time.
        #expect(!PatternList.matches(String(repeating: "a", count: 5000), String(repeating: "*a", count: 500) + "b"))
    }

    @Test("times: UTC with Z, local without")
    func times() throws {
        #expect(AllowedSigners.parseTime("20260102Z") == RFC3339.parse("2026-01-02T00:00:00Z"))
        #expect(AllowedSigners.parseTime("202601020304UTC") == RFC3339.parse("2026-01-02T03:04:00Z"))
        #expect(AllowedSigners.parseTime("20260102030405z") == RFC3339.parse("2026-01-02T03:04:05Z"))
        var parts = tm()
        parts.tm_year = 126
        parts.tm_mon = 0
        parts.tm_mday = 2
        parts.tm_isdst = -1
        #expect(AllowedSigners.parseTime("20260102") == Date(timeIntervalSince1970: TimeInterval(mktime(&parts))))
        for bad in ["2026", "2026010", "20261301", "2026-01-02", "20260102T", "Z", "+0260102"] {
            #expect(AllowedSigners.parseTime(bad) == nil, "\(bad)")
        }
    }

    @Test("load refuses a file that root alone could not have written, and a missing one")
    func loading() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("allowed_signers")
        try Data("alice \(Self.key)\n".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        // Under the temporary directory (writable by others, or owned by a non-root user): refused.
        #expect(throws: SSHSignatureError.self) { try AllowedSigners.load(path: path) }
        #expect {
            try AllowedSigners.load(path: "/nonexistent-wpk-dir/allowed_signers")
        } throws: { ($0 as? SSHSignatureError)?.code == "unreadable_allowed_signers" }
    }
}
