import Foundation

/// The 2020-12 vocabularies a schema resource has turned on through its metaschema's `$vocabulary`.
struct Vocabularies: OptionSet, Sendable {
    let rawValue: UInt8
    static let core = Vocabularies(rawValue: 1)
    static let applicator = Vocabularies(rawValue: 2)
    static let unevaluated = Vocabularies(rawValue: 4)
    static let validation = Vocabularies(rawValue: 8)
    static let formatAnnotation = Vocabularies(rawValue: 16)
    static let formatAssertion = Vocabularies(rawValue: 32)
    /// Content and meta-data: annotations only, nothing to evaluate.
    static let annotationsOnly = Vocabularies(rawValue: 64)

    /// What the standard 2020-12 metaschema turns on.
    static let standard: Vocabularies = [.core, .applicator, .unevaluated, .validation, .formatAnnotation, .annotationsOnly]

    /// The vocabulary a `$vocabulary` URI names, or nil when unknown.
    static func named(_ uri: String) -> Vocabularies? {
        let prefix = "https://json-schema.org/draft/2020-12/vocab/"
        guard uri.hasPrefix(prefix) else { return nil }
        switch uri.dropFirst(prefix.count) {
        case "core": return .core
        case "applicator": return .applicator
        case "unevaluated": return .unevaluated
        case "validation": return .validation
        case "format-annotation": return .formatAnnotation
        case "format-assertion": return .formatAssertion
        case "content", "meta-data": return .annotationsOnly
        default: return nil
        }
    }
}

/// Where a schema sits: its document, its JSON pointer there, the node, and its base URI.
struct SchemaLocation {
    var document: String
    var pointer: String
    var node: Node
    /// The base URI in effect at this schema, its own `$id` included.
    var base: String
    var vocabularies: Vocabularies
}

/// Keywords whose value is one subschema, a map of subschemas, or an array of subschemas.
enum SubschemaKeywords {
    static let single: Set<String> = [
        "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    ]
    static let map: Set<String> = ["$defs", "definitions", "properties", "patternProperties", "dependentSchemas"]
    static let array: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
}

/// Turns schema documents into a `SchemaProgram`: indexes identifiers and anchors, then compiles
/// every reachable schema exactly once with a work list (no recursion over references).
final class SchemaCompiler {
    private var documents: [String: Node]
    private let readFiles: Bool
    private let assertFormats: Bool
    /// Documents already indexed, by retrieval URI.
    private var indexed: Set<String> = []
    private var resourcesByURI: [String: SchemaLocation] = [:]
    private var anchors: [String: SchemaLocation] = [:]
    private var dynamicAnchorsByResource: [String: [String: SchemaLocation]] = [:]
    private var resourceIndex: [String: Int] = [:]
    private var resources: [SchemaResource] = []
    private var nodes: [CompiledSchemaNode] = []
    private var compiledIDs: [String: Int] = [:]
    private var pending: [(id: Int, location: SchemaLocation)] = []
    private var dynamicNames: Set<String> = []
    private var regexCache: [String: SchemaRegex] = [:]
    /// Patterns compiled before (by an earlier compile of the same schema), by source. ICU's
    /// compiled patterns are immutable and safe to share between threads; each `SchemaRegex`
    /// still keeps its own memo.
    var knownPatterns: [String: NSRegularExpression] = [:]

    /// Every pattern this compile produced, by source (to hand to a later compile).
    var compiledPatterns: [String: NSRegularExpression] { regexCache.mapValues(\.regex) }
    /// The root document's URI: locations inside it are written as bare fragments.
    private var rootDocument = ""
    /// Documents other than the root that references reached (read from disk or from the caller's
    /// map, not the embedded metaschema), to be checked against the metaschema.
    private(set) var referencedDocuments: [(uri: String, node: Node)] = []
    /// Metaschema files named by `$schema`, with the base URI and node of the schema naming them,
    /// which must also validate against them.
    private(set) var metaschemaFiles: [(uri: String, schemaBase: String, schema: Node)] = []
    /// The document read for a URI (a metaschema file included).
    func document(_ uri: String) -> Node? { documents[uri] }
    /// URIs of the caller's documents, to tell them from the embedded ones.
    private let callerDocuments: Set<String>

    /// The embedded metaschema documents, parsed once per process.
    static let embeddedDocuments: [String: Node] = EmbeddedMetaschema.documents.compactMapValues { try? YAMLLoader.load($0).root }

    init(documents: [String: Node], readFiles: Bool, assertFormats: Bool) {
        self.documents = [:]
        for (uri, node) in documents { self.documents[URIReference.split(uri).base] = node }
        self.readFiles = readFiles
        self.assertFormats = assertFormats
        callerDocuments = Set(self.documents.keys)
        for (uri, node) in SchemaCompiler.embeddedDocuments where self.documents[uri] == nil {
            self.documents[uri] = node
        }
    }

    /// Compiles the schema at `root` (a document retrieved from `baseURI`) and all it references.
    func compile(root: Node, baseURI: String) throws(SchemaError) -> (SchemaProgram, Int) {
        let base = URIReference.split(baseURI).base
        rootDocument = base
        documents[base] = root
        try index(document: base)
        guard let location = resourcesByURI[base] else {
            throw SchemaError("schema could not be indexed", location: base, mark: root.start)
        }
        let rootID = try schemaID(for: location)
        try drain()
        let program = SchemaProgram(nodes: nodes, resources: resources, usesDynamicScope: !dynamicNames.isEmpty)
        return (program, rootID)
    }

    // MARK: indexing identifiers and anchors

    private func index(document uri: String) throws(SchemaError) {
        guard !indexed.contains(uri), let root = documents[uri] else { return }
        indexed.insert(uri)
        if callerDocuments.contains(uri), uri != rootDocument { referencedDocuments.append((uri, root)) }
        var base = uri
        if let id = root["$id"]?.string { base = URIReference.split(URIReference.resolve(id, against: uri)).base }
        let vocabularies = try vocabularies(of: root, base: base, inherited: .standard)
        let location = SchemaLocation(document: uri, pointer: "", node: root, base: base, vocabularies: vocabularies)
        resourcesByURI[uri] = location
        try scan(location, parentBase: uri)
    }

    /// Registers `$id`, `$anchor` and `$dynamicAnchor` at and below `location`, following only
    /// keywords that hold subschemas (an `$id` inside `enum` or an unknown keyword is data).
    private func scan(_ start: SchemaLocation, parentBase: String) throws(SchemaError) {
        var stack: [(SchemaLocation, String)] = [(start, parentBase)]
        while let (location, inheritedBase) = stack.popLast() {
            guard case .mapping(let entries) = location.node.content else { continue }
            var location = location
            location.base = inheritedBase
            if let id = location.node["$id"]?.string {
                let resolved = URIReference.split(URIReference.resolve(id, against: inheritedBase)).base
                location.base = resolved
                location.vocabularies = try vocabularies(of: location.node, base: resolved, inherited: location.vocabularies)
                if resourcesByURI[resolved] == nil { resourcesByURI[resolved] = location }
            }
            let base = location.base
            if let anchor = location.node["$anchor"]?.string {
                anchors[base + "#" + anchor] = location
            }
            if let anchor = location.node["$dynamicAnchor"]?.string {
                if anchors[base + "#" + anchor] == nil { anchors[base + "#" + anchor] = location }
                dynamicAnchorsByResource[base, default: [:]][anchor] = location
            }
            for entry in entries {
                let keyword = entry.keyText
                let keywordPointer = JSONPointer.appending(location.pointer, keyword)
                func child(_ node: Node, _ pointer: String) -> (SchemaLocation, String) {
                    (
                        SchemaLocation(
                            document: location.document, pointer: pointer, node: node, base: base, vocabularies: location.vocabularies),
                        base
                    )
                }
                if SubschemaKeywords.single.contains(keyword) {
                    if let items = entry.value.sequence {
                        for (i, item) in items.enumerated() { stack.append(child(item, keywordPointer + "/\(i)")) }
                    } else {
                        stack.append(child(entry.value, keywordPointer))
                    }
                } else if SubschemaKeywords.map.contains(keyword), let members = entry.value.mapping {
                    for member in members { stack.append(child(member.value, JSONPointer.appending(keywordPointer, member.keyText))) }
                } else if SubschemaKeywords.array.contains(keyword), let items = entry.value.sequence {
                    for (i, item) in items.enumerated() { stack.append(child(item, keywordPointer + "/\(i)")) }
                }
            }
        }
    }

    /// The vocabularies a schema resource uses, read from the `$vocabulary` of its `$schema`.
    private func vocabularies(of node: Node, base: String, inherited: Vocabularies) throws(SchemaError) -> Vocabularies {
        guard let metaschemaURI = node["$schema"]?.string else { return inherited }
        let uri = URIReference.split(URIReference.resolve(metaschemaURI, against: base)).base
        if uri == EmbeddedMetaschema.uri { return .standard }
        // A metaschema file is read like a referenced schema; its `$vocabulary` then decides, and
        // the schema naming it is validated against it (see `CompiledSchema`).
        if resourcesByURI[uri] == nil {
            try readFileDocument(uri, location: base, mark: node["$schema"]?.start)
            if documents[uri] != nil, !metaschemaFiles.contains(where: { $0.uri == uri }) {
                metaschemaFiles.append((uri, base, node))
            }
        }
        guard let metaschema = documents[uri] ?? resourcesByURI[uri]?.node,
            let declared = metaschema["$vocabulary"]?.mapping
        else { return .standard }
        var result: Vocabularies = []
        for entry in declared {
            if let known = Vocabularies.named(entry.keyText) {
                result.insert(known)
            } else if case .bool(true)? = entry.value.scalar?.value {
                throw SchemaError(
                    "metaschema \(uri) requires the vocabulary \(entry.keyText), which this validator does not know",
                    location: base, mark: node["$schema"]?.start)
            }
        }
        return result
    }

    // MARK: resolving references

    /// Reads the schema document at a `file:` URI into `documents` (once), when files may be read.
    private func readFileDocument(_ uri: String, location: String, mark: Mark?) throws(SchemaError) {
        guard documents[uri] == nil, readFiles, URIReference(uri).scheme == "file" else { return }
        let path = URIReference(uri).path.removingPercentEncoding ?? URIReference(uri).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SchemaError("cannot read the referenced schema file \(path)", location: location, mark: mark)
        }
        do {
            let document = try SourceDocument.load([UInt8](data), path: path)
            documents[uri] = document.root
            referencedDocuments.append((uri, document.root))
        } catch {
            throw SchemaError(
                "referenced schema file \(path) is not valid \(SourceDocument.isJSON(path: path) ? "JSON" : "YAML"): \(error)",
                location: location, mark: mark)
        }
    }

    /// The document or embedded resource named by an absolute URI without fragment.
    private func resource(_ uri: String, from referrer: SchemaLocation, mark: Mark) throws(SchemaError) -> SchemaLocation {
        if let found = resourcesByURI[uri] { return found }
        try readFileDocument(uri, location: describe(referrer), mark: mark)
        try index(document: uri)
        if let found = resourcesByURI[uri] { return found }
        // The caller's documents may name themselves by `$id` rather than by their key.
        for other in callerDocuments.sorted() where !indexed.contains(other) {
            try index(document: other)
            if let found = resourcesByURI[uri] { return found }
        }
        throw SchemaError(
            "reference to \(uri) cannot be resolved: no such schema is loaded (the validator never uses the network)",
            location: describe(referrer), mark: mark)
    }

    /// The schema an absolute URI reference designates.
    private func lookup(_ target: String, from referrer: SchemaLocation, mark: Mark) throws(SchemaError) -> SchemaLocation {
        let (base, rawFragment) = URIReference.split(target)
        var location = try resource(base, from: referrer, mark: mark)
        guard let rawFragment, !rawFragment.isEmpty else { return location }
        let fragment = rawFragment.removingPercentEncoding ?? rawFragment
        guard fragment.hasPrefix("/") else {
            if let anchored = anchors[base + "#" + fragment] { return anchored }
            throw SchemaError(
                "reference \(target) names the anchor \"\(fragment)\", which is not defined", location: describe(referrer), mark: mark)
        }
        for token in JSONPointer.tokens(fragment) {
            let next: Node?
            switch location.node.content {
            case .mapping: next = location.node[token]
            case .sequence(let items):
                next = Int(token).flatMap { $0 >= 0 && $0 < items.count && (token == "0" || !token.hasPrefix("0")) ? items[$0] : nil }
            case .scalar: next = nil
            }
            guard let next else {
                throw SchemaError(
                    "reference \(target) points at nothing: there is no \"\(token)\" there", location: describe(referrer), mark: mark)
            }
            location.pointer = JSONPointer.appending(location.pointer, token)
            location.node = next
            if let id = next["$id"]?.string {
                location.base = URIReference.split(URIReference.resolve(id, against: location.base)).base
                location.vocabularies = try vocabularies(of: next, base: location.base, inherited: location.vocabularies)
            }
        }
        return location
    }

    /// The location of a subschema under `parent` at `tokens`, with its own `$id` applied.
    private func childLocation(_ parent: SchemaLocation, pointer: String, node: Node) throws(SchemaError) -> SchemaLocation {
        var location = SchemaLocation(
            document: parent.document, pointer: pointer, node: node, base: parent.base, vocabularies: parent.vocabularies)
        if let id = node["$id"]?.string {
            location.base = URIReference.split(URIReference.resolve(id, against: parent.base)).base
            location.vocabularies = try vocabularies(of: node, base: location.base, inherited: parent.vocabularies)
        }
        return location
    }

    /// A readable location: a bare fragment inside the root document, the full URI elsewhere.
    private func describe(_ location: SchemaLocation, _ keyword: String? = nil) -> String {
        let pointer = keyword.map { JSONPointer.appending(location.pointer, $0) } ?? location.pointer
        return (location.document == rootDocument ? "" : location.document) + "#" + pointer
    }

    private func mark(_ location: SchemaLocation) -> Mark? {
        location.document == rootDocument ? location.node.start : nil
    }

    // MARK: compiling

    /// The index of the compiled schema at `location`, queuing its compilation on first sight.
    private func schemaID(for location: SchemaLocation) throws(SchemaError) -> Int {
        let key = location.document + "#" + location.pointer
        if let id = compiledIDs[key] { return id }
        let id = nodes.count
        let resource: Int
        if let existing = resourceIndex[location.base] {
            resource = existing
        } else {
            resource = resources.count
            resourceIndex[location.base] = resource
            resources.append(SchemaResource(uri: location.base))
        }
        nodes.append(CompiledSchemaNode(boolean: true, resource: resource, location: describe(location)))
        compiledIDs[key] = id
        pending.append((id, location))
        return id
    }

    /// Compiles queued schemas until none is left, then wires dynamic anchors, which may queue more.
    private func drain() throws(SchemaError) {
        var wiredNames: Set<String> = []
        while true {
            while let (id, location) = pending.popLast() {
                try compileNode(id, location)
            }
            let newNames = dynamicNames.subtracting(wiredNames)
            if newNames.isEmpty { break }
            for name in newNames {
                wiredNames.insert(name)
                for (resourceURI, anchorsHere) in dynamicAnchorsByResource {
                    guard let location = anchorsHere[name] else { continue }
                    let id = try schemaID(for: location)
                    let resource =
                        resourceIndex[resourceURI]
                        ?? {
                            resources.append(SchemaResource(uri: resourceURI))
                            resourceIndex[resourceURI] = resources.count - 1
                            return resources.count - 1
                        }()
                    resources[resource].dynamicAnchors[name] = id
                }
            }
        }
    }

    private func compileNode(_ id: Int, _ location: SchemaLocation) throws(SchemaError) {
        let node = location.node
        switch node.content {
        case .scalar(let scalar):
            guard case .bool(let value) = scalar.value else {
                throw SchemaError(
                    "a schema must be a mapping or true/false, found \(scalar.text.prefix(40))", location: describe(location),
                    mark: mark(location))
            }
            nodes[id].boolean = value
            return
        case .sequence:
            throw SchemaError("a schema must be a mapping or true/false, found a list", location: describe(location), mark: mark(location))
        case .mapping(let entries):
            nodes[id].boolean = nil
            var keywords: [CompiledKeyword] = []
            var trailing: [CompiledKeyword] = []
            for entry in entries {
                let name = entry.keyText
                let keywordLocation = describe(location, name)
                if let keyword = try compileKeyword(name, entry.value, in: location) {
                    if case .unevaluatedItems = keyword {
                        trailing.append(CompiledKeyword(keyword: keyword, location: keywordLocation))
                    } else if case .unevaluatedProperties = keyword {
                        trailing.append(CompiledKeyword(keyword: keyword, location: keywordLocation))
                    } else {
                        keywords.append(CompiledKeyword(keyword: keyword, location: keywordLocation))
                    }
                }
            }
            nodes[id].needsAnnotations = !trailing.isEmpty
            nodes[id].keywords = keywords + trailing
            nodes[id].declaredProperties = node["properties"]?.mapping?.map(\.keyText) ?? []
        }
    }

    private func number(_ node: Node) -> Number? {
        if case .number(let n)? = node.scalar?.value { return n }
        return nil
    }

    /// A non-negative integer keyword value, clamped into Int.
    private func count(_ node: Node) -> Int? {
        guard let n = number(node), n.isInteger, !n.isNegative else { return nil }
        return n.intValue ?? Int.max
    }

    private func regex(_ source: String, at location: SchemaLocation, keyword: String) throws(SchemaError) -> SchemaRegex {
        if let cached = regexCache[source] { return cached }
        if let known = knownPatterns[source] {
            let result = SchemaRegex(source: source, regex: known)
            regexCache[source] = result
            return result
        }
        guard let translated = ECMARegex.translate(source),
            let compiled = try? NSRegularExpression(pattern: translated, options: [])
        else {
            throw SchemaError(
                "\(keyword) \"\(source.prefix(80))\" is not a valid regular expression", location: describe(location, keyword),
                mark: mark(location))
        }
        let result = SchemaRegex(source: source, regex: compiled)
        regexCache[source] = result
        return result
    }

    private func compileKeyword(_ name: String, _ value: Node, in location: SchemaLocation) throws(SchemaError) -> SchemaKeyword? {
        let vocabularies = location.vocabularies
        let node = location.node
        func sub(_ tokens: String..., node child: Node) throws(SchemaError) -> Int {
            var pointer = location.pointer
            for token in tokens { pointer = JSONPointer.appending(pointer, token) }
            return try schemaID(for: try childLocation(location, pointer: pointer, node: child))
        }
        func subList(_ keyword: String) throws(SchemaError) -> [Int]? {
            guard let items = node[keyword]?.sequence else { return nil }
            var ids: [Int] = []
            for (i, item) in items.enumerated() { ids.append(try sub(keyword, String(i), node: item)) }
            return ids
        }
        if vocabularies.contains(.core) {
            switch name {
            case "$ref":
                guard let reference = value.string else { return nil }
                let target = URIReference.resolve(reference, against: location.base)
                return .ref(try schemaID(for: try lookup(target, from: location, mark: value.start)))
            case "$dynamicRef":
                guard let reference = value.string else { return nil }
                let target = URIReference.resolve(reference, against: location.base)
                let resolved = try lookup(target, from: location, mark: value.start)
                let id = try schemaID(for: resolved)
                if let fragment = URIReference.split(target).fragment, !fragment.hasPrefix("/"), !fragment.isEmpty,
                    resolved.node["$dynamicAnchor"]?.string == fragment
                {
                    dynamicNames.insert(fragment)
                    return .dynamicRef(target: id, anchor: fragment)
                }
                return .dynamicRef(target: id, anchor: nil)
            default: break
            }
        }
        if vocabularies.contains(.applicator) {
            switch name {
            case "allOf": return try subList(name).map { .allOf($0) }
            case "anyOf": return try subList(name).map { .anyOf($0) }
            case "oneOf": return try subList(name).map { .oneOf($0) }
            case "not": return .not(try sub(name, node: value))
            case "if":
                return .conditional(
                    if: try sub("if", node: value),
                    then: try node["then"].map { n throws(SchemaError) in try sub("then", node: n) },
                    else: try node["else"].map { n throws(SchemaError) in try sub("else", node: n) })
            case "dependentSchemas":
                guard let members = value.mapping else { return nil }
                var list: [(property: String, schema: Int)] = []
                for member in members { list.append((member.keyText, try sub(name, member.keyText, node: member.value))) }
                return .dependentSchemas(list)
            case "prefixItems", "items":
                // One keyword for both, placed where the first of them appears.
                if name == "items", node["prefixItems"] != nil { return nil }
                let prefix = try subList("prefixItems") ?? []
                let rest = try node["items"].map { n throws(SchemaError) in try sub("items", node: n) }
                return .items(prefix: prefix, rest: rest)
            case "contains":
                let minimum = vocabularies.contains(.validation) ? node["minContains"].flatMap(count) ?? 1 : 1
                let maximum = vocabularies.contains(.validation) ? node["maxContains"].flatMap(count) : nil
                return .contains(try sub(name, node: value), min: minimum, max: maximum)
            case "properties", "patternProperties", "additionalProperties":
                let first = ["properties", "patternProperties", "additionalProperties"].first { node[$0] != nil }
                guard name == first else { return nil }
                // Keys are unique (the loader refuses duplicates).
                var named = ShortStringMap<Int>()
                for member in node["properties"]?.mapping ?? [] {
                    named.insertIfAbsent(member.keyText, try sub("properties", member.keyText, node: member.value))
                }
                var patterns: [(regex: SchemaRegex, schema: Int)] = []
                for member in node["patternProperties"]?.mapping ?? [] {
                    patterns.append(
                        (
                            try regex(member.keyText, at: location, keyword: "patternProperties"),
                            try sub("patternProperties", member.keyText, node: member.value)
                        ))
                }
                let additional = try node["additionalProperties"].map { n throws(SchemaError) in try sub("additionalProperties", node: n) }
                return .properties(named: named, patterns: patterns, additional: additional)
            case "propertyNames": return .propertyNames(try sub(name, node: value))
            default: break
            }
        }
        if vocabularies.contains(.unevaluated) {
            switch name {
            case "unevaluatedItems": return .unevaluatedItems(try sub(name, node: value))
            case "unevaluatedProperties": return .unevaluatedProperties(try sub(name, node: value))
            default: break
            }
        }
        if vocabularies.contains(.validation) {
            switch name {
            case "type":
                if let single = value.string { return JSONTypeSet(name: single).map { .type($0) } }
                var set: JSONTypeSet = []
                for item in value.sequence ?? [] { if let t = item.string.flatMap(JSONTypeSet.init(name:)) { set.insert(t) } }
                return .type(set)
            case "enum":
                guard let items = value.sequence else { return nil }
                return .enumeration(
                    values: Set(items.map { JSONValue($0).canonicalBytes }),
                    strings: Set(items.compactMap { $0.string.map { Array($0.utf8) } }),
                    shown: items.map { SchemaMessages.show($0) }, scalarsOnly: items.allSatisfy { $0.scalar != nil })
            case "const":
                return .constant(
                    value: JSONValue(value).canonicalBytes, string: value.string.map { Array($0.utf8) },
                    shown: SchemaMessages.show(value), scalarsOnly: value.scalar != nil)
            case "multipleOf": return number(value).map { .multipleOf($0) }
            case "maximum": return number(value).map { .maximum($0) }
            case "exclusiveMaximum": return number(value).map { .exclusiveMaximum($0) }
            case "minimum": return number(value).map { .minimum($0) }
            case "exclusiveMinimum": return number(value).map { .exclusiveMinimum($0) }
            case "maxLength": return count(value).map { .maxLength($0) }
            case "minLength": return count(value).map { .minLength($0) }
            case "pattern":
                guard let source = value.string else { return nil }
                return .pattern(try regex(source, at: location, keyword: "pattern"))
            case "maxItems": return count(value).map { .maxItems($0) }
            case "minItems": return count(value).map { .minItems($0) }
            case "uniqueItems":
                if case .bool(true)? = value.scalar?.value { return .uniqueItems }
                return nil
            case "maxProperties": return count(value).map { .maxProperties($0) }
            case "minProperties": return count(value).map { .minProperties($0) }
            case "required":
                guard let items = value.sequence else { return nil }
                return .required(items.compactMap(\.string))
            case "dependentRequired":
                guard let members = value.mapping else { return nil }
                return .dependentRequired(members.map { ($0.keyText, $0.value.sequence?.compactMap(\.string) ?? []) })
            default: break
            }
        }
        if name == "format", let format = value.string,
            vocabularies.contains(.formatAnnotation) || vocabularies.contains(.formatAssertion)
        {
            let asserted = (assertFormats || vocabularies.contains(.formatAssertion)) && SchemaFormats.isAsserted(format)
            return asserted ? .format(format, assert: true) : nil
        }
        return nil
    }
}
