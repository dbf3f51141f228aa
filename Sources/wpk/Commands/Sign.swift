import ArgumentParser
import Foundation
import WPKCore

/// `wpk sign`: writes a playbook's detached signature next to it.
struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a playbook's exact bytes with a PEM private key, writing FILE.sig.",
        discussion: """
            KEY is an unencrypted PEM private key: Ed25519 (openssl genpkey -algorithm ed25519) or \
            ECDSA P-256 (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256), readable by \
            its owner only. FILE.sig holds the base64 signature: 64 bytes for ed25519, DER for \
            ecdsa-p256 (what cosign writes). The playbook declares it with \
            metadata.signature {ref: NAME.wpk.yaml.sig, algorithm: ed25519|ecdsa-p256}; sign after the \
            last edit, since any change to the file invalidates the signature.
            Exit codes: 0 signed, 1 a file could not be signed, 2 usage error (unusable key).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The PEM private key to sign with.", valueName: "KEY.pem"))
    var key: String

    @Argument(help: "The playbook files to sign.")
    var files: [String]

    func run() throws {
        let s = DisplaySanitizer.sanitize
        let privateKey: PEMPrivateKey
        switch BoundedFile.read(key, limit: BoundedFile.keyLimit, followingLinks: true, privateKey: true) {
        case .failure(let problem): throw UsageFailure("cannot use --key \(s(key)): \(problem.message)")
        case .success(let bytes):
            do {
                privateKey = try PEMPrivateKey(pem: String(decoding: bytes, as: UTF8.self))
            } catch {
                throw UsageFailure("cannot use --key \(s(key)): \(error.message)")
            }
        }
        var failed = false
        for file in files {
            guard file != "-" else {
                printError("wpk sign: standard input cannot be signed: the signature is written next to the file")
                failed = true
                continue
            }
            let bytes: [UInt8]
            switch SourceReader.contents(of: .file(file)) {
            case .success(let read): bytes = read
            case .failure(let failure):
                printError("wpk sign: cannot read \(s(file)): \(failure)")
                failed = true
                continue
            }
            let signaturePath = file + ".sig"
            do {
                try Data(try privateKey.signatureFile(for: bytes)).write(to: URL(fileURLWithPath: signaturePath), options: .atomic)
            } catch {
                printError("wpk sign: cannot write \(s(signaturePath)): \(error.localizedDescription)")
                failed = true
                continue
            }
            writeOut("\(s(signaturePath)): \(privateKey.algorithm.rawValue) signature by key \(privateKey.publicKey.fingerprint)\n")
            warnIfUndeclared(bytes, file: file, algorithm: privateKey.algorithm)
        }
        if failed { throw ExitCode(1) }
    }

    /// The signature is found only through the playbook's own declaration: say when it does not match.
    private func warnIfUndeclared(_ bytes: [UInt8], file: String, algorithm: PlaybookSignatureAlgorithm) {
        let s = DisplaySanitizer.sanitize
        guard let root = try? SourceDocument.load(bytes, path: file).root else { return }
        let expectedRef = (file as NSString).lastPathComponent + ".sig"
        guard let declaration = root["metadata"]?["signature"] else {
            printError(
                "warning: \(s(file)) declares no signature; add metadata.signature {ref: \(s(expectedRef)), algorithm: \(algorithm.rawValue)} and sign again"
            )
            return
        }
        let declaredAlgorithm = declaration["algorithm"]?.string ?? PlaybookSignatureAlgorithm.ed25519.rawValue
        if declaredAlgorithm != algorithm.rawValue {
            printError("warning: \(s(file)) declares algorithm \(s(declaredAlgorithm)), but the key is \(algorithm.rawValue)")
        }
        if let ref = declaration["ref"]?.string, ref != expectedRef {
            printError("warning: \(s(file)) declares ref \(s(ref)), not \(s(expectedRef))")
        }
    }
}

/// `wpk verify`: checks playbooks' signatures alone, without the rest of validation.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check playbooks' detached signatures (metadata.signature) alone.",
        discussion: """
            Without --key, signatures are checked against the machine policy: trusted_keys (PEM \
            public keys NAME.pub) for ed25519 and ecdsa-p256, allowed_signers for ssh. With --key \
            (repeatable), against those PEM public keys only. Each file prints one line: verified with \
            the key's name and fingerprint, or why not [WPK5xx, see specs/signature-codes.md].
            Exit codes: 0 every signature verified, 1 any did not, 2 usage error (unusable --key).
            """
    )

    @Option(
        name: .long,
        help: ArgumentHelp("A PEM public key to verify with instead of the machine's trusted keys (repeatable).", valueName: "PUB.pem"))
    var key: [String] = []

    @Argument(help: "The playbook files whose signatures to check.")
    var files: [String]

    func run() throws {
        let s = DisplaySanitizer.sanitize
        let trust: PlaybookSignatureTrust
        if key.isEmpty {
            trust = MachineTrust.load()
        } else {
            var keys: [PEMPublicKey] = []
            for path in key {
                switch BoundedFile.read(path, limit: BoundedFile.keyLimit, followingLinks: true) {
                case .failure(let problem): throw UsageFailure("cannot use --key \(s(path)): \(problem.message)")
                case .success(let bytes):
                    do {
                        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                        keys.append(try PEMPublicKey(pem: String(decoding: bytes, as: UTF8.self), name: name))
                    } catch {
                        throw UsageFailure("cannot use --key \(s(path)): \(error.message)")
                    }
                }
            }
            trust = PlaybookSignatureTrust(keys: keys, keySource: "--key " + key.joined(separator: ", "))
        }
        var reporter = TextReporter(colors: TerminalColors.forStandardOutput())
        var failures = 0
        for file in files {
            let input: PlaybookInput = file == "-" ? .standardInput : .file(file)
            let bytes: [UInt8]
            switch SourceReader.contents(of: input) {
            case .success(let read): bytes = read
            case .failure:
                reporter.report(PlaybookChecker(schema: nil, appliesRules: false).check(input))
                failures += 1
                continue
            }
            let document: Document
            do { document = try SourceDocument.load(bytes, path: input.displayPath) } catch {
                reporter.report(FileReport(path: input.displayPath, digest: nil, diagnostics: [Diagnostic(error)], lines: LineIndex(bytes)))
                failures += 1
                continue
            }
            let check = PlaybookSignatureVerifier.check(bytes: bytes, path: input.displayPath, root: document.root, trust: trust)
            // verify's question is "verified or not": anything else is an error here.
            let verified = check.state == .verified
            if !verified { failures += 1 }
            let diagnostic = Diagnostic(
                severity: verified ? .info : .error, code: check.code.rawValue, source: .rule,
                message: check.message, pointer: check.pointer, mark: check.mark)
            // A verified file gets its one line; a failure also its source line.
            reporter.report(
                FileReport(
                    path: input.displayPath, digest: nil, diagnostics: [diagnostic],
                    lines: verified ? nil : document.lines))
        }
        if !trust.keyProblems.isEmpty, failures > 0 {
            for problem in trust.keyProblems { printError("note: \(s(problem))") }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
