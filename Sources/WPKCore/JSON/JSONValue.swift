/// A JSON value with exact numbers and ordered object members.
///
/// Every JSON wpk writes (reports, plans, ledger records, digests) goes through this type and
/// its one writer, so canonical bytes are produced in exactly one place.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Number)
    case string(String)
    case array([JSONValue])
    /// Members in insertion order; the canonical form sorts them.
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            let sortedA = a.sorted { JSONValue.keyOrder($0.key, $1.key) }
            let sortedB = b.sorted { JSONValue.keyOrder($0.key, $1.key) }
            return zip(sortedA, sortedB).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// An integer value.
    public static func int(_ value: Int) -> JSONValue { .number(Number(value)) }

    /// A string value, or null when absent.
    public static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

    /// The member named `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        if case .number(let n) = self { return n.intValue }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// Canonical member order: by UTF-16 code units, as RFC 8785 (JCS) specifies.
    static func keyOrder(_ a: String, _ b: String) -> Bool {
        a.utf16.lexicographicallyPrecedes(b.utf16)
    }
}

extension JSONValue {
    /// Output styles of the one JSON writer.
    public enum Style: Sendable {
        /// Sorted keys, no whitespace: the bytes that digests and hash chains cover.
        case canonical
        /// Insertion order, no whitespace: one record per line.
        case compact
        /// Insertion order, two-space indentation: for people.
        case pretty
    }

    /// Serializes the value.
    public func serialized(_ style: Style = .compact) -> String {
        var out = ""
        write(to: &out, style: style, indent: 0)
        return out
    }

    /// The canonical UTF-8 bytes (sorted keys, no insignificant whitespace).
    public var canonicalBytes: [UInt8] { Array(serialized(.canonical).utf8) }

    private func write(to out: inout String, style: Style, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n.description
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                newline(&out, style: style, indent: indent + 1)
                item.write(to: &out, style: style, indent: indent + 1)
            }
            newline(&out, style: style, indent: indent)
            out += "]"
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            let ordered = style == .canonical ? members.sorted { JSONValue.keyOrder($0.key, $1.key) } : members
            out += "{"
            for (i, member) in ordered.enumerated() {
                if i > 0 { out += "," }
                newline(&out, style: style, indent: indent + 1)
                JSONValue.writeString(member.key, to: &out)
                out += style == .pretty ? ": " : ":"
                member.value.write(to: &out, style: style, indent: indent + 1)
            }
            newline(&out, style: style, indent: indent)
            out += "}"
        }
    }

    private func newline(_ out: inout String, style: Style, indent: Int) {
        guard style == .pretty else { return }
        out += "\n" + String(repeating: "  ", count: indent)
    }

    /// JSON string escaping as RFC 8785 specifies: only `"`, `\` and control characters.
    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// The JSON data model of a YAML node (mapping keys become strings).
    public init(_ node: Node) {
        switch node.content {
        case .scalar(let scalar):
            switch scalar.value {
            case .null: self = .null
            case .bool(let b): self = .bool(b)
            case .number(let n): self = .number(n)
            case .nonFinite: self = .string(scalar.text)
            case .string(let s): self = .string(s)
            }
        case .sequence(let items):
            self = .array(items.map(JSONValue.init))
        case .mapping(let entries):
            self = .object(entries.map { (key: $0.keyText, value: JSONValue($0.value)) })
        }
    }
}
