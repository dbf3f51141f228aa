import Foundation

/// The `format` values wpk asserts on request, each checked against its RFC grammar on ASCII
/// bytes (so a Bengali digit or a fullwidth dot never passes for an ASCII one).
enum SchemaFormats {
    /// The formats asserted when `CompiledSchema.Options.assertFormats` is on; others stay annotations.
    static let asserted: Set<String> = [
        "date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6",
        "uri", "uri-reference", "uuid", "regex", "json-pointer",
    ]

    static func isAsserted(_ format: String) -> Bool { asserted.contains(format) }

    /// True when `text` is a valid instance of `format` (unknown formats always pass).
    static func check(_ format: String, _ text: String) -> Bool {
        let b = Array(text.utf8)
        switch format {
        case "date-time": return isDateTime(b)
        case "date": return isDate(b[...])
        case "time": return isTime(b[...])
        case "duration": return isDuration(b)
        case "email": return isEmail(b)
        case "hostname": return Hostname.isValid(text)
        case "ipv4": return isIPv4(b[...])
        case "ipv6": return isIPv6(b[...])
        case "uri": return URIGrammar.isURI(b, requireScheme: true)
        case "uri-reference": return URIGrammar.isURI(b, requireScheme: false)
        case "uuid": return isUUID(b)
        case "regex": return regexProblem(text) == nil
        case "json-pointer": return isJSONPointer(b)
        default: return true
        }
    }

    // MARK: regular expressions

    /// Why `text` is not a usable ECMA-262 pattern, or nil when it is: the same test (translation,
    /// then ICU) the `pattern` keyword and the planner apply. ICU through Foundation gives no
    /// reason on Linux, so the reason is the Swift regex parser's where it refuses the pattern too.
    /// Remembered by pattern (every copy of a playbook repeats its few patterns), bounded.
    static func regexProblem(_ text: String) -> String? {
        regexVerdictLock.lock()
        let known = regexVerdicts[text]
        regexVerdictLock.unlock()
        if let known { return known.problem }
        let problem: String?
        if let translated = ECMARegex.translate(text) {
            problem =
                (try? NSRegularExpression(pattern: translated)) != nil
                ? nil : swiftRegexReason(text) ?? "the ICU regular expression engine refuses it"
        } else {
            problem =
                swiftRegexReason(text) ?? "it is not ECMA-262 regular expression syntax (\\a, (?i), (?P<name>...) and (?#...) are not)"
        }
        regexVerdictLock.lock()
        if regexVerdicts.count >= 1024 { regexVerdicts.removeAll(keepingCapacity: true) }
        regexVerdicts[text] = RegexVerdict(problem: problem)
        regexVerdictLock.unlock()
        return problem
    }

    private struct RegexVerdict { var problem: String? }
    nonisolated(unsafe) private static var regexVerdicts: [String: RegexVerdict] = [:]
    private static let regexVerdictLock = NSLock()

    private static func swiftRegexReason(_ text: String) -> String? {
        do {
            _ = try Regex(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: dates and times (RFC 3339 section 5.6)

    private static func digits(_ b: ArraySlice<UInt8>, _ start: Int, _ count: Int) -> Int? {
        guard start + count <= b.endIndex else { return nil }
        var value = 0
        for i in start..<start + count {
            guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
            value = value * 10 + Int(b[i] - 0x30)
        }
        return value
    }

    static func isDate(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count == 10, b[s + 4] == UInt8(ascii: "-"), b[s + 7] == UInt8(ascii: "-"),
            let year = digits(b, s, 4), let month = digits(b, s + 5, 2), let day = digits(b, s + 8, 2),
            (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    static func isTime(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count >= 9, b[s + 2] == UInt8(ascii: ":"), b[s + 5] == UInt8(ascii: ":"),
            let hour = digits(b, s, 2), let minute = digits(b, s + 3, 2), let second = digits(b, s + 6, 2),
            hour <= 23, minute <= 59, second <= 60
        else { return false }
        var i = s + 8
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < b.endIndex, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > fractionStart, i < b.endIndex else { return false }
        }
        var offsetMinutes = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.endIndex else { return false }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard b.endIndex - i == 6, b[i + 3] == UInt8(ascii: ":"),
                let offsetHour = digits(b, i + 1, 2), let offsetMinute = digits(b, i + 4, 2),
                offsetHour <= 23, offsetMinute <= 59
            else { return false }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return false
        }
        if second == 60 {
            // A leap second happens at 23:59:60 UTC only.
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    static func isDateTime(_ b: [UInt8]) -> Bool {
        guard b.count > 11, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") else { return false }
        return isDate(b[0..<10]) && isTime(b[11...])
    }

    /// RFC 3339 appendix A: `P` then date parts (Y, M, D in order, no gaps), an optional `T` part
    /// (H, M, S in order, no gaps), or weeks alone.
    static func isDuration(_ b: [UInt8]) -> Bool {
        guard b.first == UInt8(ascii: "P"), b.count > 1 else { return false }
        var i = 1
        func component() -> UInt8? {
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > start, i < b.count else { return nil }
            defer { i += 1 }
            return b[i]
        }
        func units(_ allowed: [UInt8]) -> Bool {
            // Units must be consecutive in `allowed` order: Y M D or H M S, any starting point, no gaps.
            var seen: [UInt8] = []
            while i < b.count, b[i] != UInt8(ascii: "T") {
                guard let unit = component() else { return false }
                seen.append(unit)
            }
            guard let first = seen.first, let start = allowed.firstIndex(of: first) else { return seen.isEmpty }
            return Array(allowed[start..<min(allowed.count, start + seen.count)]) == seen
        }
        if b.count > 2, b.last == UInt8(ascii: "W") {
            i = 1
            guard component() == UInt8(ascii: "W"), i == b.count else { return false }
            return true
        }
        let dateStart = i
        guard units([UInt8(ascii: "Y"), UInt8(ascii: "M"), UInt8(ascii: "D")]) else { return false }
        let hadDate = i > dateStart
        if i == b.count { return hadDate }
        guard b[i] == UInt8(ascii: "T") else { return false }
        i += 1
        guard i < b.count, units([UInt8(ascii: "H"), UInt8(ascii: "M"), UInt8(ascii: "S")]) else { return false }
        return i == b.count
    }

    // MARK: addresses

    static func isIPv4(_ b: ArraySlice<UInt8>) -> Bool {
        let parts = b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                part.count == 1 || part.first != UInt8(ascii: "0"),
                let value = Int(String(decoding: part, as: UTF8.self)), value <= 255
            else { return false }
        }
        return true
    }

    /// RFC 4291 section 2.2 text forms: eight groups, one `::` standing for one or more zero
    /// groups, and an optional dotted IPv4 tail worth two groups. No zone, no brackets.
    static func isIPv6(_ b: ArraySlice<UInt8>) -> Bool {
        guard !b.isEmpty, b.count <= 45 else { return false }
        let text = String(decoding: b, as: UTF8.self)
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        /// Group count of one side, or nil when malformed; the IPv4 tail is allowed only at the very end.
        func groups(_ side: String, last: Bool) -> Int? {
            if side.isEmpty { return 0 }
            let parts = side.split(separator: ":", omittingEmptySubsequences: false)
            var count = 0
            for (i, part) in parts.enumerated() {
                if last, i == parts.count - 1, part.contains(".") {
                    guard isIPv4(Array(part.utf8)[...]) else { return nil }
                    count += 2
                } else {
                    guard isHexGroup(Array(part.utf8)[...]) else { return nil }
                    count += 1
                }
            }
            return count
        }
        if halves.count == 1 { return groups(halves[0], last: true) == 8 }
        guard let left = groups(halves[0], last: false), let right = groups(halves[1], last: true) else { return false }
        return left + right <= 7
    }

    private static func isHexGroup(_ group: ArraySlice<UInt8>) -> Bool {
        (1...4).contains(group.count) && group.allSatisfy { isHex($0) }
    }

    static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    static func isUUID(_ b: [UInt8]) -> Bool {
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if [8, 13, 18, 23].contains(i) { guard c == UInt8(ascii: "-") else { return false } } else if !isHex(c) { return false }
        }
        return true
    }

    static func isJSONPointer(_ b: [UInt8]) -> Bool {
        guard !b.isEmpty else { return true }
        guard b[0] == UInt8(ascii: "/") else { return false }
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "~") {
                guard i + 1 < b.count, b[i + 1] == UInt8(ascii: "0") || b[i + 1] == UInt8(ascii: "1") else { return false }
                i += 1
            }
            i += 1
        }
        return true
    }

    // MARK: email (RFC 5321 mailbox)

    static func isEmail(_ b: [UInt8]) -> Bool {
        guard let at = b.lastIndex(of: UInt8(ascii: "@")), at > 0, at < b.count - 1 else { return false }
        let local = b[..<at]
        let domain = b[(at + 1)...]
        if local.first == UInt8(ascii: "\"") {
            guard local.count >= 2, local.last == UInt8(ascii: "\"") else { return false }
            var i = local.startIndex + 1
            while i < local.endIndex - 1 {
                let c = local[i]
                if c == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\"") else { return false }
                i += 1
            }
            guard i == local.endIndex - 1 else { return false }
        } else {
            let atext = Set("!#$%&'*+-/=?^_`{|}~".utf8)
            let atoms = local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            for atom in atoms {
                guard !atom.isEmpty,
                    atom.allSatisfy({
                        ($0 < 0x80 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber))
                            || atext.contains($0)
                    })
                else { return false }
            }
        }
        if domain.first == UInt8(ascii: "[") {
            guard domain.last == UInt8(ascii: "]") else { return false }
            let literal = domain.dropFirst().dropLast()
            let ipv6Tag = Array("IPv6:".utf8)
            if literal.starts(with: ipv6Tag) { return isIPv6(literal.dropFirst(ipv6Tag.count)) }
            return isIPv4(literal)
        }
        return Hostname.isValid(String(decoding: domain, as: UTF8.self))
    }
}
