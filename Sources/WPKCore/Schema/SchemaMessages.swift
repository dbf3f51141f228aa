/// Stable diagnostic codes of schema violations, one per keyword family (see `specs/schema-codes.md`).
public enum SchemaCode: String, Sendable, CaseIterable {
    /// `type`.
    case type = "WPK201"
    /// `required`, `dependentRequired`.
    case required = "WPK202"
    /// `additionalProperties`.
    case additionalProperties = "WPK203"
    /// `unevaluatedProperties`, `unevaluatedItems`.
    case unevaluated = "WPK204"
    /// `enum`, `const`.
    case enumeration = "WPK205"
    /// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`.
    case number = "WPK206"
    /// `minLength`, `maxLength`, `pattern`.
    case string = "WPK207"
    /// `format` (when asserted).
    case format = "WPK208"
    /// `minItems`, `maxItems`, `uniqueItems`, `contains`, `minContains`, `maxContains`, `items`.
    case array = "WPK209"
    /// `minProperties`, `maxProperties`, `propertyNames`.
    case object = "WPK210"
    /// `anyOf`, `oneOf`, `not` when no closer explanation exists.
    case composition = "WPK211"
    /// A `false` schema.
    case notAllowed = "WPK212"
    /// Validation stopped at the recursion or work limit.
    case limit = "WPK213"

    /// One line for rule tables (SARIF, docs).
    public var title: String {
        switch self {
        case .type: "value has the wrong type"
        case .required: "required property missing"
        case .additionalProperties: "property not declared by the schema"
        case .unevaluated: "property or item no subschema evaluated"
        case .enumeration: "value not among the allowed values"
        case .number: "number out of range or not a multiple"
        case .string: "string too short, too long or not matching its pattern"
        case .format: "string not in the required format"
        case .array: "list of the wrong size, with repeats or missing a match"
        case .object: "mapping of the wrong size or with an invalid key"
        case .composition: "value does not match the alternatives as required"
        case .notAllowed: "no value is allowed here"
        case .limit: "validation stopped at a safety limit"
        }
    }
}

/// How schema violations describe places and values to a person.
enum SchemaMessages {
    /// `spec.handlers[2].timeout`; `the document` for the root.
    static func place<C: Collection>(_ path: C) -> String where C.Element == InstancePathToken {
        if path.isEmpty { return "the document" }
        var out = ""
        for token in path {
            switch token {
            case .index(let i): out += "[\(i)]"
            case .key(let key):
                if isIdentifier(key) {
                    out += out.isEmpty ? key : "." + key
                } else {
                    out += "[" + quote(key) + "]"
                }
            }
        }
        return out
    }

    private static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, first.properties.isAlphabetic || first == "_" || first == "$" else { return false }
        return key.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "$"
        }
    }

    /// Text from a document, quoted for display: `"`, `\`, control characters (C0, DEL, C1) and
    /// bidirectional overrides are escaped, so a hostile key cannot drive the terminal or reorder
    /// the message it appears in.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A short rendering of a value: JSON for scalars (cut at 60 characters), the kind for collections.
    static func show(_ node: Node) -> String {
        switch node.content {
        case .scalar(let scalar):
            switch scalar.value {
            case .string(let text):
                let shortened =
                    text.unicodeScalars.count > 60 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(57))) + "..." : text
                return quote(shortened)
            case .nonFinite: return scalar.text
            default: return JSONValue(node).serialized(.compact)
            }
        case .sequence(let items):
            let text = JSONValue(node).serialized(.compact)
            return text.count <= 60 ? text : "a list of \(count(items.count, "item"))"
        case .mapping(let entries):
            let text = JSONValue(node).serialized(.compact)
            return text.count <= 60 ? text : "a mapping with \(count(entries.count, "property", "properties"))"
        }
    }

    /// The instance's type and value: `string "abc"`, `a mapping`.
    static func describe(_ node: Node) -> String {
        switch node.content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar(let scalar):
            switch scalar.value {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .number(let n): return (n.isInteger ? "integer " : "number ") + n.description
            case .nonFinite: return "number " + scalar.text
            case .string: return "string " + show(node)
            }
        }
    }

    /// True when the instance has one of the allowed JSON types.
    static func matches(_ node: Node, _ allowed: JSONTypeSet) -> Bool {
        switch node.content {
        case .sequence: return allowed.contains(.array)
        case .mapping: return allowed.contains(.object)
        case .scalar(let scalar):
            switch scalar.value {
            case .null: return allowed.contains(.null)
            case .bool: return allowed.contains(.boolean)
            case .number(let n): return allowed.contains(.number) || (n.isInteger && allowed.contains(.integer))
            case .nonFinite: return allowed.contains(.number)
            case .string: return allowed.contains(.string)
            }
        }
    }

    /// `an integer`, `a string or null`.
    static func typeNames(_ types: JSONTypeSet) -> String {
        let words = types.names.map { name -> String in
            switch name {
            case "object": return "a mapping"
            case "array": return "a list"
            case "integer": return "an integer"
            case "null": return "null"
            case "boolean": return "true or false"
            default: return "a " + name
            }
        }
        if words.isEmpty { return "of no type at all" }
        return words.count == 1 ? words[0] : words.dropLast().joined(separator: ", ") + " or " + words[words.count - 1]
    }

    /// `"a", "b" or "c"` (long lists shortened).
    static func list(_ items: [String]) -> String {
        let shown = items.count > 10 ? Array(items.prefix(10)) + ["..."] : items
        if shown.isEmpty { return "nothing (the list is empty)" }
        return shown.count == 1 ? shown[0] : shown.dropLast().joined(separator: ", ") + " or " + shown[shown.count - 1]
    }

    /// `1 item`, `3 items`.
    static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    /// A candidate within a small edit distance of `word` (typos, case slips), or nil.
    static func closest(_ word: String, among candidates: [String]) -> String? {
        let target = Array(word.lowercased().unicodeScalars)
        guard target.count <= 64 else { return nil }
        var best: (String, Int)?
        for candidate in candidates where candidate != word {
            let other = Array(candidate.lowercased().unicodeScalars)
            guard other.count <= 64 else { continue }
            let distance = editDistance(target, other)
            let allowed = max(1, min(target.count, other.count) / 3)
            if distance <= allowed, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        return best?.0
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
