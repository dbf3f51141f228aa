import Crypto
import Foundation
import _CryptoExtras

/// An OpenSSH public key that wpk can verify signatures with: ssh-ed25519, ecdsa-sha2-nistp256
/// or ssh-rsa (signatures rsa-sha2-256/512 only). Equal keys have equal wire blobs.
public struct SSHPublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The key type name, e.g. `ssh-ed25519`.
    public let algorithm: String
    /// The key in SSH wire encoding (what fingerprints hash).
    public let blob: [UInt8]
    private let material: Material

    private enum Material: @unchecked Sendable {
        case ed25519(Curve25519.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
    }

    /// Smallest and largest RSA modulus accepted, in bits (OpenSSH's own bounds are 1024 and 16384;
    /// 2048 is the least BoringSSL verifies with its safe API).
    static let rsaBits = 2048...16384

    /// Reads a key from its wire blob; anything but a supported plain key is refused.
    public init(blob: [UInt8]) throws(SSHSignatureError) {
        var reader = SSHWireReader(blob)
        let algorithm = try reader.text("key type")
        switch algorithm {
        case "ssh-ed25519":
            let raw = try reader.string("ed25519 key")
            guard raw.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw .malformed("an ssh-ed25519 key must be 32 bytes")
            }
            material = .ed25519(key)
        case "ecdsa-sha2-nistp256":
            guard try reader.text("curve name") == "nistp256" else { throw .malformed("ecdsa-sha2-nistp256 key names another curve") }
            let point = try reader.string("ecdsa point")
            guard point.count == 65, point.first == 4, let key = try? P256.Signing.PublicKey(x963Representation: point) else {
                throw .malformed("the ecdsa-sha2-nistp256 point is not an uncompressed point on the curve")
            }
            material = .p256(key)
        case "ssh-rsa":
            let exponent = try reader.positiveInteger("rsa exponent")
            let modulus = try reader.positiveInteger("rsa modulus")
            let bits = modulus.count * 8 - (modulus.first.map { $0.leadingZeroBitCount } ?? 8)
            guard SSHPublicKey.rsaBits.contains(bits) else {
                throw .unsupportedAlgorithm("ssh-rsa with a \(bits)-bit modulus")
            }
            guard !exponent.isEmpty, exponent.count <= 8, let key = try? _RSA.Signing.PublicKey(n: modulus, e: exponent) else {
                throw .malformed("the ssh-rsa key is not a usable RSA public key")
            }
            material = .rsa(key)
        default:
            throw .unsupportedAlgorithm(algorithm)
        }
        guard reader.isAtEnd else { throw .malformed("the \(algorithm) key has trailing data") }
        self.algorithm = algorithm
        self.blob = blob
    }

    /// Reads the `TYPE BASE64 [comment]` form of `.pub` files and `allowed_signers`.
    public init(openSSH text: String) throws(SSHSignatureError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2 else { throw .malformed("a public key is written as: TYPE BASE64 [COMMENT]") }
        guard fields[1].utf8.count <= SSHSignature.maxArmoredBytes,
            let decoded = Data(base64Encoded: String(fields[1]))
        else {
            throw .malformed("the key's base64 is invalid")
        }
        try self.init(blob: [UInt8](decoded))
        guard algorithm == fields[0] else {
            throw .malformed("the key says it is \(algorithm) but is written as \(fields[0])")
        }
    }

    /// `SHA256:` and the unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -l` prints it.
    public var fingerprint: String { SSHPublicKey.fingerprint(ofBlob: blob) }

    /// The fingerprint of any key blob, supported or not (to name a key wpk refuses).
    public static func fingerprint(ofBlob blob: [UInt8]) -> String {
        let encoded = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + encoded.prefix { $0 != "=" }
    }

    /// `TYPE BASE64`, the form of `.pub` files.
    public var openSSH: String { algorithm + " " + Data(blob).base64EncodedString() }

    public var description: String { "\(algorithm) \(fingerprint)" }

    public static func == (a: SSHPublicKey, b: SSHPublicKey) -> Bool { a.blob == b.blob }
    public func hash(into hasher: inout Hasher) { hasher.combine(blob) }

    /// Checks an SSH signature blob (`string algorithm, string signature`) over `data`.
    func verify(signatureBlob: [UInt8], data: [UInt8]) throws(SSHSignatureError) {
        var reader = SSHWireReader(signatureBlob)
        let signatureAlgorithm = try reader.text("signature algorithm")
        let signature = try reader.string("signature")
        guard reader.isAtEnd else { throw .malformed("the signature has trailing data") }
        let valid: Bool
        switch material {
        case .ed25519(let key):
            guard signatureAlgorithm == "ssh-ed25519" else { throw .unsupportedAlgorithm(signatureAlgorithm) }
            guard signature.count == 64 else { throw .malformed("an ssh-ed25519 signature must be 64 bytes") }
            valid = key.isValidSignature(signature, for: data)
        case .p256(let key):
            guard signatureAlgorithm == "ecdsa-sha2-nistp256" else { throw .unsupportedAlgorithm(signatureAlgorithm) }
            var inner = SSHWireReader(signature)
            let r = try inner.positiveInteger("ecdsa r")
            let s = try inner.positiveInteger("ecdsa s")
            guard inner.isAtEnd, r.count <= 32, s.count <= 32 else {
                throw .malformed("the ecdsa-sha2-nistp256 signature is not two 256-bit integers")
            }
            let raw = [UInt8](repeating: 0, count: 32 - r.count) + r + [UInt8](repeating: 0, count: 32 - s.count) + s
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { throw .invalidSignature }
            valid = key.isValidSignature(parsed, for: data)
        case .rsa(let key):
            let size = (key.keySizeInBits + 7) / 8
            guard signature.count <= size else { throw .malformed("the RSA signature is longer than the modulus") }
            // OpenSSH accepts a signature shorter than the modulus and pads it with leading zeros.
            let parsed = _RSA.Signing.RSASignature(rawRepresentation: [UInt8](repeating: 0, count: size - signature.count) + signature)
            // ssh-rsa (SHA-1) is refused, as ssh-keygen refuses it for SSHSIG.
            switch signatureAlgorithm {
            case "rsa-sha2-256": valid = key.isValidSignature(parsed, for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
            case "rsa-sha2-512": valid = key.isValidSignature(parsed, for: SHA512.hash(data: data), padding: .insecurePKCS1v1_5)
            default: throw .unsupportedAlgorithm(signatureAlgorithm)
            }
        }
        guard valid else { throw .invalidSignature }
    }
}
