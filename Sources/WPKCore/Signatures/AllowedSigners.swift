import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An OpenSSH `allowed_signers` file (ssh-keygen(1), "ALLOWED SIGNERS"): who may sign with
/// which key, in which namespaces, and when. Matching follows `ssh-keygen -Y verify`.
///
/// ```
/// alice@example.com,alice ssh-ed25519 AAAA...
/// *@ops.example.com namespaces="wpk-decision",valid-before="20270101Z" ecdsa-sha2-nistp256 AAAA...
/// ```
public struct AllowedSigners: Sendable {
    /// One line of the file.
    public struct Entry: Sendable, Equatable {
        /// The principals field: a comma-separated pattern list (`*`, `?`, `!` negation).
        public var principals: String
        /// The key; nil when the line names a key type wpk cannot verify (such a line never matches).
        public var key: SSHPublicKey?
        /// The key type written on the line.
        public var keyType: String
        /// `cert-authority`: the key is a CA for certificates (wpk refuses certificates, so such a line never matches).
        public var certificateAuthority: Bool
        /// `namespaces="..."`, a pattern list; nil allows every namespace.
        public var namespaces: String?
        public var validAfter: Date?
        public var validBefore: Date?
        /// 1-based line number in the file.
        public var line: Int
    }

    public var entries: [Entry]
    /// Where the entries came from, for messages.
    public var source: String

    /// Largest file read.
    public static let maxFileBytes = 1 << 20

    /// Reads the file's text. A line wpk cannot read refuses the whole file (fail closed), where
    /// ssh-keygen would refuse it only when a verification reaches that line.
    public init(text: String, source: String) throws(SSHSignatureError) {
        guard text.utf8.count <= AllowedSigners.maxFileBytes else {
            throw .badAllowedSigners(path: source, line: 0, problem: "the file is larger than \(AllowedSigners.maxFileBytes) bytes")
        }
        self.source = source
        entries = []
        var number = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            do throws(LineProblem) {
                if let entry = try AllowedSigners.parse(line: Substring(rawLine), number: number) { entries.append(entry) }
            } catch {
                throw .badAllowedSigners(path: source, line: number, problem: error.message)
            }
        }
    }

    /// Reads the file at `path` if root alone could have written it (`RootOwnedFile`): whoever
    /// can write it decides who may approve. A missing file is an error too (fail closed).
    public static func load(path: String) throws(SSHSignatureError) -> AllowedSigners {
        switch RootOwnedFile.read(path, maxBytes: maxFileBytes) {
        case .missing: throw .unreadableAllowedSigners(path: path, reason: "it does not exist")
        case .refused(let reason): throw .unreadableAllowedSigners(path: path, reason: reason)
        case .contents(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .badAllowedSigners(path: path, line: 0, problem: "the file is not UTF-8 text")
            }
            return try AllowedSigners(text: text, source: path)
        }
    }

    /// Whether `principal` may have signed with `key` in `namespace` at `time`, as
    /// `ssh-keygen -Y verify -I principal -n namespace -Overify-time=time` decides: the first
    /// line that lists the principal and the key, allows the namespace and is valid then.
    /// Returns that line, or the most telling reason none does.
    public func authorize(principal: String, key: SSHPublicKey, namespace: String, at time: Date) -> Result<Entry, SSHSignatureError> {
        var nearMiss: SSHSignatureError?
        let seconds = time.timeIntervalSince1970.rounded(.down)
        for entry in entries where !entry.certificateAuthority && entry.key == key {
            guard PatternList.matches(principal, entry.principals) else { continue }
            if let namespaces = entry.namespaces, !PatternList.matches(namespace, namespaces) {
                nearMiss = nearMiss ?? .namespaceNotAllowed(principal: principal, namespace: namespace, line: entry.line)
                continue
            }
            if let after = entry.validAfter, seconds < after.timeIntervalSince1970 {
                nearMiss = nearMiss ?? .notYetValid(principal: principal, validAfter: after, at: time, line: entry.line)
                continue
            }
            if let before = entry.validBefore, seconds > before.timeIntervalSince1970 {
                nearMiss = nearMiss ?? .expired(principal: principal, validBefore: before, at: time, line: entry.line)
                continue
            }
            return .success(entry)
        }
        if let nearMiss { return .failure(nearMiss) }
        if entries.contains(where: { $0.key == key }) {
            return .failure(.principalNotListed(principal: principal, fingerprint: key.fingerprint))
        }
        return .failure(.unknownKey(fingerprint: key.fingerprint))
    }

    /// The principal a signer with `key` signs as: the first plain name (no pattern, no negation)
    /// on the first line that lists the key for `namespace` at `time`
    /// (what `ssh-keygen -Y find-principals` would print, reduced to one name).
    public func principal(for key: SSHPublicKey, namespace: String, at time: Date) -> String? {
        for entry in entries where !entry.certificateAuthority && entry.key == key {
            for name in entry.principals.split(separator: ",") where !name.contains(where: { "*?!".contains($0) }) {
                if case .success = authorize(principal: String(name), key: key, namespace: namespace, at: time) { return String(name) }
            }
        }
        return nil
    }

    /// Whether the file lists `key` at all (any principal, any namespace, any time).
    public func lists(_ key: SSHPublicKey) -> Bool { entries.contains { $0.key == key } }

    struct LineProblem: Error { var message: String }

    /// Key types OpenSSH knows: a line naming one wpk cannot verify is kept but never matches.
    static let knownKeyTypes: Set<String> = [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-xmss@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "ssh-xmss-cert-v01@openssh.com",
    ]

    /// One line: `principals [options] keytype base64 [comment]`; nil for blank and comment lines.
    static func parse(line raw: Substring, number: Int) throws(LineProblem) -> Entry? {
        var scanner = LineScanner(text: raw)
        scanner.skipSpace()
        if scanner.isAtEnd || scanner.peek == "#" { return nil }
        guard let principals = scanner.token(), !principals.isEmpty else { throw LineProblem(message: "invalid line: no principals") }
        scanner.skipSpace()
        guard var next = scanner.token() else { throw LineProblem(message: "invalid line: no key") }
        var options: Options?
        if !knownKeyTypes.contains(next) {
            options = try Options(parsing: next)
            scanner.skipSpace()
            guard let type = scanner.token() else { throw LineProblem(message: "missing key") }
            next = type
        }
        guard knownKeyTypes.contains(next) else { throw LineProblem(message: "unknown key type \"\(next)\"") }
        scanner.skipSpace()
        guard let encoded = scanner.token(), !encoded.isEmpty else { throw LineProblem(message: "invalid key: no base64 after \(next)") }
        var key: SSHPublicKey?
        do throws(SSHSignatureError) {
            key = try SSHPublicKey(openSSH: next + " " + encoded)
        } catch {
            guard case .unsupportedAlgorithm = error else { throw LineProblem(message: "invalid key: \(error)") }
        }
        return Entry(
            principals: principals, key: key, keyType: next, certificateAuthority: options?.certificateAuthority ?? false,
            namespaces: options?.namespaces, validAfter: options?.validAfter, validBefore: options?.validBefore,
            line: number)
    }

    /// The options field: `cert-authority`, `namespaces="..."`, `valid-after="..."`, `valid-before="..."`.
    struct Options {
        var certificateAuthority = false
        var namespaces: String?
        var validAfter: Date?
        var validBefore: Date?

        init(parsing text: String) throws(LineProblem) {
            var rest = Substring(text)
            while !rest.isEmpty {
                if rest.lowercased().hasPrefix("cert-authority") {
                    certificateAuthority = true
                    rest = rest.dropFirst("cert-authority".count)
                } else if let value = try Options.value(of: "namespaces", in: &rest) {
                    guard namespaces == nil else { throw LineProblem(message: "bad options: multiple \"namespaces\" clauses") }
                    namespaces = value
                } else if let value = try Options.value(of: "valid-after", in: &rest) {
                    guard validAfter == nil else { throw LineProblem(message: "bad options: multiple \"valid-after\" clauses") }
                    guard let time = AllowedSigners.parseTime(value) else {
                        throw LineProblem(message: "bad options: invalid \"valid-after\" time")
                    }
                    validAfter = time
                } else if let value = try Options.value(of: "valid-before", in: &rest) {
                    guard validBefore == nil else { throw LineProblem(message: "bad options: multiple \"valid-before\" clauses") }
                    guard let time = AllowedSigners.parseTime(value) else {
                        throw LineProblem(message: "bad options: invalid \"valid-before\" time")
                    }
                    validBefore = time
                }
                if rest.isEmpty { break }
                guard rest.first == "," else { throw LineProblem(message: "bad options: unknown key option") }
                rest = rest.dropFirst()
                guard !rest.isEmpty else { throw LineProblem(message: "bad options: unexpected end-of-options") }
            }
        }

        /// `name="value"` at the start of `rest` (name case-insensitive, `\"` inside the quotes).
        static func value(of name: String, in rest: inout Substring) throws(LineProblem) -> String? {
            guard rest.count > name.count, rest.prefix(name.count).lowercased() == name,
                rest.dropFirst(name.count).first == "="
            else { return nil }
            var cursor = rest.dropFirst(name.count + 1)
            guard cursor.first == "\"" else { throw LineProblem(message: "bad options: missing start quote") }
            cursor = cursor.dropFirst()
            var value = ""
            while let c = cursor.first, c != "\"" {
                if c == "\\", cursor.dropFirst().first == "\"" { cursor = cursor.dropFirst() }
                value.append(cursor.first!)
                cursor = cursor.dropFirst()
            }
            guard cursor.first == "\"" else { throw LineProblem(message: "bad options: missing end quote") }
            rest = cursor.dropFirst()
            return value
        }
    }

    /// ssh-keygen's absolute times: `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, in UTC when
    /// followed by `Z` or `UTC`, else in local time.
    static func parseTime(_ text: String) -> Date? {
        var digits = Substring(text)
        var utc = false
        if digits.count > 1, digits.uppercased().hasSuffix("Z") {
            utc = true
            digits = digits.dropLast()
        } else if digits.count > 3, digits.uppercased().hasSuffix("UTC") {
            utc = true
            digits = digits.dropLast(3)
        }
        guard [8, 12, 14].contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let numbers = Array(digits).map { Int($0.asciiValue! - 0x30) }
        func field(_ from: Int, _ count: Int) -> Int { numbers[from..<(from + count)].reduce(0) { $0 * 10 + $1 } }
        let year = field(0, 4)
        let month = field(4, 2)
        let day = field(6, 2)
        let hour = digits.count >= 12 ? field(8, 2) : 0
        let minute = digits.count >= 12 ? field(10, 2) : 0
        let second = digits.count == 14 ? field(12, 2) : 0
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        guard RFC3339.civil(fromDays: RFC3339.days(fromCivil: year, month, day)) == (year, month, day) else { return nil }
        if utc {
            let days = RFC3339.days(fromCivil: year, month, day)
            return Date(timeIntervalSince1970: TimeInterval(days * 86400 + hour * 3600 + minute * 60 + second))
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        parts.tm_isdst = -1
        let local = mktime(&parts)
        return local == -1 ? nil : Date(timeIntervalSince1970: TimeInterval(local))
    }
}

/// OpenSSH pattern lists (`match_pattern_list`): comma-separated patterns with `*` and `?`;
/// a matching pattern prefixed with `!` refuses the whole list. Case-sensitive.
enum PatternList {
    static func matches(_ text: String, _ list: String) -> Bool {
        var positive = false
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            let negated = item.first == "!"
            let pattern = negated ? item.dropFirst() : item
            if pattern.utf8.count >= 1023 { return false }  // OpenSSH gives up on such a subpattern
            if matches(Array(text.utf8), Array(pattern.utf8)) {
                if negated { return false }
                positive = true
            }
        }
        return positive
    }

    /// Glob match in linear time and space per character (a set of pattern positions, as OpenSSH does).
    static func matches(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        if pattern.isEmpty { return text.isEmpty }
        var states = [Bool](repeating: false, count: pattern.count + 1)
        states[0] = true
        close(&states, pattern)
        for byte in text {
            var next = [Bool](repeating: false, count: pattern.count + 1)
            var active = false
            for i in 0..<pattern.count where states[i] {
                if pattern[i] == UInt8(ascii: "*") {
                    next[i] = true
                } else if pattern[i] == UInt8(ascii: "?") || pattern[i] == byte {
                    next[i + 1] = true
                }
            }
            close(&next, pattern)
            for state in next where state {
                active = true
                break
            }
            guard active else { return false }
            states = next
        }
        return states[pattern.count]
    }

    /// A `*` may match nothing: its state also reaches the next one.
    private static func close(_ states: inout [Bool], _ pattern: [UInt8]) {
        for i in 0..<pattern.count where states[i] && pattern[i] == UInt8(ascii: "*") { states[i + 1] = true }
    }
}

/// Splits an `allowed_signers` line into whitespace-separated tokens; a token may be double-quoted.
private struct LineScanner {
    var text: Substring

    var isAtEnd: Bool { text.isEmpty }
    var peek: Character? { text.first }

    mutating func skipSpace() { text = text.drop { $0 == " " || $0 == "\t" || $0 == "\r" } }

    /// The next token: up to whitespace, with double-quoted parts kept whole (quotes removed
    /// around a fully quoted principals field, as strdelimw does).
    mutating func token() -> String? {
        guard !text.isEmpty else { return nil }
        if text.first == "\"" {
            let body = text.dropFirst()
            guard let close = body.firstIndex(of: "\"") else { return nil }
            text = body[body.index(after: close)...]
            return String(body[..<close])
        }
        var inQuotes = false
        var end = text.startIndex
        while end < text.endIndex {
            let c = text[end]
            if c == "\"" { inQuotes.toggle() }
            if !inQuotes && (c == " " || c == "\t" || c == "\r") { break }
            end = text.index(after: end)
        }
        defer { text = text[end...] }
        return String(text[..<end])
    }
}
