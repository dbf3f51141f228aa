import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The keys a machine trusts for playbook signatures, and whether it requires them: read once
/// per command from the machine policy (`trusted_keys`, `allowed_signers`,
/// `require_signed_playbooks`), or from `wpk verify --key`.
public struct PlaybookSignatureTrust: Sendable {
    /// Trusted PEM public keys, in name order.
    public var keys: [PEMPublicKey]
    /// Where the keys came from, for messages (`/etc/wpk/trusted-keys/`, `--key FILE`); nil when
    /// nothing names any key, so PEM signatures cannot be checked at all.
    public var keySource: String?
    /// Why some key files of the directory are not used (each names its file).
    public var keyProblems: [String]
    /// Whether anything short of a verified signature is an error.
    public var required: Bool
    /// Why signatures cannot be checked at all (an unusable policy); nil when they can.
    public var unusable: String?
    /// The OpenSSH signers `ssh` signatures are checked against (namespace `file`), or why the
    /// policy's file cannot be used; nil when the policy names none.
    public var allowedSigners: Result<AllowedSigners, SSHSignatureError>?
    /// Where verified (file, signature, key) triples are remembered, so an unchanged signed file is
    /// verified once (`wpk validate` only: `plan`, `review`, `verify` and `run` verify every time).
    public var rememberedVerdicts: (any MetaschemaVerdicts)?

    public init(
        keys: [PEMPublicKey] = [], keySource: String? = nil, keyProblems: [String] = [], required: Bool = false, unusable: String? = nil,
        allowedSigners: Result<AllowedSigners, SSHSignatureError>? = nil
    ) {
        self.keys = keys
        self.keySource = keySource
        self.keyProblems = keyProblems
        self.required = required
        self.unusable = unusable
        self.allowedSigners = allowedSigners
    }

    /// The trust a machine policy sets up: its `trusted_keys` directory and `allowed_signers`
    /// file read now.
    public init(policy: MachinePolicy) {
        self.init(required: policy.requireSignedPlaybooks)
        if let path = policy.allowedSigners {
            allowedSigners = Result { () throws(SSHSignatureError) in try AllowedSigners.load(path: path) }
        }
        guard let directory = policy.trustedKeys else { return }
        keySource = directory
        (keys, keyProblems) = Self.readKeys(in: directory)
    }

    /// The trust of a policy status: a policy wpk cannot trust checks nothing (and `wpk run`
    /// refuses to start under it anyway).
    public init(policyStatus: MachinePolicyStatus) {
        switch policyStatus {
        case .loaded(let policy): self.init(policy: policy)
        case .unsafe(let path, let reason): self.init(unusable: "the machine policy \(path) cannot be trusted: \(reason)")
        }
    }

    /// Every `NAME.pub` in a directory, read as a PEM public key named `NAME`.
    static func readKeys(in directory: String) -> ([PEMPublicKey], [String]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pub") }.sorted()
        } catch {
            return ([], ["the trusted_keys directory \(directory) cannot be read: \((error as NSError).localizedDescription)"])
        }
        var keys: [PEMPublicKey] = []
        var problems: [String] = []
        for fileName in names {
            let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
            switch BoundedFile.read(path, limit: BoundedFile.keyLimit) {
            case .success(let bytes):
                do {
                    keys.append(try PEMPublicKey(pem: String(decoding: bytes, as: UTF8.self), name: String(fileName.dropLast(4))))
                } catch {
                    problems.append("trusted key \(path) is not used: \(error.message)")
                }
            case .failure(let problem):
                problems.append("trusted key \(path) is not used: \(problem.message)")
            }
        }
        if names.isEmpty { problems.append("the trusted_keys directory \(directory) holds no NAME.pub key") }
        return (keys, problems)
    }
}

/// What wpk found out about one playbook's signature: the state every surface shows.
public struct PlaybookSignatureCheck: Sendable, Equatable {
    /// The state, as the plan JSON names it.
    public enum State: String, Sendable {
        case verified
        case notChecked = "not-checked"
        case unsigned, missing, unreadable, refused, malformed, bad, untrusted, unsupported
    }

    public var state: State
    /// The code of the diagnostic.
    public var code: SignatureCode
    /// The algorithm as declared (`ed25519` when the playbook leaves it out); nil when unsigned.
    public var algorithm: String?
    /// `metadata.signature.ref` as written.
    public var ref: String?
    /// The trusted key's name and fingerprint, when verified.
    public var keyName: String?
    public var fingerprint: String?
    /// The sentence the diagnostic says.
    public var message: String
    /// Where the diagnostic points.
    public var pointer: String
    public var mark: Mark?
    /// Whether the policy requires signatures (which turns every state but verified into an error).
    public var required: Bool

    /// Whether a run may start on this signature under the policy that checked it.
    public var permitsRun: Bool { state == .verified || !required }

    /// The diagnostic for validate, plan and review; nil for an unsigned playbook nobody requires signed.
    public var diagnostic: Diagnostic? {
        if state == .unsigned && !required { return nil }
        return Diagnostic(
            severity: code.severity(required: required), code: code.rawValue, source: .rule,
            message: message, pointer: pointer, mark: mark)
    }

    /// A few words for a header or a list: `verified (release, SHA256:…)`, `NOT VERIFIED: …`.
    public var summary: String {
        switch state {
        case .verified: "verified, \(algorithm ?? "") key \(keyName ?? "") (\(fingerprint ?? ""))"
        case .unsigned: required ? "unsigned (this machine requires signed playbooks)" : "unsigned"
        case .notChecked: "not checked"
        default: "NOT VERIFIED (\(state.rawValue))"
        }
    }

    /// `{"state", "algorithm", "ref", "key", "fingerprint", "required", "message"}` for the plan JSON.
    public var json: JSONValue {
        .object([
            ("state", .string(state.rawValue)), ("code", .string(code.rawValue)),
            ("algorithm", .optional(algorithm)), ("ref", .optional(ref)),
            ("key", .optional(keyName)), ("fingerprint", .optional(fingerprint)),
            ("required", .bool(required)), ("message", .string(message)),
        ])
    }
}

/// Checks a playbook's detached signature (`metadata.signature`) over its exact bytes.
public enum PlaybookSignatureVerifier {
    /// The signature of `bytes`, the playbook read from `path`, whose loaded tree is `root`.
    public static func check(bytes: [UInt8], path: String, root: Node, trust: PlaybookSignatureTrust) -> PlaybookSignatureCheck {
        let metadata = root["metadata"]
        guard let declaration = metadata?["signature"], declaration.mapping != nil else {
            return PlaybookSignatureCheck(
                state: .unsigned, code: .unsigned,
                message: trust.required
                    ? "the playbook is not signed, and this machine requires signed playbooks; add metadata.signature and sign it (wpk sign --key KEY.pem FILE)"
                    : "the playbook is not signed",
                pointer: metadata == nil ? "" : "/metadata", mark: metadata?.start ?? root.start, required: trust.required)
        }
        let refNode = declaration["ref"]
        let algorithmNode = declaration["algorithm"]
        let algorithmText = algorithmNode?.string ?? PlaybookSignatureAlgorithm.ed25519.rawValue
        var check = PlaybookSignatureCheck(
            state: .malformed, code: .malformed, algorithm: algorithmText, ref: refNode?.string, message: "",
            pointer: refNode == nil ? "/metadata/signature" : "/metadata/signature/ref",
            mark: refNode?.start ?? declaration.start, required: trust.required)
        func fail(_ state: PlaybookSignatureCheck.State, _ code: SignatureCode, _ message: String) -> PlaybookSignatureCheck {
            check.state = state
            check.code = code
            check.message = message
            return check
        }
        guard let algorithm = PlaybookSignatureAlgorithm(rawValue: algorithmText) else {
            check.pointer = "/metadata/signature/algorithm"
            check.mark = algorithmNode?.start ?? check.mark
            return fail(
                .unsupported, .unsupportedAlgorithm,
                "signature algorithm \"\(algorithmText)\" is not one wpk knows (ed25519, ecdsa-p256, ssh, sigstore)")
        }
        if algorithm == .sigstore {
            return fail(
                .notChecked, .notChecked,
                "the sigstore signature is not checked: wpk verifies ed25519, ecdsa-p256 and ssh signatures"
                    + (trust.required ? ", and this machine requires a verified one" : ""))
        }
        guard let ref = refNode?.string, !ref.isEmpty else {
            return fail(.malformed, .malformed, "metadata.signature has no ref naming the signature file")
        }
        let signatureBytes: [UInt8]
        switch resolve(ref: ref, playbookPath: path) {
        case .failure(let refusal):
            return fail(refusal.state, refusal.code, refusal.message)
        case .success(let signaturePath):
            switch BoundedFile.read(signaturePath, limit: BoundedFile.signatureLimit) {
            case .success(let read): signatureBytes = read
            case .failure(let problem):
                return problem.missing
                    ? fail(
                        .missing, .missing,
                        "the signature file \(ref) does not exist next to the playbook (sign it with: wpk sign --key KEY.pem FILE)")
                    : fail(.unreadable, .unreadable, "the signature file \(ref) cannot be read: \(problem.message)")
            }
        }
        let signature: [UInt8]
        switch decode(signatureBytes, algorithm: algorithm) {
        case .failure(let problem): return fail(.malformed, .malformed, "the signature file \(ref) \(problem.message)")
        case .success(let decoded): signature = decoded
        }
        if let unusable = trust.unusable {
            return fail(.notChecked, .notChecked, "the \(algorithm.rawValue) signature is not checked: \(unusable)")
        }
        if algorithm == .ssh {
            let outcome = checkSSH(signature, bytes: bytes, ref: ref, trust: trust)
            check.keyName = outcome.principal
            check.fingerprint = outcome.fingerprint
            return fail(outcome.state, outcome.code, outcome.message)
        }
        guard let source = trust.keySource else {
            return fail(
                .notChecked, .notChecked,
                "the \(algorithm.rawValue) signature is not checked: this machine trusts no signing keys (trusted_keys in \(MachinePolicy.path))"
                    + (trust.required ? ", and it requires signed playbooks" : ""))
        }
        let candidates = trust.keys.filter { $0.algorithm == algorithm }
        guard !candidates.isEmpty else {
            let others = trust.keys.map { "\($0.name) (\($0.algorithm.rawValue))" }
            var message = "no \(algorithm.rawValue) key is trusted (\(source) "
            message += others.isEmpty ? "holds none" : "holds only \(others.joined(separator: ", "))"
            message += "), so nothing could have made this signature"
            if let problem = trust.keyProblems.first { message += "; \(problem)" }
            return fail(.untrusted, .untrustedKey, message)
        }
        // A verdict is remembered under the digest of the file, the signature and the key together.
        let pairDigest = trust.rememberedVerdicts.map { _ in ContentDigest.sha256(bytes + [0] + signature) }
        for key in candidates {
            let verdictKey = pairDigest.map { ContentDigest.sha256(Array(($0 + " " + key.fingerprint).utf8)) }
            let remembered = verdictKey.map { trust.rememberedVerdicts?.passed($0) == true } ?? false
            guard remembered || key.isValid(signature: signature, for: bytes) else { continue }
            if !remembered, let verdictKey { trust.rememberedVerdicts?.recordPass(verdictKey) }
            check.keyName = key.name
            check.fingerprint = key.fingerprint
            return fail(.verified, .verified, "signature verified: \(algorithm.rawValue) key \"\(key.name)\" (\(key.fingerprint))")
        }
        let names = candidates.map { "\"\($0.name)\"" }.joined(separator: ", ")
        return fail(
            .bad, .bad,
            "the \(algorithm.rawValue) signature in \(ref) does not verify with the trusted key\(candidates.count == 1 ? "" : "s") \(names): "
                + "the file changed after it was signed, the signature is of another file, or a key this machine does not trust made it")
    }

    /// The namespace a playbook's `ssh` signature is made in (`ssh-keygen -Y sign -n file`).
    public static let sshNamespace = "file"

    /// An armored SSHSIG over the file, checked as `ssh-keygen -Y verify -n file` would against
    /// the policy's `allowed_signers`: the signature first, then whether its key may sign files.
    static func checkSSH(_ armored: [UInt8], bytes: [UInt8], ref: String, trust: PlaybookSignatureTrust)
        -> (state: PlaybookSignatureCheck.State, code: SignatureCode, message: String, principal: String?, fingerprint: String?)
    {
        let signature: SSHSignature
        do {
            signature = try SSHSignature(armored: String(decoding: armored, as: UTF8.self))
        } catch {
            switch error {
            case .unsupportedAlgorithm, .unsupportedHash:
                return (
                    .unsupported, .unsupportedAlgorithm, "the ssh signature in \(ref) cannot be verified by wpk: \(error.description)", nil,
                    nil
                )
            default:
                return (
                    .malformed, .malformed, "the signature file \(ref) does not hold an OpenSSH signature: \(error.description)", nil, nil
                )
            }
        }
        let fingerprint = signature.publicKey.fingerprint
        do {
            try signature.verify(message: bytes, namespace: sshNamespace)
        } catch {
            if case .wrongNamespace(_, let found) = error {
                return (
                    .bad, .bad,
                    "the ssh signature in \(ref) was made for namespace \"\(found)\", not \"\(sshNamespace)\" (sign with: ssh-keygen -Y sign -n file)",
                    nil, fingerprint
                )
            }
            return (
                .bad, .bad,
                "the ssh signature in \(ref) by key \(fingerprint) does not verify: the file changed after it was signed, or the signature is of another file",
                nil, fingerprint
            )
        }
        switch trust.allowedSigners {
        case nil:
            return (
                .notChecked, .notChecked,
                "the ssh signature by key \(fingerprint) is valid but not checked against any signer: this machine names no allowed_signers (in \(MachinePolicy.path))"
                    + (trust.required ? ", and it requires signed playbooks" : ""), nil, fingerprint
            )
        case .failure(let problem):
            return (
                .untrusted, .untrustedKey,
                "the ssh signature by key \(fingerprint) cannot be checked against allowed_signers: \(problem.description)", nil,
                fingerprint
            )
        case .success(let signers):
            guard let principal = signers.principal(for: signature.publicKey, namespace: sshNamespace, at: Date()) else {
                let why =
                    signers.lists(signature.publicKey)
                    ? "is in \(signers.source), but not for namespace \"file\" now (namespaces=, valid-after, valid-before)"
                    : "is not in \(signers.source)"
                return (.untrusted, .untrustedKey, "the ssh signature is valid, but its key \(fingerprint) \(why)", nil, fingerprint)
            }
            return (.verified, .verified, "signature verified: ssh key of \"\(principal)\" (\(fingerprint))", principal, fingerprint)
        }
    }

    /// Why a ref was not followed.
    struct Refusal: Error {
        var state: PlaybookSignatureCheck.State
        var code: SignatureCode
        var message: String
    }

    /// The path of the signature file: `ref` relative to the playbook's directory, never an
    /// absolute path, a URL, or anything (through `..` or a symbolic link) outside that directory.
    static func resolve(ref: String, playbookPath: String) -> Result<String, Refusal> {
        func refuse(_ why: String) -> Result<String, Refusal> {
            .failure(Refusal(state: .refused, code: .refusedReference, message: "the signature ref \"\(ref)\" \(why)"))
        }
        if ref.hasPrefix("/") { return refuse("is an absolute path; write it relative to the playbook's directory") }
        if let colon = ref.utf8.firstIndex(of: UInt8(ascii: ":")),
            ref[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }), ref[..<colon].first?.isLetter == true
        {
            return refuse("is a URL; wpk reads signatures only from files next to the playbook (no network)")
        }
        if ref.utf8.contains(0) { return refuse("contains a NUL byte") }
        guard playbookPath != "-" else { return refuse("cannot be found: a playbook read from standard input has no directory") }
        // The text before the last slash (NSString's deletingLastPathComponent costs more than the
        // rest of this check, once per signed file).
        let base: String
        if let slash = playbookPath.utf8.lastIndex(of: UInt8(ascii: "/")) {
            base = slash == playbookPath.startIndex ? "/" : String(playbookPath[..<slash])
        } else {
            base = "."
        }
        guard let realDirectory = realPath(base) else { return refuse("cannot be resolved: the playbook's directory cannot be read") }
        let joined = base + "/" + ref
        guard let real = realPath(joined) else {
            // Nothing there (or a dangling link): still refuse a ref that leaves the directory by its text.
            if ref.split(separator: "/").contains("..") { return refuse("leaves the playbook's directory") }
            return .success(joined)
        }
        let inside = realDirectory == "/" ? real.hasPrefix("/") : real.hasPrefix(realDirectory + "/")
        guard inside else { return refuse("leaves the playbook's directory (it resolves to \(real))") }
        return .success(real)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Why a signature file's bytes are not a signature of the declared algorithm.
    struct DecodeProblem: Error {
        var message: String
    }

    /// The signature in the form its key checks: 64 raw bytes (Ed25519) or DER (P-256).
    static func decode(_ bytes: [UInt8], algorithm: PlaybookSignatureAlgorithm) -> Result<[UInt8], DecodeProblem> {
        if bytes.starts(with: Array("-----BEGIN SSH SIGNATURE-----".utf8)), algorithm != .ssh {
            return .failure(
                DecodeProblem(message: "holds an OpenSSH signature, but the playbook declares \(algorithm.rawValue) (algorithm: ssh?)"))
        }
        // base64 as `base64` writes it: lines of 76 characters.
        let decoded = Data(base64Encoded: Data(bytes.filter { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 })).map(Array.init)
        switch algorithm {
        case .ed25519:
            if bytes.count == 64 { return .success(bytes) }
            guard let decoded else {
                return .failure(
                    DecodeProblem(message: "is neither 64 raw bytes nor base64 (\(bytes.count) bytes): an ed25519 signature is 64 bytes"))
            }
            guard decoded.count == 64 else {
                let hint =
                    decoded.first == 0x30 && (8...72).contains(decoded.count)
                    ? " (it looks like a DER ECDSA signature: algorithm: ecdsa-p256?)" : " (truncated?)"
                return .failure(DecodeProblem(message: "holds \(decoded.count) bytes; an ed25519 signature is 64 bytes\(hint)"))
            }
            return .success(decoded)
        case .ecdsaP256:
            // cosign and `| base64` write base64; `openssl dgst -sign -out` writes the DER itself.
            let der = decoded ?? (bytes.first == 0x30 ? bytes : nil)
            guard let der else { return .failure(DecodeProblem(message: "is not base64 of a DER ECDSA signature (truncated?)")) }
            if der.count == 64 && decoded != nil && der.first != 0x30 {
                return .failure(
                    DecodeProblem(message: "holds 64 bytes, not a DER ECDSA signature (an ed25519 signature: algorithm: ed25519?)"))
            }
            guard (try? P256.Signing.ECDSASignature(derRepresentation: der)) != nil else {
                return .failure(DecodeProblem(message: "does not hold a DER ECDSA P-256 signature (\(der.count) bytes; truncated?)"))
            }
            return .success(der)
        case .ssh:
            // Parsed (and its problems named) by `checkSSH`; here only a quick sign of a mix-up.
            guard bytes.starts(with: Array("-----BEGIN SSH SIGNATURE-----".utf8)) else {
                return .failure(DecodeProblem(message: "is not an armored OpenSSH signature (-----BEGIN SSH SIGNATURE-----)"))
            }
            return .success(bytes)
        case .sigstore:
            return .failure(DecodeProblem(message: "cannot be read as \(algorithm.rawValue)"))
        }
    }
}

/// Reads small files an attacker may have put in place (signatures, keys) without following
/// a final symbolic link, blocking on a FIFO, or reading more than a bound.
public enum BoundedFile {
    /// Far above any signature wpk reads (an RSA SSHSIG is under 2 KiB).
    public static let signatureLimit = 64 * 1024
    /// Far above any PEM public key.
    public static let keyLimit = 64 * 1024

    /// Why a file was not read.
    public struct Problem: Error, Sendable {
        public var message: String
        /// Whether the file does not exist.
        public var missing = false
    }

    /// The file's bytes, if it is a regular file of at most `limit` bytes. A final symbolic link
    /// is followed only when `followingLinks` (a path the operator typed, not one a file names);
    /// `privateKey` refuses a file that group or others may read.
    public static func read(_ path: String, limit: Int, followingLinks: Bool = false, privateKey: Bool = false) -> Result<[UInt8], Problem>
    {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (followingLinks ? 0 : O_NOFOLLOW))
        guard descriptor >= 0 else {
            let code = errno
            if code == ELOOP { return .failure(Problem(message: "it is a symbolic link")) }
            return .failure(Problem(message: String(cString: strerror(code)), missing: code == ENOENT))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(Problem(message: String(cString: strerror(errno)))) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return .failure(Problem(message: "it is not a regular file (\(fileKind(info.st_mode)))"))
        }
        if privateKey, info.st_mode & 0o044 != 0 {
            return .failure(
                Problem(
                    message:
                        "it is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))), so it is no longer private; fix with: chmod 600 \(path)"
                ))
        }
        guard info.st_size <= limit else {
            return .failure(Problem(message: "it is \(info.st_size) bytes, more than the limit of \(limit)"))
        }
        // One byte more than the size it reported, to notice a file that grows while read.
        let capacity = Int(info.st_size) + 1
        var bytes = [UInt8](repeating: 0, count: capacity)
        var count = 0
        while count < capacity {
            let n = bytes.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress! + count, capacity - count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(Problem(message: String(cString: strerror(errno))))
            }
            if n == 0 { break }
            count += n
        }
        guard count < capacity else { return .failure(Problem(message: "it grew while being read")) }
        bytes.removeLast(capacity - count)
        return .success(bytes)
    }

    private static func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.read(descriptor, buffer, count)
        #else
            Darwin.read(descriptor, buffer, count)
        #endif
    }

    private static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFDIR: "a directory"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "a special file"
        }
    }
}
