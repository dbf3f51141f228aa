import Foundation

/// The JSON types a `type` keyword can name, as a bit set.
struct JSONTypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = JSONTypeSet(rawValue: 1)
    static let boolean = JSONTypeSet(rawValue: 2)
    static let integer = JSONTypeSet(rawValue: 4)
    static let number = JSONTypeSet(rawValue: 8)
    static let string = JSONTypeSet(rawValue: 16)
    static let array = JSONTypeSet(rawValue: 32)
    static let object = JSONTypeSet(rawValue: 64)

    /// The set for one type name, or nil when the name is not a JSON Schema type.
    init?(name: String) {
        switch name {
        case "null": self = .null
        case "boolean": self = .boolean
        case "integer": self = .integer
        case "number": self = .number
        case "string": self = .string
        case "array": self = .array
        case "object": self = .object
        default: return nil
        }
    }

    init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The names in schema order, for messages.
    var names: [String] {
        let all: [(JSONTypeSet, String)] = [
            (.null, "null"), (.boolean, "boolean"), (.integer, "integer"), (.number, "number"),
            (.string, "string"), (.array, "array"), (.object, "object"),
        ]
        return all.filter { contains($0.0) }.map(\.1)
    }
}

/// A compiled regular expression; `NSRegularExpression` is immutable and documented thread-safe.
///
/// Verdicts on short texts are remembered: the same names, durations and versions recur across
/// the playbooks of a repository, and a match through Foundation and ICU costs microseconds.
final class SchemaRegex: @unchecked Sendable {
    let source: String
    let regex: NSRegularExpression
    /// ASCII texts at most `rememberedLength` bytes long and whether they matched (ASCII only:
    /// Swift compares strings up to canonical equivalence, the regex compares code units); emptied when
    /// it holds `rememberedCount`, so memory stays bounded whatever the input. Guarded by `lock`.
    private var remembered: [String: Bool] = [:]
    private let lock = NSLock()
    static let rememberedLength = 64
    static let rememberedCount = 4096

    init(source: String, regex: NSRegularExpression) {
        self.source = source
        self.regex = regex
    }

    /// True when the pattern matches anywhere in `text` (ECMA-262 `test`, unanchored).
    func matches(_ text: String) -> Bool {
        var copy = text
        let rememberable = copy.withUTF8 { bytes in bytes.count <= SchemaRegex.rememberedLength && !bytes.contains(where: { $0 >= 0x80 }) }
        guard rememberable else { return search(text) }
        lock.lock()
        let known = remembered[text]
        lock.unlock()
        if let known { return known }
        let found = search(text)
        lock.lock()
        if remembered.count >= SchemaRegex.rememberedCount { remembered.removeAll(keepingCapacity: true) }
        remembered[text] = found
        lock.unlock()
        return found
    }

    /// The match itself, through Foundation.
    private func search(_ text: String) -> Bool {
        regex.firstMatch(in: text, options: [], range: NSRange(location: 0, length: text.utf16.count)) != nil
    }
}

/// One compiled keyword of a schema object.
enum SchemaKeyword: Sendable {
    case ref(Int)
    /// A `$dynamicRef` whose static target carries the matching `$dynamicAnchor`; nil anchor means it acts as `$ref`.
    case dynamicRef(target: Int, anchor: String?)
    case type(JSONTypeSet)
    /// Allowed values by canonical JSON bytes, the string values by their UTF-8 bytes (the fast
    /// path for the common string enum); `scalarsOnly` lets a list or mapping fail without serializing it.
    case enumeration(values: Set<[UInt8]>, strings: Set<[UInt8]>, shown: [String], scalarsOnly: Bool)
    /// `string` is the value's UTF-8 when it is a string (compared without encoding the instance).
    case constant(value: [UInt8], string: [UInt8]?, shown: String, scalarsOnly: Bool)
    case multipleOf(Number)
    case maximum(Number)
    case exclusiveMaximum(Number)
    case minimum(Number)
    case exclusiveMinimum(Number)
    case maxLength(Int)
    case minLength(Int)
    case pattern(SchemaRegex)
    case format(String, assert: Bool)
    case maxItems(Int)
    case minItems(Int)
    case uniqueItems
    case maxProperties(Int)
    case minProperties(Int)
    case required([String])
    case dependentRequired([(property: String, required: [String])])
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    case dependentSchemas([(property: String, schema: Int)])
    case items(prefix: [Int], rest: Int?)
    case contains(Int, min: Int, max: Int?)
    case properties(named: ShortStringMap<Int>, patterns: [(regex: SchemaRegex, schema: Int)], additional: Int?)
    case propertyNames(Int)
    case unevaluatedItems(Int)
    case unevaluatedProperties(Int)
}

/// A keyword with the absolute location of its schema value (URI with a JSON-pointer fragment).
///
/// A class: evaluation hands keywords around on its hottest path, and copying one counted
/// references to every array and string in its payload; a keyword never changes once compiled.
final class CompiledKeyword: Sendable {
    let keyword: SchemaKeyword
    let location: String

    init(keyword: SchemaKeyword, location: String) {
        self.keyword = keyword
        self.location = location
    }
}

/// One compiled schema: a boolean schema or an ordered list of keywords.
struct CompiledSchemaNode: Sendable {
    /// Set for `true`/`false` schemas.
    var boolean: Bool?
    var keywords: [CompiledKeyword] = []
    /// Index of the schema resource this schema belongs to (for the dynamic scope).
    var resource: Int
    /// Absolute location of the schema, `uri#/pointer`.
    var location: String
    /// True when an `unevaluated*` keyword needs its siblings' annotations.
    var needsAnnotations = false
    /// The names declared under `properties`, for "did you mean" suggestions.
    var declaredProperties: [String] = []
}

/// A schema resource (a document or a subschema with `$id`) and its dynamic anchors.
struct SchemaResource: Sendable {
    var uri: String
    /// `$dynamicAnchor` name to compiled schema index, filled for names some `$dynamicRef` uses.
    var dynamicAnchors: [String: Int] = [:]
}

/// The compiled, immutable form of a set of schema documents, shared by every validation.
/// Stored column by column, so the hot path reads one field without copying a whole node.
final class SchemaProgram: Sendable {
    /// `true`/`false` for boolean schemas, nil for schema objects.
    let booleans: [Bool?]
    let keywords: [[CompiledKeyword]]
    let resourceOf: [Int]
    let needsAnnotations: [Bool]
    let locations: [String]
    let declaredProperties: [[String]]
    let resources: [SchemaResource]
    /// True when some `$dynamicRef` needs the dynamic scope tracked.
    let usesDynamicScope: Bool

    init(nodes: [CompiledSchemaNode], resources: [SchemaResource], usesDynamicScope: Bool) {
        booleans = nodes.map(\.boolean)
        keywords = nodes.map(\.keywords)
        resourceOf = nodes.map(\.resource)
        needsAnnotations = nodes.map(\.needsAnnotations)
        locations = nodes.map(\.location)
        declaredProperties = nodes.map(\.declaredProperties)
        self.resources = resources
        self.usesDynamicScope = usesDynamicScope
    }
}
