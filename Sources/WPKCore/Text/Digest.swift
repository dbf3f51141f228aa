import Crypto

/// SHA-256 digests in the `sha256:<64 hex>` form used by reports, plans and the ledger.
public enum ContentDigest {
    /// The digest of exact bytes.
    public static func sha256<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        "sha256:" + hex(SHA256.hash(data: Array(bytes)))
    }

    /// Lowercase hex of any byte sequence.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
