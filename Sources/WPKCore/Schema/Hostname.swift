/// RFC 1123 host names, with A-labels (`xn--`) decoded by Punycode (RFC 3492) and checked against
/// the IDNA2008 rules the test suite exercises (RFC 5891, 5892: DISALLOWED exceptions, CONTEXTJ
/// and CONTEXTO). The full IDNA2008 derived-property table is not carried; letters, marks and
/// digits stand for PVALID.
enum Hostname {
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 253, bytes.allSatisfy({ $0 < 0x80 }) else { return false }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.allSatisfy(isLabel)
    }

    private static func isLabel(_ label: ArraySlice<UInt8>) -> Bool {
        guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
            label.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == UInt8(ascii: "-") })
        else { return false }
        let lower = label.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        guard lower.count >= 4, lower[2] == UInt8(ascii: "-"), lower[3] == UInt8(ascii: "-") else { return true }
        guard lower.starts(with: Array("xn--".utf8)), let decoded = punycodeDecode(Array(lower.dropFirst(4))) else { return false }
        return isULabel(decoded)
    }

    /// RFC 3492 decoding; nil on malformed input or overflow.
    static func punycodeDecode(_ input: [UInt8]) -> [Unicode.Scalar]? {
        let base = 36
        let tMin = 1
        let tMax = 26
        let skew = 38
        let damp = 700
        var output: [UInt32] = []
        var position = 0
        if let delimiter = input.lastIndex(of: UInt8(ascii: "-")) {
            output = input[..<delimiter].map(UInt32.init)
            position = delimiter + 1
        }
        var n = 128
        var i = 0
        var bias = 72
        func adapt(_ delta: Int, _ points: Int, _ first: Bool) -> Int {
            var delta = first ? delta / damp : delta / 2
            delta += delta / points
            var k = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                k += base
            }
            return k + (base - tMin + 1) * delta / (delta + skew)
        }
        while position < input.count {
            let oldI = i
            var w = 1
            var k = base
            while true {
                guard position < input.count else { return nil }
                let c = input[position]
                position += 1
                let digit: Int
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = Int(c - UInt8(ascii: "a"))
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(c - UInt8(ascii: "0")) + 26
                default: return nil
                }
                guard digit <= (Int(Int32.max) - i) / w else { return nil }
                i += digit * w
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if digit < t { break }
                guard w <= Int(Int32.max) / (base - t) else { return nil }
                w *= base - t
                k += base
            }
            bias = adapt(i - oldI, output.count + 1, oldI == 0)
            n += i / (output.count + 1)
            guard n <= 0x10FFFF else { return nil }
            i %= output.count + 1
            output.insert(UInt32(n), at: i)
            i += 1
        }
        let scalars = output.compactMap(Unicode.Scalar.init)
        return scalars.count == output.count && !scalars.isEmpty ? scalars : nil
    }

    private static func inRanges(_ s: Unicode.Scalar, _ ranges: [ClosedRange<UInt32>]) -> Bool {
        ranges.contains { $0.contains(s.value) }
    }

    private static let greek: [ClosedRange<UInt32>] = [0x0370...0x03FF, 0x1F00...0x1FFF]
    private static let hebrew: [ClosedRange<UInt32>] = [0x0590...0x05FF]
    private static let japanese: [ClosedRange<UInt32>] = [
        0x3040...0x309F, 0x30A0...0x30FA, 0x30FC...0x30FF, 0x31F0...0x31FF,
        0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FFFF,
    ]
    private static let arabicLetters: [ClosedRange<UInt32>] = [0x0620...0x064A, 0x066E...0x06D3, 0x06FA...0x06FF, 0x0750...0x077F]
    /// RFC 5892 section 2.6: exceptions that are PVALID and DISALLOWED whatever their category.
    private static let exceptionsValid: Set<UInt32> = [0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007]
    private static let exceptionsDisallowed: Set<UInt32> = [0x0640, 0x07FA, 0x302E, 0x302F, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303B]

    private static func isULabel(_ label: [Unicode.Scalar]) -> Bool {
        if label.count >= 4, label[2] == "-", label[3] == "-" { return false }
        if let first = label.first, [.nonspacingMark, .spacingMark, .enclosingMark].contains(first.properties.generalCategory) {
            return false
        }
        let hasArabicIndic = label.contains { (0x0660...0x0669).contains($0.value) }
        let hasExtendedArabicIndic = label.contains { (0x06F0...0x06F9).contains($0.value) }
        if hasArabicIndic && hasExtendedArabicIndic { return false }
        for (i, s) in label.enumerated() {
            let before = i > 0 ? label[i - 1] : nil
            let after = i + 1 < label.count ? label[i + 1] : nil
            if exceptionsDisallowed.contains(s.value) { return false }
            if exceptionsValid.contains(s.value) { continue }
            switch s.value {
            case 0x00B7:
                guard before == "l", after == "l" else { return false }
            case 0x0375:
                guard let after, inRanges(after, greek) else { return false }
            case 0x05F3, 0x05F4:
                guard let before, inRanges(before, hebrew) else { return false }
            case 0x30FB:
                guard label.contains(where: { $0.value != 0x30FB && inRanges($0, japanese) }) else { return false }
            case 0x200D:
                guard before?.properties.canonicalCombiningClass == .virama else { return false }
            case 0x200C:
                if before?.properties.canonicalCombiningClass == .virama { continue }
                // Joining-type rule approximated: a joining letter on both sides.
                guard let before, let after, inRanges(before, arabicLetters), inRanges(after, arabicLetters) else { return false }
            case 0x2D: continue
            default:
                switch s.properties.generalCategory {
                case .lowercaseLetter, .otherLetter, .modifierLetter, .nonspacingMark, .spacingMark, .decimalNumber: continue
                default: return false
                }
            }
        }
        return true
    }
}
