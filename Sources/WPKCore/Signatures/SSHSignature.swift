import Crypto
import Foundation

/// An OpenSSH `SSHSIG` signature (openssh-portable's PROTOCOL.sshsig), as `ssh-keygen -Y sign`
/// writes it. Parsing is strict and bounded: the armored text is untrusted.
public struct SSHSignature: Sendable, Equatable {
    /// The key that made the signature (as the signature itself names it).
    public let publicKey: SSHPublicKey
    /// What the signature is for (`wpk-decision`, `file`, ...): a signature in one namespace is
    /// never valid in another.
    public let namespace: String
    public let hashAlgorithm: HashAlgorithm
    /// The inner `string algorithm, string signature` blob.
    let signatureBlob: [UInt8]

    /// The message digests SSHSIG allows.
    public enum HashAlgorithm: String, Sendable, Equatable {
        case sha256, sha512

        func digest(_ message: [UInt8]) -> [UInt8] {
            switch self {
            case .sha256: Array(SHA256.hash(data: message))
            case .sha512: Array(SHA512.hash(data: message))
            }
        }
    }

    /// Largest armored signature read (an RSA-16384 signature with its key is about 6 KiB).
    public static let maxArmoredBytes = 16 * 1024
    static let magic = Array("SSHSIG".utf8)
    static let beginArmor = "-----BEGIN SSH SIGNATURE-----"
    static let endArmor = "-----END SSH SIGNATURE-----"

    /// Reads the armored form.
    public init(armored text: String) throws(SSHSignatureError) {
        try self.init(blob: SSHSignature.dearmor(text))
    }

    /// Reads the binary SSHSIG blob.
    public init(blob: [UInt8]) throws(SSHSignatureError) {
        var reader = SSHWireReader(blob)
        guard blob.count >= 10, Array(try reader.take(6, "magic")) == SSHSignature.magic else {
            throw .malformed("it does not start with the SSHSIG preamble")
        }
        let version = try reader.uint32("version")
        guard version == 1 else { throw .malformed("signature version \(version) is not supported (1)") }
        let keyBlob = try reader.string("public key")
        let namespace = try reader.text("namespace")
        _ = try reader.string("reserved")
        let hashName = try reader.text("hash algorithm")
        let signatureBlob = try reader.string("signature")
        guard reader.isAtEnd else { throw .malformed("the signature has trailing data") }
        guard !namespace.isEmpty else { throw .malformed("the namespace is empty") }
        guard let hash = HashAlgorithm(rawValue: hashName) else { throw .unsupportedHash(hashName) }
        self.publicKey = try SSHPublicKey(blob: keyBlob)
        self.namespace = namespace
        self.hashAlgorithm = hash
        self.signatureBlob = signatureBlob
    }

    /// The armor's base64 body decoded, as `sshsig_dearmor` reads it: the BEGIN line first,
    /// the END line after a newline, line breaks inside ignored.
    static func dearmor(_ text: String) throws(SSHSignatureError) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxArmoredBytes else { throw .badArmor("longer than \(maxArmoredBytes) bytes") }
        let begin = Array(beginArmor.utf8)
        guard bytes.starts(with: begin) else { throw .badArmor("it does not start with \(beginArmor)") }
        var start = begin.count
        if bytes[start...].starts(with: [0x0D, 0x0A]) {
            start += 2
        } else if bytes[start...].starts(with: [0x0A]) {
            start += 1
        } else {
            throw .badArmor("no line break after \(beginArmor)")
        }
        let footer = [0x0A] + Array(endArmor.utf8)
        var end: Int?
        var index = start
        while index + footer.count <= bytes.count {
            if bytes[index] == 0x0A, bytes[index...].starts(with: footer) {
                end = index
                break
            }
            index += 1
        }
        guard let end else { throw .badArmor("no \(endArmor) line") }
        let body = bytes[start..<end].filter { $0 != 0x0A && $0 != 0x0D }
        guard !body.isEmpty, let decoded = Data(base64Encoded: Data(body)) else {
            throw .badArmor("the body is not base64")
        }
        return [UInt8](decoded)
    }

    /// What the key actually signs for `message` (PROTOCOL.sshsig): the preamble, namespace,
    /// an empty reserved field, the hash algorithm and H(message), never the message itself.
    public static func signedData(message: [UInt8], namespace: String, hashAlgorithm: HashAlgorithm) -> [UInt8] {
        var writer = SSHWireWriter()
        writer.raw(magic)
        writer.string(namespace)
        writer.string([UInt8]())
        writer.string(hashAlgorithm.rawValue)
        writer.string(hashAlgorithm.digest(message))
        return writer.bytes
    }

    /// Checks that this signature signs `message` in `namespace`; who the key belongs to is a
    /// separate question (`AllowedSigners`).
    public func verify(message: [UInt8], namespace expected: String) throws(SSHSignatureError) {
        guard namespace == expected else { throw .wrongNamespace(expected: expected, found: namespace) }
        try publicKey.verify(
            signatureBlob: signatureBlob,
            data: SSHSignature.signedData(message: message, namespace: expected, hashAlgorithm: hashAlgorithm))
    }

    /// The SSHSIG blob for a signature made elsewhere (tests assemble signatures with it).
    public static func blob(
        publicKey: SSHPublicKey, namespace: String, hashAlgorithm: HashAlgorithm,
        signatureAlgorithm: String, signature: [UInt8]
    ) -> [UInt8] {
        var inner = SSHWireWriter()
        inner.string(signatureAlgorithm)
        inner.string(signature)
        var writer = SSHWireWriter()
        writer.raw(magic)
        writer.uint32(1)
        writer.string(publicKey.blob)
        writer.string(namespace)
        writer.string([UInt8]())
        writer.string(hashAlgorithm.rawValue)
        writer.string(inner.bytes)
        return writer.bytes
    }

    /// The armored text of a blob, wrapped at 70 columns as ssh-keygen writes it.
    public static func armor(_ blob: [UInt8]) -> String {
        let encoded = Array(Data(blob).base64EncodedString())
        var lines = [beginArmor]
        var start = 0
        while start < encoded.count {
            lines.append(String(encoded[start..<min(start + 70, encoded.count)]))
            start += 70
        }
        lines.append(endArmor)
        return lines.joined(separator: "\n") + "\n"
    }
}
