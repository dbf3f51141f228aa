internal import CYAML
import BigInt

/// Bounds on what one file may cost to read. The defaults are far above any real playbook
/// (a large one is a few hundred lines) and far below what would hurt a bastion host.
public struct LoaderLimits: Sendable {
    /// Largest file read, in bytes.
    public var maxFileBytes = 16 * 1024 * 1024
    /// Deepest nesting of sequences and mappings.
    public var maxDepth = 256
    /// Most nodes that aliases may add by repetition (stops "billion laughs").
    public var maxAliasExpansion = 100_000
    /// Most nodes in one document, aliases included.
    public var maxNodes = 2_000_000

    public init() {}
    public static let `default` = LoaderLimits()
}

/// A parsed YAML document: its root and the source it came from.
public struct Document: Sendable {
    public var root: Node
    public var lines: LineIndex
}

/// Reads one YAML document from bytes with libyaml's event API, keeping every node's position.
///
/// Resolution follows the YAML 1.2 core schema; nothing recurses, so nesting depth costs heap,
/// not stack, and is bounded by `LoaderLimits.maxDepth` anyway.
public enum YAMLLoader {
    /// Parses exactly one document, or throws the first problem with its position.
    public static func load(_ bytes: [UInt8], limits: LoaderLimits = .default) throws(YAMLError) -> Document {
        let lines = LineIndex(bytes)
        try checkEncoding(bytes, lines: lines, limits: limits)
        var builder = TreeBuilder(lines: lines, limits: limits)
        let root = try bytes.withUnsafeBufferPointer { buffer throws(YAMLError) -> Node in
            try builder.parse(buffer)
        }
        return Document(root: root, lines: lines)
    }

    /// Parses a string (tests and schemas written inline).
    public static func load(_ text: String, limits: LoaderLimits = .default) throws(YAMLError) -> Document {
        try load(Array(text.utf8), limits: limits)
    }

    /// Rejects what libyaml would misread or report without a usable position.
    static func checkEncoding(_ bytes: [UInt8], lines: LineIndex, limits: LoaderLimits) throws(YAMLError) {
        if bytes.count > limits.maxFileBytes {
            throw YAMLError(.sizeLimit, "file is \(bytes.count) bytes, larger than the limit of \(limits.maxFileBytes) bytes", at: .origin)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw YAMLError(.encoding, "file starts with a UTF-8 byte-order mark; save it as UTF-8 without BOM", at: .origin)
        }
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) {
            throw YAMLError(.encoding, "file is UTF-16 (it starts with a byte-order mark); save it as UTF-8", at: .origin)
        }
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0 {
                    throw YAMLError(.encoding, "NUL byte in file; is it UTF-16 or binary? save it as UTF-8 text", at: lines.mark(offset: i))
                }
                i += 1
                continue
            }
            let length = strictUTF8Length(bytes, at: i)
            if length == 0 {
                throw YAMLError(.encoding, "invalid UTF-8 byte 0x\(String(b, radix: 16, uppercase: true)); save the file as UTF-8", at: lines.mark(offset: i))
            }
            i += length
        }
    }

    /// The length of a well-formed UTF-8 sequence at `i` (no overlongs, surrogates or values past
    /// U+10FFFF), or 0.
    private static func strictUTF8Length(_ bytes: [UInt8], at i: Int) -> Int {
        let b = bytes[i]
        let n = bytes.count
        func cont(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i + k < n && bytes[i + k] >= low && bytes[i + k] <= high
        }
        switch b {
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xE1...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }
}

/// Turns the event stream into a tree with an explicit stack.
private struct TreeBuilder {
    let lines: LineIndex
    let limits: LoaderLimits

    private enum Collection {
        case sequence([Node])
        case mapping(MappingFrame)
    }

    private struct MappingFrame {
        var entries: [MappingEntry] = []
        var pendingKey: Node?
        /// First position of each explicit key, for duplicate detection.
        var seenKeys: [String: Mark] = [:]
        /// Mappings named by `<<`, in priority order.
        var mergeSources: [Node] = []
        var pendingKeyIsMerge = false
    }

    private struct Frame {
        var collection: Collection
        var tag: String
        var anchor: String?
        var start: Mark
        var nodeCount: Int
    }

    private var stack: [Frame] = []
    private var anchors: [String: (node: Node, count: Int)] = [:]
    private var totalNodes = 0
    private var aliasExpansion = 0
    private var root: Node?

    init(lines: LineIndex, limits: LoaderLimits) {
        self.lines = lines
        self.limits = limits
    }

    mutating func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(YAMLError) -> Node {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(.syntax, "libyaml could not initialize (out of memory)", at: .origin)
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!, buffer.count)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)

        var documents = 0
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw parserError(parser)
            }
            defer { yaml_event_delete(&event) }
            let start = mark(event.start_mark)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                guard let root else {
                    throw YAMLError(.noDocument, "file holds no YAML document", at: .origin)
                }
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw YAMLError(.multipleDocuments, "file holds more than one YAML document; a playbook is exactly one", at: start)
                }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let node = try makeScalar(
                    value: scalar.value, length: scalar.length, style: scalar.style, tag: string(scalar.tag),
                    start: start, end: mark(event.end_mark))
                register(anchor: string(scalar.anchor), node: node, count: 1)
                try add(node, count: 1)
            case YAML_SEQUENCE_START_EVENT:
                let data = event.data.sequence_start
                let tag = try collectionTag(data.tag, expected: Tag.seq, at: start)
                try push(Frame(collection: .sequence([]), tag: tag, anchor: string(data.anchor), start: start, nodeCount: 1))
            case YAML_MAPPING_START_EVENT:
                let data = event.data.mapping_start
                let tag = try collectionTag(data.tag, expected: Tag.map, at: start)
                try push(Frame(collection: .mapping(MappingFrame()), tag: tag, anchor: string(data.anchor), start: start, nodeCount: 1))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                try pop(end: mark(event.end_mark))
            case YAML_ALIAS_EVENT:
                let name = string(event.data.alias.anchor) ?? ""
                guard let target = anchors[name] else {
                    throw YAMLError(.undefinedAlias, "alias *\(name) refers to no anchor defined before it", at: start)
                }
                aliasExpansion += target.count
                if aliasExpansion > limits.maxAliasExpansion {
                    throw YAMLError(.aliasLimit, "aliases expand to more than \(limits.maxAliasExpansion) nodes (limit); the file repeats itself too much", at: start)
                }
                // The alias's own span, so problems with this use point here, not at the anchor.
                var use = target.node
                use.start = start
                use.end = mark(event.end_mark)
                try add(use, count: target.count)
            default:
                break
            }
        }
    }

    private func mark(_ m: yaml_mark_t) -> Mark {
        lines.mark(line: Int(m.line), column: Int(m.column))
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    private func parserError(_ parser: yaml_parser_t) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "syntax error"
        let context = parser.context.map { String(cString: $0) }
        let message = context.map { "\(problem) \($0)" } ?? problem
        // Reader errors (bad characters) carry a byte offset; scanner and parser errors a mark.
        let position = parser.error == YAML_READER_ERROR
            ? lines.mark(offset: parser.problem_offset)
            : mark(parser.problem_mark)
        return YAMLError(.syntax, message, at: position)
    }

    private mutating func push(_ frame: Frame) throws(YAMLError) {
        if stack.count >= limits.maxDepth {
            throw YAMLError(.depthLimit, "nesting deeper than \(limits.maxDepth) levels (limit)", at: frame.start)
        }
        stack.append(frame)
    }

    private mutating func pop(end: Mark) throws(YAMLError) {
        let frame = stack.removeLast()
        let content: Node.Content
        switch frame.collection {
        case .sequence(let items):
            content = .sequence(items)
        case .mapping(var mapping):
            for source in mapping.mergeSources {
                for entry in source.mapping ?? [] where mapping.seenKeys[entry.keyText] == nil {
                    mapping.seenKeys[entry.keyText] = entry.key.start
                    mapping.entries.append(entry)
                }
            }
            content = .mapping(mapping.entries)
        }
        let node = Node(content, tag: frame.tag, start: frame.start, end: end)
        register(anchor: frame.anchor, node: node, count: frame.nodeCount)
        try add(node, count: frame.nodeCount)
    }

    private mutating func register(anchor name: String?, node: Node, count: Int) {
        if let name { anchors[name] = (node, count) }
    }

    /// Attaches a finished node to its parent (or makes it the root).
    private mutating func add(_ node: Node, count: Int) throws(YAMLError) {
        totalNodes += count
        if totalNodes > limits.maxNodes {
            throw YAMLError(.nodeLimit, "document has more than \(limits.maxNodes) nodes (limit)", at: node.start)
        }
        guard !stack.isEmpty else {
            root = node
            return
        }
        stack[stack.count - 1].nodeCount += count
        switch stack[stack.count - 1].collection {
        case .sequence(var items):
            stack[stack.count - 1].collection = .sequence([])  // keep the array uniquely referenced
            items.append(node)
            stack[stack.count - 1].collection = .sequence(items)
        case .mapping(var mapping):
            stack[stack.count - 1].collection = .sequence([])
            try addToMapping(&mapping, node)
            stack[stack.count - 1].collection = .mapping(mapping)
        }
    }

    private func addToMapping(_ mapping: inout MappingFrame, _ node: Node) throws(YAMLError) {
        guard let key = mapping.pendingKey else {
            guard let scalar = node.scalar else {
                throw YAMLError(.nonScalarKey, "mapping key is a \(node.sequence != nil ? "sequence" : "mapping"); keys must be plain scalars", at: node.start)
            }
            if scalar.style == .plain && scalar.text == "<<" {
                mapping.pendingKeyIsMerge = true
            } else if let first = mapping.seenKeys[scalar.text] {
                throw YAMLError(.duplicateKey, "duplicate key \"\(scalar.text)\"; it is first defined at line \(first.line), column \(first.column)", at: node.start)
            } else {
                mapping.seenKeys[scalar.text] = node.start
            }
            mapping.pendingKey = node
            return
        }
        mapping.pendingKey = nil
        if mapping.pendingKeyIsMerge {
            mapping.pendingKeyIsMerge = false
            let sources = node.sequence ?? [node]
            for source in sources where source.mapping == nil {
                throw YAMLError(.invalidMerge, "merge key << takes a mapping or a list of mappings", at: source.start)
            }
            mapping.mergeSources.append(contentsOf: sources)
            return
        }
        mapping.entries.append(MappingEntry(key: key, value: node))
    }

    private func collectionTag(_ pointer: UnsafeMutablePointer<yaml_char_t>?, expected: String, at mark: Mark) throws(YAMLError) -> String {
        guard let tag = string(pointer), tag != "!" else { return expected }
        guard tag == expected else {
            throw YAMLError(.unsupportedTag, "unsupported tag \(displayTag(tag)); only the YAML core tags (!!str, !!int, !!float, !!bool, !!null, !!seq, !!map) are allowed", at: mark)
        }
        return tag
    }

    private func makeScalar(
        value pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int, style libyamlStyle: yaml_scalar_style_t,
        tag explicitTag: String?, start: Mark, end: Mark
    ) throws(YAMLError) -> Node {
        let text = pointer.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        } ?? ""
        let style: ScalarStyle
        switch libyamlStyle {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: style = .literal
        case YAML_FOLDED_SCALAR_STYLE: style = .folded
        default: style = .plain
        }
        let value: ScalarValue
        let tag: String
        switch explicitTag {
        case nil:
            if style == .plain, let resolved = CoreSchema.resolvePlain(text) {
                (value, tag) = resolved
            } else if style == .plain {
                throw YAMLError(.invalidValue, "number \(text.prefix(40)) is out of the supported range", at: start)
            } else {
                (value, tag) = (.string(text), Tag.str)
            }
        case "!", Tag.str?:
            (value, tag) = (.string(text), Tag.str)
        case let tagged?:
            guard [Tag.int, Tag.float, Tag.bool, Tag.null].contains(tagged) else {
                throw YAMLError(.unsupportedTag, "unsupported tag \(displayTag(tagged)); only the YAML core tags (!!str, !!int, !!float, !!bool, !!null, !!seq, !!map) are allowed", at: start)
            }
            guard let resolved = CoreSchema.resolvePlain(text), resolved.tag == tagged
                    || (tagged == Tag.float && resolved.tag == Tag.int) else {
                throw YAMLError(.invalidValue, "\"\(text.prefix(40))\" is not a valid \(displayTag(tagged)) value", at: start)
            }
            value = resolved.value
            tag = tagged
        }
        return Node(.scalar(Scalar(text: text, style: style, value: value)), tag: tag, start: start, end: end)
    }

    private func displayTag(_ tag: String) -> String {
        let prefix = "tag:yaml.org,2002:"
        let shown = tag.hasPrefix(prefix) ? "!!" + tag.dropFirst(prefix.count) : tag
        return String(shown.unicodeScalars.prefix(60).filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
    }
}

/// YAML 1.2 core-schema resolution of plain scalars, and the YAML 1.1 readings that differ.
public enum CoreSchema {
    /// The value and tag of a plain scalar; nil only for a number out of the supported range.
    public static func resolvePlain(_ text: String) -> (value: ScalarValue, tag: String)? {
        let utf8 = text.utf8
        guard let first = utf8.first else { return (.null, Tag.null) }
        // Fast exit: only these first characters can start a non-string core-schema value.
        switch first {
        case UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "~"):
            if text == "null" || text == "Null" || text == "NULL" || text == "~" { return (.null, Tag.null) }
            return (.string(text), Tag.str)
        case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"):
            if text == "true" || text == "True" || text == "TRUE" { return (.bool(true), Tag.bool) }
            if text == "false" || text == "False" || text == "FALSE" { return (.bool(false), Tag.bool) }
            return (.string(text), Tag.str)
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."):
            return resolveNumeric(text)
        default:
            return (.string(text), Tag.str)
        }
    }

    private static func resolveNumeric(_ text: String) -> (value: ScalarValue, tag: String)? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return (.nonFinite(.infinity), Tag.float)
        case "-.inf", "-.Inf", "-.INF": return (.nonFinite(-.infinity), Tag.float)
        case ".nan", ".NaN", ".NAN": return (.nonFinite(.nan), Tag.float)
        default: break
        }
        let bytes = Array(text.utf8)
        if bytes.count > 2, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "o") || bytes[1] == UInt8(ascii: "x") {
            let radix = bytes[1] == UInt8(ascii: "o") ? 8 : 16
            let digits = text.dropFirst(2)
            guard digits.allSatisfy({ $0.isHexDigit && ($0.hexDigitValue ?? 99) < radix }) else { return (.string(text), Tag.str) }
            guard digits.count <= 200, let value = BigInt(String(digits), radix: radix) else { return nil }
            return (.number(Number(significand: value)), Tag.int)
        }
        guard isCoreNumber(bytes) else { return (.string(text), Tag.str) }
        guard let number = Number(decimal: Substring(text)) else { return nil }
        let isInt = !bytes.contains(UInt8(ascii: ".")) && !bytes.contains(UInt8(ascii: "e")) && !bytes.contains(UInt8(ascii: "E"))
        return (.number(number), isInt ? Tag.int : Tag.float)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isCoreNumber(_ b: [UInt8]) -> Bool {
        var i = 0
        func isDigit(_ k: Int) -> Bool { k < b.count && b[k] >= 0x30 && b[k] <= 0x39 }
        if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
        var intDigits = 0
        while isDigit(i) { i += 1; intDigits += 1 }
        var fracDigits = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            while isDigit(i) { i += 1; fracDigits += 1 }
        }
        guard intDigits > 0 || fracDigits > 0 else { return false }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
            var expDigits = 0
            while isDigit(i) { i += 1; expDigits += 1 }
            guard expDigits > 0 else { return false }
        }
        return i == b.count
    }

    /// What a YAML 1.1 reader would make of a plain scalar that YAML 1.2 reads as a string, or nil
    /// when both agree. Many tools (PyYAML, older Ansible) read 1.1, so these values are ambiguous.
    public static func yaml11Reading(of scalar: Scalar) -> String? {
        guard scalar.style == .plain else { return nil }
        if case .number = scalar.value {
            let text = scalar.text.drop(while: { $0 == "-" || $0 == "+" })
            if text.count > 1, text.first == "0", text.allSatisfy({ ("0"..."7").contains($0) }) { return "an octal number" }
            return nil
        }
        guard case .string(let text) = scalar.value else { return nil }
        switch text {
        case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON": return "the boolean true"
        case "n", "N", "no", "No", "NO", "off", "Off", "OFF": return "the boolean false"
        default: break
        }
        // Sexagesimal integers such as 1:30 (YAML 1.1 reads 90).
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count > 1, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
           parts.dropFirst().allSatisfy({ $0.count <= 2 }) {
            return "a base-60 number"
        }
        return nil
    }
}
