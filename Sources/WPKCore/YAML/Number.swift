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
    /// or its exponent is past `maxExponentMagnitude`.
    public init?(decimal text: Substring) {
        var index = text.startIndex
        var negative = false
        if index < text.endIndex, text[index] == "-" || text[index] == "+" {
            negative = text[index] == "-"
            index = text.index(after: index)
        }
        var digits = ""
        var fractionDigits = 0
        var sawDigit = false
        var sawPoint = false
        while index < text.endIndex {
            let ch = text[index]
            if ch.isASCII, let _ = ch.wholeNumberValue {
                digits.append(ch)
                sawDigit = true
                if sawPoint { fractionDigits += 1 }
            } else if ch == "." && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index = text.index(after: index)
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if index < text.endIndex {
            guard text[index] == "e" || text[index] == "E" else { return nil }
            index = text.index(after: index)
            var expNegative = false
            if index < text.endIndex, text[index] == "-" || text[index] == "+" {
                expNegative = text[index] == "-"
                index = text.index(after: index)
            }
            let expDigits = text[index...]
            guard !expDigits.isEmpty, expDigits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            guard expDigits.count <= 9, let value = Int(expDigits) else { return nil }
            exponent = expNegative ? -value : value
        }
        exponent -= fractionDigits
        var trimmed = Substring(digits.drop(while: { $0 == "0" }))
        // Trailing zeros move into the exponent here, on text, so normalizing costs nothing later.
        while trimmed.last == "0" {
            trimmed = trimmed.dropLast()
            exponent += 1
        }
        guard trimmed.count <= Number.maxSignificantDigits,
              abs(exponent) <= Number.maxExponentMagnitude else { return nil }
        var sig: BigInt
        if trimmed.isEmpty {
            sig = 0
        } else if trimmed.count <= 18, let small = Int64(trimmed) {
            sig = BigInt(small)
        } else {
            guard let big = BigInt(trimmed, radix: 10) else { return nil }
            sig = big
        }
        if negative { sig.negate() }
        self.init(significand: sig, exponent: exponent)
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

    /// Three-way comparison without aligning numbers whose magnitudes clearly differ.
    public static func compare(_ lhs: Number, _ rhs: Number) -> Int {
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

    /// True when `self / divisor` is an integer, computed exactly.
    public func isMultiple(of divisor: Number) -> Bool {
        if divisor.isZero { return false }
        if isZero { return true }
        // Leading-digit positions bound the work: past the exponent limit, treat as not a multiple.
        let common = min(exponent, divisor.exponent)
        guard exponent - common <= Number.maxExponentMagnitude * 2,
              divisor.exponent - common <= Number.maxExponentMagnitude * 2 else { return false }
        let l = significand * BigInt(10).power(exponent - common)
        let r = divisor.significand * BigInt(10).power(divisor.exponent - common)
        return (l % r).isZero
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
        let mantissa = digits.count > 1
            ? String(digits.prefix(1)) + "." + digits.dropFirst()
            : digits
        return mantissa + "e" + (leadExponent >= 0 ? "+" : "") + String(leadExponent)
    }
}
