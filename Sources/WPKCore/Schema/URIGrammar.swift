/// RFC 3986 syntax checks for the `uri` and `uri-reference` formats.
enum URIGrammar {
    private static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isUnreserved(_ c: UInt8) -> Bool {
        isAlpha(c) || isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
    }
    private static let subDelims = Set("!$&'()*+,;=".utf8)

    /// True when every byte is allowed by `allowed` or starts a valid percent-encoding.
    private static func valid(_ b: ArraySlice<UInt8>, _ allowed: (UInt8) -> Bool) -> Bool {
        var i = b.startIndex
        while i < b.endIndex {
            if b[i] == UInt8(ascii: "%") {
                guard i + 2 < b.endIndex, SchemaFormats.isHex(b[i + 1]), SchemaFormats.isHex(b[i + 2]) else { return false }
                i += 3
                continue
            }
            guard allowed(b[i]) else { return false }
            i += 1
        }
        return true
    }

    private static func isPChar(_ c: UInt8) -> Bool {
        isUnreserved(c) || subDelims.contains(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: "@")
    }

    /// A URI (`requireScheme`) or URI reference.
    static func isURI(_ b: [UInt8], requireScheme: Bool) -> Bool {
        var rest = b[...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) {
            guard valid(rest[(hash + 1)...], { isPChar($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else { return false }
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: UInt8(ascii: "?")) {
            guard valid(rest[(question + 1)...], { isPChar($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
                return false
            }
            rest = rest[..<question]
        }
        var hasScheme = false
        if let colon = rest.firstIndex(of: UInt8(ascii: ":")), !rest[..<colon].contains(UInt8(ascii: "/")) {
            let scheme = rest[..<colon]
            if let first = scheme.first, isAlpha(first),
                scheme.allSatisfy({
                    isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
                })
            {
                hasScheme = true
                rest = rest[(colon + 1)...]
            } else {
                return false
            }
        }
        if requireScheme && !hasScheme { return false }
        var hasAuthority = false
        if rest.starts(with: [UInt8(ascii: "/"), UInt8(ascii: "/")]) {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
            guard isAuthority(rest[..<end]) else { return false }
            rest = rest[end...]
            hasAuthority = true
        }
        if !hasScheme && !hasAuthority, let firstSlash = rest.firstIndex(of: UInt8(ascii: "/")) ?? Optional(rest.endIndex),
            rest[..<firstSlash].contains(UInt8(ascii: ":"))
        {
            return false
        }
        return valid(rest) { isPChar($0) || $0 == UInt8(ascii: "/") }
    }

    private static func isAuthority(_ authority: ArraySlice<UInt8>) -> Bool {
        var hostPort = authority
        if let at = authority.firstIndex(of: UInt8(ascii: "@")) {
            guard valid(authority[..<at], { isUnreserved($0) || subDelims.contains($0) || $0 == UInt8(ascii: ":") }) else { return false }
            hostPort = authority[(at + 1)...]
        }
        var host = hostPort
        if hostPort.first == UInt8(ascii: "[") {
            guard let close = hostPort.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = hostPort[(hostPort.startIndex + 1)..<close]
            let isFuture = literal.first == UInt8(ascii: "v") || literal.first == UInt8(ascii: "V")
            guard isFuture ? literal.contains(UInt8(ascii: ".")) : SchemaFormats.isIPv6(literal) else { return false }
            let after = hostPort[(close + 1)...]
            guard after.isEmpty || (after.first == UInt8(ascii: ":") && after.dropFirst().allSatisfy(isDigit)) else { return false }
            return true
        }
        if let colon = hostPort.lastIndex(of: UInt8(ascii: ":")) {
            guard hostPort[(colon + 1)...].allSatisfy(isDigit) else { return false }
            host = hostPort[..<colon]
        }
        return valid(host) { isUnreserved($0) || subDelims.contains($0) }
    }
}
