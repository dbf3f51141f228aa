/// Maps between byte offsets and editor positions in one file's bytes.
///
/// Line breaks are the ones libyaml counts (LF, CR, CRLF, NEL, LS, PS), so positions computed
/// here agree with the marks libyaml reports. Invalid UTF-8 bytes count as one column each,
/// so even an undecodable file gets a position.
public struct LineIndex: Sendable {
    public let bytes: [UInt8]
    /// Byte offset where each line starts; `lineStarts[0] == 0`.
    public private(set) var lineStarts: [Int] = [0]
    /// Whether each line is pure ASCII (columns then equal bytes).
    private var asciiLine: [Bool] = []

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        // About one line per 30 bytes in YAML: one allocation instead of a dozen regrowths.
        lineStarts.reserveCapacity(bytes.count / 30 + 2)
        asciiLine.reserveCapacity(bytes.count / 30 + 2)
        var ascii = true
        var i = 0
        let n = bytes.count
        while i < n {
            // Skip eight bytes at a time while they hold no line break and nothing non-ASCII.
            i = SWAR.skipASCII(bytes, from: i) { word in
                SWAR.hasHighBit(word) || SWAR.hasByte(word, 0x0A) || SWAR.hasByte(word, 0x0D)
            }
            guard i < n else { break }
            let b = bytes[i]
            var breakLength = 0
            if b == 0x0A {
                breakLength = 1
            } else if b == 0x0D {
                breakLength = (i + 1 < n && bytes[i + 1] == 0x0A) ? 2 : 1
            } else if b == 0xC2, i + 1 < n, bytes[i + 1] == 0x85 {
                breakLength = 2
            } else if b == 0xE2, i + 2 < n, bytes[i + 1] == 0x80, bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9 {
                breakLength = 3
            }
            if breakLength > 0 {
                asciiLine.append(ascii && b < 0x80)
                ascii = true
                i += breakLength
                lineStarts.append(i)
            } else {
                if b >= 0x80 { ascii = false }
                i += 1
            }
        }
        asciiLine.append(ascii)
    }

    public var lineCount: Int { lineStarts.count }

    /// Whether every byte is ASCII.
    public var isASCII: Bool { !asciiLine.contains(false) }

    /// The byte offset of a 0-based line and 0-based column (in Unicode scalars).
    public func offset(line: Int, column: Int) -> Int {
        guard line < lineStarts.count else { return bytes.count }
        let start = lineStarts[line]
        if asciiLine[line] { return min(start + column, bytes.count) }
        var offset = start
        var remaining = column
        while remaining > 0 && offset < bytes.count {
            offset += LineIndex.sequenceLength(bytes, at: offset)
            remaining -= 1
        }
        return min(offset, bytes.count)
    }

    /// A 1-based mark for 0-based line and column, as libyaml reports them.
    public func mark(line: Int, column: Int) -> Mark {
        Mark(line: line + 1, column: column + 1, offset: offset(line: line, column: column))
    }

    /// The 1-based mark of a byte offset.
    public func mark(offset: Int) -> Mark {
        let clamped = max(0, min(offset, bytes.count))
        // Binary search for the last line start <= offset.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= clamped { low = mid } else { high = mid - 1 }
        }
        var column = 0
        var position = lineStarts[low]
        while position < clamped {
            position += LineIndex.sequenceLength(bytes, at: position)
            column += 1
        }
        return Mark(line: low + 1, column: column + 1, offset: clamped)
    }

    /// The bytes of a 1-based line without its line break.
    public func lineBytes(_ line: Int) -> ArraySlice<UInt8> {
        guard line >= 1 && line <= lineStarts.count else { return [] }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] : bytes.count
        while end > start, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        if end - start >= 2, bytes[end - 2] == 0xC2, bytes[end - 1] == 0x85 { end -= 2 }
        if end - start >= 3, bytes[end - 3] == 0xE2, bytes[end - 2] == 0x80,
            bytes[end - 1] == 0xA8 || bytes[end - 1] == 0xA9
        {
            end -= 3
        }
        return bytes[start..<end]
    }

    /// The length of the UTF-8 sequence starting at `offset`, 1 for an invalid byte.
    static func sequenceLength(_ bytes: [UInt8], at offset: Int) -> Int {
        let b = bytes[offset]
        let length: Int
        switch b {
        case 0x00..<0x80: return 1
        case 0xC2..<0xE0: length = 2
        case 0xE0..<0xF0: length = 3
        case 0xF0..<0xF5: length = 4
        default: return 1
        }
        guard offset + length <= bytes.count else { return 1 }
        for k in 1..<length where bytes[offset + k] & 0xC0 != 0x80 { return 1 }
        return length
    }
}

/// Byte tests on eight bytes at once ("SIMD within a register"), for the loader's scans over
/// whole files.
enum SWAR {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte has its high bit set (not ASCII).
    @inline(__always) static func hasHighBit(_ word: UInt64) -> Bool { word & highs != 0 }

    /// Whether any byte is zero (exact when no byte has its high bit set, which callers check first).
    @inline(__always) static func hasZeroByte(_ word: UInt64) -> Bool { (word &- ones) & ~word & highs != 0 }

    /// Whether any byte equals `byte` (same precondition as `hasZeroByte`).
    @inline(__always) static func hasByte(_ word: UInt64, _ byte: UInt8) -> Bool { hasZeroByte(word ^ (ones &* UInt64(byte))) }

    /// The first index at or after `start` whose eight-byte word `stops`, word-aligned steps only;
    /// the caller examines the bytes from there one at a time.
    @inline(__always) static func skipASCII(_ bytes: [UInt8], from start: Int, stops: (UInt64) -> Bool) -> Int {
        bytes.withUnsafeBytes { raw in
            var i = start
            while i + 8 <= raw.count {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if stops(word) { break }
                i += 8
            }
            return i
        }
    }
}
