import BigInt

/// An exact decimal number: `significand × 10^exponent`, normalized so equal values compare equal.
///
/// JSON Schema needs `1.0 == 1`, integers past 2^53 without rounding and `multipleOf` on decimals
/// without binary drift; a Double gives none of these, so numbers stay decimal end to end.
public struct Number: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Largest decimal exponent accepted; `1e100000000` would otherwise cost gigabytes when aligned.
    public static let maxExponentMagnitude = 100_000
    /// Most significant digits accepted; converting longer digit strings costs quadratic time.
    public static let maxSignificantDigits = 1_000

    public let significand: BigInt
    public let exponent: Int

    /// Creates a number, normalizing trailing zeros of the significand into the exponent.
    public init(significand: BigInt, exponent: Int = 0) {
        if significand.isZero {
            self.significand = 0
            self.exponent = 0
            return
        }
        var sig = significand
        var exp = exponent
        while true {
            let (q, r) = sig.quotientAndRemainder(dividingBy: 10)
            if !r.isZero { break }
            sig = q
            exp += 1
        }
        self.significand = sig
        self.exponent = exp
    }

    /// An integer; trailing zeros are normalized in machine arithmetic, so the common small
    /// integers (counts, sequence numbers) never pay for BigInt division.
    public init(_ value: Int) {
        var significand = value
        var exponent = 0
        while significand != 0 && significand % 10 == 0 {
            significand /= 10
            exponent += 1
        }
        self.significand = BigInt(significand)
        self.exponent = exponent
    }

    /// Parses JSON/YAML decimal notation (`-12`, `3.25`, `1e-8`, `+.5`); nil when it is not one
    /// or it is past `maxSignificantDigits` or `maxExponentMagnitude`.
    public init?(decimal text: Substring) {
        let bytes = text.utf8
        var index = bytes.startIndex
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index = bytes.index(after: index)
        }
        // Significant digits without leading zeros; trailing zeros are counted, not stored,
        // so `1000` and `1e3` normalize alike without dividing a big integer.
        // Up to 18 digits accumulate in `small` with no allocation; longer ones spill to `digits`.
        var small: Int64 = 0
        var smallCount = 0
        var digits: [UInt8] = []
        var pendingZeros = 0
        var fractionDigits = 0
        var sawDigit = false
        var sawPoint = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x30 && byte <= 0x39 {
                sawDigit = true
                if sawPoint { fractionDigits += 1 }
                if byte == 0x30 {
                    if smallCount > 0 || !digits.isEmpty { pendingZeros += 1 }
                } else {
                    let needed = smallCount + digits.count + pendingZeros + 1
                    guard needed <= Number.maxSignificantDigits else { return nil }
                    if digits.isEmpty && needed <= 18 {
                        for _ in 0..<pendingZeros { small *= 10 }
                        small = small * 10 + Int64(byte - 0x30)
                        smallCount = needed
                    } else {
                        if digits.isEmpty {
                            digits = Array(String(small).utf8).map { $0 - 0x30 }
                            if smallCount == 0 { digits = [] }
                            smallCount = 0
                        }
                        digits.append(contentsOf: repeatElement(0, count: pendingZeros))
                        digits.append(byte - 0x30)
                    }
                    pendingZeros = 0
                }
            } else if byte == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index = bytes.index(after: index)
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if index < bytes.endIndex {
            guard bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") else { return nil }
            index = bytes.index(after: index)
            var expNegative = false
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                expNegative = bytes[index] == UInt8(ascii: "-")
                index = bytes.index(after: index)
            }
            var expDigits = 0
            while index < bytes.endIndex {
                let byte = bytes[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                guard expDigits < 9 else { return nil }
                exponent = exponent * 10 + Int(byte - 0x30)
                expDigits += 1
                index = bytes.index(after: index)
            }
            guard expDigits > 0 else { return nil }
            if expNegative { exponent = -exponent }
        }
        exponent += pendingZeros - fractionDigits
        guard abs(exponent) <= Number.maxExponentMagnitude else { return nil }
        var significand: BigInt
        if digits.isEmpty {
            significand = BigInt(small)
        } else {
            let text = String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
            guard let big = BigInt(text, radix: 10) else { return nil }
            significand = big
        }
        if negative { significand.negate() }
        if digits.isEmpty && smallCount == 0 { exponent = 0 }
        self.significand = significand
        self.exponent = exponent
    }

    /// Converts a Double exactly through its shortest round-trip decimal form.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        self.init(decimal: Substring(String(value)))
    }

    public var isZero: Bool { significand.isZero }
    public var isNegative: Bool { significand.sign == .minus && !significand.isZero }
    /// True when the value has no fractional part (JSON Schema's "integer").
    public var isInteger: Bool { exponent >= 0 }

    /// The value as an Int when it is an integer that fits.
    public var intValue: Int? {
        guard isInteger, exponent < 19 else { return nil }
        if exponent == 0 { return Int(exactly: significand) }
        let value = significand * BigInt(10).power(exponent)
        return Int(exactly: value)
    }

    /// The nearest Double (for display and durations, never for comparisons).
    public var doubleValue: Double { Double(description) ?? .nan }

    /// Number of decimal digits of the significand.
    private var digitCount: Int { significand.magnitude.description.count }

    public static func < (lhs: Number, rhs: Number) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// Exact three-way comparison: in machine integers when both fit (almost every number in a
    /// playbook), else without aligning numbers whose magnitudes clearly differ.
    public static func compare(_ lhs: Number, _ rhs: Number) -> Int {
        if let (l, r) = aligned(lhs, rhs) { return l == r ? 0 : (l < r ? -1 : 1) }
        let ls = lhs.isZero ? 0 : (lhs.isNegative ? -1 : 1)
        let rs = rhs.isZero ? 0 : (rhs.isNegative ? -1 : 1)
        if ls != rs { return ls < rs ? -1 : 1 }
        if ls == 0 { return 0 }
        // Magnitude order: the position of the leading digit decides unless equal.
        let lLead = lhs.digitCount + lhs.exponent
        let rLead = rhs.digitCount + rhs.exponent
        if lLead != rLead {
            let magnitudeOrder = lLead < rLead ? -1 : 1
            return ls > 0 ? magnitudeOrder : -magnitudeOrder
        }
        let common = min(lhs.exponent, rhs.exponent)
        let l = lhs.significand * BigInt(10).power(lhs.exponent - common)
        let r = rhs.significand * BigInt(10).power(rhs.exponent - common)
        return l == r ? 0 : (l < r ? -1 : 1)
    }

    /// True when `self / divisor` is an integer, computed exactly: in machine integers when both
    /// fit, otherwise with work bounded by the divisor's digits whatever the exponents
    /// (`1e-99999` against `0.1` must not build 10^99998).
    public func isMultiple(of divisor: Number) -> Bool {
        if divisor.isZero { return false }
        if isZero { return true }
        if let (value, unit) = Number.aligned(self, divisor) {
            // Int64.min % -1 overflows; its remainder is 0, which the partial value reports.
            return value.remainderReportingOverflow(dividingBy: unit).partialValue == 0
        }
        // self = a·10^p, divisor = b·10^q, a without trailing zeros. For p < q, a/(b·10^(q-p)) needs
        // 10 | a: never. For p >= q, b | a·10^s holds for s = p-q exactly when it holds for
        // s = min(p-q, t), t the larger count of 2s or 5s in b, since further tens only add 2s and 5s.
        guard exponent >= divisor.exponent else { return false }
        let shift = min(exponent - divisor.exponent, Number.twosAndFives(divisor.significand.magnitude))
        return (significand * BigInt(10).power(shift)) % divisor.significand == 0
    }

    /// The significand as an Int64 when it fits (almost every number in a playbook).
    private var smallSignificand: Int64? {
        Int64(exactly: significand)
    }

    /// `significand × 10^shift` in Int64, or nil on overflow.
    private static func scaled(_ value: Int64, by shift: Int) -> Int64? {
        guard shift <= 18 else { return value == 0 ? 0 : nil }
        var result = value
        for _ in 0..<shift {
            let (product, overflow) = result.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            result = product
        }
        return result
    }

    /// Both numbers as Int64 significands over a common exponent, when that is exact.
    private static func aligned(_ a: Number, _ b: Number) -> (Int64, Int64)? {
        guard let sa = a.smallSignificand, let sb = b.smallSignificand else { return nil }
        let common = min(a.exponent, b.exponent)
        guard let la = scaled(sa, by: a.exponent - common), let lb = scaled(sb, by: b.exponent - common) else { return nil }
        return (la, lb)
    }

    /// The larger of the multiplicities of 2 and of 5 in `n` (n > 0).
    private static func twosAndFives(_ n: BigUInt) -> Int {
        let twos = n.trailingZeroBitCount
        var fives = 0
        var rest = n
        while true {
            let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: 5)
            guard remainder.isZero else { break }
            fives += 1
            rest = quotient
        }
        return max(twos, fives)
    }

    /// Plain decimal text, exact: `12`, `-0.5`, `1.5e+30` only for large exponents.
    public var description: String {
        if significand.isZero { return "0" }
        let negative = isNegative
        let digits = significand.magnitude.description
        var body: String
        if exponent >= 0 {
            if exponent <= 21 {
                body = digits + String(repeating: "0", count: exponent)
            } else {
                body = scientific(digits: digits)
            }
        } else {
            let fraction = -exponent
            if fraction < digits.count {
                let split = digits.index(digits.endIndex, offsetBy: -fraction)
                body = digits[..<split] + "." + digits[split...]
            } else if fraction - digits.count <= 6 {
                body = "0." + String(repeating: "0", count: fraction - digits.count) + digits
            } else {
                body = scientific(digits: digits)
            }
        }
        return negative ? "-" + body : body
    }

    private func scientific(digits: String) -> String {
        let leadExponent = exponent + digits.count - 1
        let mantissa =
            digits.count > 1
            ? String(digits.prefix(1)) + "." + digits.dropFirst()
            : digits
        return mantissa + "e" + (leadExponent >= 0 ? "+" : "") + String(leadExponent)
    }
}
