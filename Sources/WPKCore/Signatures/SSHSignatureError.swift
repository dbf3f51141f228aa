import Foundation

/// Why an OpenSSH signature, key or `allowed_signers` entry was not accepted. Every case says
/// what is wrong in words an operator can act on; untrusted parts are sanitized.
public enum SSHSignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not an armored `SSH SIGNATURE` block.
    case badArmor(String)
    /// The decoded signature or key does not follow the format.
    case malformed(String)
    /// A key or signature algorithm wpk does not verify (certificates, security keys, DSA, `ssh-rsa` with SHA-1).
    case unsupportedAlgorithm(String)
    /// The SSHSIG hash algorithm is neither sha256 nor sha512.
    case unsupportedHash(String)
    /// The signature was made for another purpose than the one checked.
    case wrongNamespace(expected: String, found: String)
    /// The signature does not match the content: the content was changed, or another key signed it.
    case invalidSignature
    /// The signature names a key other than the one the record claims.
    case keyMismatch(claimed: String, signed: String)
    /// The signing key is not in `allowed_signers` at all.
    case unknownKey(fingerprint: String)
    /// The key is listed, but not for this principal.
    case principalNotListed(principal: String, fingerprint: String)
    /// The principal and key are listed, but `namespaces=` excludes the namespace.
    case namespaceNotAllowed(principal: String, namespace: String, line: Int)
    /// The signer's `valid-after` is later than the time checked.
    case notYetValid(principal: String, validAfter: Date, at: Date, line: Int)
    /// The signer's `valid-before` is earlier than the time checked.
    case expired(principal: String, validBefore: Date, at: Date, line: Int)
    /// The record carries no signature (or no principal or key) where the policy requires one.
    case unsigned
    /// An `allowed_signers` line wpk cannot read (the whole file is refused: fail closed).
    case badAllowedSigners(path: String, line: Int, problem: String)
    /// The `allowed_signers` file itself cannot be read.
    case unreadableAllowedSigners(path: String, reason: String)

    /// The stable name of the problem (for JSON output and tests).
    public var code: String {
        switch self {
        case .badArmor: "bad_armor"
        case .malformed: "malformed"
        case .unsupportedAlgorithm: "unsupported_algorithm"
        case .unsupportedHash: "unsupported_hash"
        case .wrongNamespace: "wrong_namespace"
        case .invalidSignature: "invalid_signature"
        case .keyMismatch: "key_mismatch"
        case .unknownKey: "unknown_key"
        case .principalNotListed: "principal_not_listed"
        case .namespaceNotAllowed: "namespace_not_allowed"
        case .notYetValid: "not_yet_valid"
        case .expired: "expired_signer"
        case .unsigned: "unsigned"
        case .badAllowedSigners: "bad_allowed_signers"
        case .unreadableAllowedSigners: "unreadable_allowed_signers"
        }
    }

    public var description: String {
        let s = DisplaySanitizer.sanitize
        switch self {
        case .badArmor(let detail): return "not an armored SSH signature: \(s(detail))"
        case .malformed(let detail): return "malformed SSH signature: \(s(detail))"
        case .unsupportedAlgorithm(let name):
            return
                "unsupported key or signature algorithm \"\(s(name))\" (wpk verifies ssh-ed25519, ecdsa-sha2-nistp256 and RSA with rsa-sha2-256/512; certificates and security keys are not supported)"
        case .unsupportedHash(let name): return "unsupported SSHSIG hash algorithm \"\(s(name))\" (sha256 or sha512)"
        case .wrongNamespace(let expected, let found):
            return "the signature is for namespace \"\(s(found))\", not \"\(s(expected))\""
        case .invalidSignature:
            return "the signature does not match the signed content (the content was changed after signing, or another key signed it)"
        case .keyMismatch(let claimed, let signed):
            return "the record names key \(s(claimed)) but was signed by \(s(signed))"
        case .unknownKey(let fingerprint):
            return "the signing key \(fingerprint) is not listed in allowed_signers"
        case .principalNotListed(let principal, let fingerprint):
            return "allowed_signers does not list key \(fingerprint) for principal \"\(s(principal))\""
        case .namespaceNotAllowed(let principal, let namespace, let line):
            return "allowed_signers line \(line) does not allow \"\(s(principal))\" to sign in namespace \"\(s(namespace))\" (namespaces=)"
        case .notYetValid(let principal, let validAfter, let at, let line):
            return
                "the key of \"\(s(principal))\" is not valid until \(RFC3339.format(validAfter)) (allowed_signers line \(line) valid-after), checked at \(RFC3339.format(at))"
        case .expired(let principal, let validBefore, let at, let line):
            return
                "the key of \"\(s(principal))\" expired at \(RFC3339.format(validBefore)) (allowed_signers line \(line) valid-before), checked at \(RFC3339.format(at))"
        case .unsigned:
            return
                "the record is not signed, and the machine policy names allowed_signers: only decisions signed by a listed principal count"
        case .badAllowedSigners(let path, let line, let problem):
            return "\(s(path)):\(line): \(s(problem)); the allowed_signers file is refused as a whole"
        case .unreadableAllowedSigners(let path, let reason):
            return "cannot read allowed_signers \(s(path)): \(s(reason))"
        }
    }
}
