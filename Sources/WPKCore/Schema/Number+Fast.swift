import BigInt

extension Number {
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

    /// Exact three-way comparison, in machine integers when both fit and through `compare` otherwise.
    static func schemaCompare(_ a: Number, _ b: Number) -> Int {
        if let (la, lb) = aligned(a, b) { return la == lb ? 0 : (la < lb ? -1 : 1) }
        return compare(a, b)
    }

    /// Exact `multipleOf`, in machine integers when both fit, and otherwise with work bounded by
    /// the divisor's digits whatever the exponents (`1e-99999` against `0.1` must not build 10^99998).
    func schemaIsMultiple(of divisor: Number) -> Bool {
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
}
