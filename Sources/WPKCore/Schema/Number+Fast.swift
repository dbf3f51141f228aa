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

    /// Exact `multipleOf`, in machine integers when both fit.
    func schemaIsMultiple(of divisor: Number) -> Bool {
        if let (value, unit) = Number.aligned(self, divisor) {
            // Int64.min % -1 overflows; its remainder is 0, which the partial value reports.
            return unit != 0 && value.remainderReportingOverflow(dividingBy: unit).partialValue == 0
        }
        return isMultiple(of: divisor)
    }
}
