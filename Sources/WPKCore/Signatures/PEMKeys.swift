@preconcurrency import Crypto
import Foundation

/// The detached-signature schemes a playbook may declare (`metadata.signature.algorithm`).
public enum PlaybookSignatureAlgorithm: String, Sendable, CaseIterable {
    /// RFC 8032 pure Ed25519 over the file's bytes; PEM keys.
    case ed25519
    /// ECDSA P-256 over SHA-256 of the file's bytes, base64 DER (cosign, `openssl dgst -sha256 -sign`); PEM keys.
    case ecdsaP256 = "ecdsa-p256"
    /// OpenSSH `SSHSIG` in namespace `file` (`ssh-keygen -Y sign -n file`); keys from `allowed_signers`.
    case ssh
    /// Keyless sigstore bundles: declared, never checked by wpk.
    case sigstore
}

/// A PEM or key problem, said so a person knows what to fix.
public struct SigningKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A public key read from PEM (SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it):
/// Ed25519 or ECDSA P-256, with the name it is trusted under.
public struct PEMPublicKey: Sendable {
    public enum Material: Sendable {
        case ed25519(Curve25519.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    /// The name it is trusted under (`NAME` of `trusted_keys/NAME.pub`, or the file name given).
    public var name: String
    public let material: Material
    /// `SHA256:<base64>`, the same as `ssh-keygen -lf` prints for this key. Computed once: every
    /// verified playbook names it (a digest and base64 per file would be a fifth of what a
    /// remembered verdict costs).
    public let fingerprint: String

    public init(name: String, material: Material) {
        self.name = name
        self.material = material
        fingerprint = SSHPublicKey.fingerprint(ofBlob: Self.sshBlob(of: material))
    }

    /// The signature scheme this key verifies.
    public var algorithm: PlaybookSignatureAlgorithm {
        switch material {
        case .ed25519: .ed25519
        case .p256: .ecdsaP256
        }
    }

    /// The key in OpenSSH's wire form, so one key has one fingerprint whatever file holds it.
    public var sshBlob: [UInt8] { Self.sshBlob(of: material) }

    private static func sshBlob(of material: Material) -> [UInt8] {
        var writer = SSHWireWriter()
        switch material {
        case .ed25519(let key):
            writer.string("ssh-ed25519")
            writer.string(Array(key.rawRepresentation))
        case .p256(let key):
            writer.string("ecdsa-sha2-nistp256")
            writer.string("nistp256")
            writer.string(Array(key.x963Representation))
        }
        return writer.bytes
    }

    /// Reads a PEM public key; the error names what the file holds when it is not a usable key.
    public init(pem text: String, name: String) throws(SigningKeyError) {
        let block = try PEMBlock(text)
        guard block.label == "PUBLIC KEY" else {
            if block.label.hasSuffix("PRIVATE KEY") {
                throw SigningKeyError("it holds a private key; a trusted key is the public half (openssl pkey -in KEY.pem -pubout)")
            }
            throw SigningKeyError("it holds a PEM \"\(block.label)\" block, not a PUBLIC KEY (SubjectPublicKeyInfo)")
        }
        if let raw = DERPrefix.ed25519PublicKey.strip(block.der) {
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw SigningKeyError("its Ed25519 key is not valid")
            }
            self.init(name: name, material: .ed25519(key))
            return
        }
        if let key = try? P256.Signing.PublicKey(derRepresentation: block.der) {
            self.init(name: name, material: .p256(key))
            return
        }
        throw SigningKeyError("it is a \(DERPrefix.describeKeyType(block.der)) public key; wpk verifies Ed25519 and ECDSA P-256 keys")
    }

    /// Whether `signature` (raw 64 bytes for Ed25519, DER for P-256) signs `message`.
    public func isValid(signature: [UInt8], for message: [UInt8]) -> Bool {
        switch material {
        case .ed25519(let key):
            return key.isValidSignature(signature, for: message)
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        }
    }
}

/// A PEM private key `wpk sign` signs with: Ed25519 (PKCS#8) or ECDSA P-256 (PKCS#8 or SEC 1).
public struct PEMPrivateKey: Sendable {
    public enum Material: Sendable {
        case ed25519(Curve25519.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
    }

    public var material: Material

    /// Reads an unencrypted PEM private key, as `openssl genpkey` writes it.
    public init(pem text: String) throws(SigningKeyError) {
        let block = try PEMBlock(text)
        switch block.label {
        case "ENCRYPTED PRIVATE KEY":
            throw SigningKeyError("the key is encrypted; wpk signs with an unencrypted key (openssl pkey -in KEY.pem -out PLAIN.pem)")
        case "PRIVATE KEY", "EC PRIVATE KEY":
            break
        case "PUBLIC KEY":
            throw SigningKeyError("it is a public key; signing needs the private key")
        default:
            throw SigningKeyError("it holds a PEM \"\(block.label)\" block, not a PRIVATE KEY")
        }
        if let seed = DERPrefix.ed25519PrivateKey.strip(block.der) {
            guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
                throw SigningKeyError("its Ed25519 key is not valid")
            }
            material = .ed25519(key)
            return
        }
        if let key = try? P256.Signing.PrivateKey(derRepresentation: block.der) {
            material = .p256(key)
            return
        }
        throw SigningKeyError("it is a \(DERPrefix.describeKeyType(block.der)) private key; wpk signs with Ed25519 and ECDSA P-256 keys")
    }

    /// The scheme this key signs with.
    public var algorithm: PlaybookSignatureAlgorithm {
        switch material {
        case .ed25519: .ed25519
        case .p256: .ecdsaP256
        }
    }

    /// The public half.
    public var publicKey: PEMPublicKey {
        switch material {
        case .ed25519(let key): PEMPublicKey(name: "", material: .ed25519(key.publicKey))
        case .p256(let key): PEMPublicKey(name: "", material: .p256(key.publicKey))
        }
    }

    /// The signature file's content: base64 of the 64-byte Ed25519 signature, or base64 of the
    /// DER ECDSA signature (what cosign writes), with a final line break.
    public func signatureFile(for message: [UInt8]) throws -> [UInt8] {
        let signature: Data
        switch material {
        case .ed25519(let key): signature = try key.signature(for: message)
        case .p256(let key): signature = try key.signature(for: message).derRepresentation
        }
        return Array((signature.base64EncodedString() + "\n").utf8)
    }
}

/// One PEM block: its label and the DER bytes it carries.
struct PEMBlock {
    var label: String
    var der: [UInt8]

    /// The first block of a PEM text; anything before it (openssl's comments) is ignored.
    init(_ text: String) throws(SigningKeyError) {
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("-----") }) else {
            if text.hasPrefix("ssh-") || text.hasPrefix("ecdsa-sha2-") {
                throw SigningKeyError("it is an OpenSSH key; PEM keys are made with openssl (or ssh-keygen -e -m PKCS8 -f KEY.pub)")
            }
            throw SigningKeyError("it is not PEM (no -----BEGIN ...----- line)")
        }
        let label = String(lines[begin].dropFirst("-----BEGIN ".count).dropLast(5))
        guard let end = lines[(begin + 1)...].firstIndex(of: "-----END \(label)-----") else {
            throw SigningKeyError("its PEM block \"\(label)\" has no END line")
        }
        if lines[(begin + 1)..<end].contains(where: { $0.contains(":") }) {
            throw SigningKeyError("its PEM block has headers (an old-style encrypted key?); wpk reads unencrypted PKCS#8 or SEC 1 keys")
        }
        guard let der = Data(base64Encoded: lines[(begin + 1)..<end].joined()) else {
            throw SigningKeyError("its PEM block \"\(label)\" is not valid base64")
        }
        self.label = label
        self.der = Array(der)
    }
}

/// The fixed DER framing of Ed25519 keys (RFC 8410), which carry no parameters: the key is
/// everything after a constant prefix.
struct DERPrefix {
    var prefix: [UInt8]
    var keyLength: Int

    /// SubjectPublicKeyInfo { id-Ed25519 }, BIT STRING of 32 bytes.
    static let ed25519PublicKey = DERPrefix(
        prefix: [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00], keyLength: 32)
    /// OneAsymmetricKey v1 { id-Ed25519 }, OCTET STRING { OCTET STRING of the 32-byte seed }.
    static let ed25519PrivateKey = DERPrefix(
        prefix: [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20], keyLength: 32)

    /// The key bytes, when `der` is exactly this framing around a key of the right length.
    func strip(_ der: [UInt8]) -> [UInt8]? {
        guard der.count == prefix.count + keyLength, der.starts(with: prefix) else { return nil }
        return Array(der[prefix.count...])
    }

    /// A name for the key type a DER key names by its algorithm OID, for messages.
    static func describeKeyType(_ der: [UInt8]) -> String {
        let known: [([UInt8], String)] = [
            ([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01], "RSA"),
            ([0x2B, 0x81, 0x04, 0x00, 0x22], "ECDSA P-384"),
            ([0x2B, 0x81, 0x04, 0x00, 0x23], "ECDSA P-521"),
            ([0x2B, 0x81, 0x04, 0x00, 0x0A], "ECDSA secp256k1"),
            ([0x2B, 0x65, 0x71], "Ed448"),
            ([0x2B, 0x65, 0x6E], "X25519"),
            ([0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01], "EC"),
        ]
        for (oid, name) in known where der.firstRange(of: oid) != nil { return name }
        return "unrecognised"
    }
}
