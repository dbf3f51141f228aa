/// Reads the SSH wire encoding (RFC 4251: uint32, string, mpint) from untrusted bytes. Every
/// length is checked against what is left, so a forged length cannot read past the end or make
/// wpk allocate more than the input holds.
struct SSHWireReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Bytes not yet read.
    var remaining: Int { bytes.count - offset }

    /// Whether everything was read.
    var isAtEnd: Bool { offset == bytes.count }

    /// Takes `count` raw bytes.
    mutating func take(_ count: Int, _ what: String) throws(SSHSignatureError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw .malformed("\(what) runs past the end of the data") }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// A big-endian uint32.
    mutating func uint32(_ what: String) throws(SSHSignatureError) -> UInt32 {
        let raw = try take(4, what)
        return raw.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A length-prefixed byte string.
    mutating func string(_ what: String) throws(SSHSignatureError) -> [UInt8] {
        let length = try uint32(what)
        guard length <= UInt32(remaining) else { throw .malformed("\(what) claims \(length) bytes but only \(remaining) remain") }
        return Array(try take(Int(length), what))
    }

    /// A length-prefixed UTF-8 text without NUL bytes (names, namespaces, algorithms).
    mutating func text(_ what: String) throws(SSHSignatureError) -> String {
        let raw = try string(what)
        guard !raw.contains(0), let text = String(validating: raw, as: UTF8.self) else {
            throw .malformed("\(what) is not UTF-8 text")
        }
        return text
    }

    /// A non-negative mpint, as its magnitude without leading zeros.
    mutating func positiveInteger(_ what: String) throws(SSHSignatureError) -> [UInt8] {
        let raw = try string(what)
        if let first = raw.first, first & 0x80 != 0 { throw .malformed("\(what) is negative") }
        return Array(raw.drop { $0 == 0 })
    }
}

/// Writes the SSH wire encoding (the signed data of an SSHSIG, key blobs).
struct SSHWireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func raw<S: Sequence>(_ data: S) where S.Element == UInt8 { bytes.append(contentsOf: data) }

    mutating func uint32(_ value: UInt32) {
        bytes.append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    mutating func string<C: Collection>(_ data: C) where C.Element == UInt8 {
        uint32(UInt32(data.count))
        bytes.append(contentsOf: data)
    }

    mutating func string(_ text: String) { string(Array(text.utf8)) }

    /// An mpint from a non-negative magnitude (big-endian).
    mutating func positiveInteger(_ magnitude: [UInt8]) {
        let trimmed = Array(magnitude.drop { $0 == 0 })
        string(trimmed.first.map { $0 & 0x80 != 0 } == true ? [0] + trimmed : trimmed)
    }
}
