import BigInt
internal import CYAML

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
    ///
    /// A UTF-8 byte-order mark at the start (YAML 1.2, section 5.2) is dropped before reading, so
    /// positions are those of the same file without it, as an editor shows them.
    public static func load(_ bytes: [UInt8], limits: LoaderLimits = .default) throws(YAMLError) -> Document {
        if bytes.starts(with: utf8ByteOrderMark) { return try load(Array(bytes.dropFirst(3)), limits: limits) }
        let lines = LineIndex(bytes)
        try checkEncoding(bytes, lines: lines, limits: limits)
        var builder = TreeBuilder(lines: lines, limits: limits)
        let root = try bytes.withUnsafeBufferPointer { buffer throws(YAMLError) -> Node in
            do throws(YAMLError) {
                return try builder.parse(buffer)
            } catch {
                var located = error
                if located.pointer.isEmpty { located.pointer = builder.openPointer(adding: nil) }
                throw located
            }
        }
        return Document(root: root, lines: lines)
    }

    /// Parses a string (tests and schemas written inline).
    public static func load(_ text: String, limits: LoaderLimits = .default) throws(YAMLError) -> Document {
        try load(Array(text.utf8), limits: limits)
    }

    /// The UTF-8 encoding of U+FEFF, allowed at the start of a stream.
    public static let utf8ByteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Rejects what libyaml would misread or report without a usable position.
    static func checkEncoding(_ bytes: [UInt8], lines: LineIndex, limits: LoaderLimits) throws(YAMLError) {
        if bytes.count > limits.maxFileBytes {
            throw YAMLError(.sizeLimit, "file is \(bytes.count) bytes, larger than the limit of \(limits.maxFileBytes) bytes", at: .origin)
        }
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) {
            throw YAMLError(.encoding, "file is UTF-16 (it starts with a byte-order mark); save it as UTF-8", at: .origin)
        }
        var i = 0
        let n = bytes.count
        while i < n {
            // Eight plain ASCII bytes (no high bit, no NUL) at a time: most of every playbook.
            i = SWAR.skipASCII(bytes, from: i) { word in
                SWAR.hasHighBit(word) || SWAR.hasZeroByte(word)
            }
            guard i < n else { break }
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
                throw YAMLError(
                    .encoding, "invalid UTF-8 byte 0x\(String(b, radix: 16, uppercase: true)); save the file as UTF-8",
                    at: lines.mark(offset: i))
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
///
/// Children of every open collection wait in one flat `pending` array (mapping keys and values
/// alternate); a frame only records where its children start. This keeps node moves to a
/// minimum, which is most of the loader's cost next to libyaml's own parse.
private struct TreeBuilder {
    let lines: LineIndex
    let limits: LoaderLimits

    private struct Frame {
        var isMapping: Bool
        var tag: CoreTag
        var anchor: String?
        var start: Mark
        /// Index in `pending` of this collection's first child.
        var firstChild: Int
        var nodeCount: Int
        /// Key texts seen so far, built only once a mapping grows past `linearKeyScanLimit`.
        var keyIndex: [String: Int]?
        /// Indices in `pending` of `<<` keys, whose values merge in at the end.
        var mergeKeys: [Int] = []
    }

    /// Below this many keys a linear scan for duplicates beats hashing.
    private static let linearKeyScanLimit = 16

    private var stack: [Frame] = []
    private let pending = PendingNodes()
    private var anchors: [String: (node: Node, count: Int)] = [:]
    private var totalNodes = 0
    private var aliasExpansion = 0
    private var root: Node?

    init(lines: LineIndex, limits: LoaderLimits) {
        self.lines = lines
        self.limits = limits
        // Room for a typical document's open children (about one node per 20 bytes, few open at once).
        stack.reserveCapacity(32)
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
                let tag = try collectionTag(data.tag, expected: .seq, at: start)
                try push(isMapping: false, tag: tag, anchor: string(data.anchor), start: start)
            case YAML_MAPPING_START_EVENT:
                let data = event.data.mapping_start
                let tag = try collectionTag(data.tag, expected: .map, at: start)
                try push(isMapping: true, tag: tag, anchor: string(data.anchor), start: start)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                try pop(end: mark(event.end_mark))
            case YAML_ALIAS_EVENT:
                let name = string(event.data.alias.anchor) ?? ""
                guard let target = anchors[name] else {
                    throw YAMLError(.undefinedAlias, "alias *\(name) refers to no anchor defined before it", at: start)
                }
                aliasExpansion += target.count
                if aliasExpansion > limits.maxAliasExpansion {
                    throw YAMLError(
                        .aliasLimit,
                        "aliases expand to more than \(limits.maxAliasExpansion) nodes (limit); the file repeats itself too much", at: start
                    )
                }
                // The alias's own span, so problems with this use point here, not at the anchor.
                var use = target.node
                use.start = start
                use.end = mark(event.end_mark)
                try add(use, count: target.count, newNodes: target.count)
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
        let position =
            parser.error == YAML_READER_ERROR
            ? lines.mark(offset: parser.problem_offset)
            : mark(parser.problem_mark)
        return YAMLError(.syntax, message, at: position)
    }

    /// The pointer of the node being built when parsing stopped (plus `key` inside the innermost mapping).
    func openPointer(adding key: String?) -> String {
        var pointer = ""
        for (index, frame) in stack.enumerated() {
            let childEnd = index + 1 < stack.count ? stack[index + 1].firstChild : pending.count
            let children = childEnd - frame.firstChild
            if !frame.isMapping {
                pointer = JSONPointer.appending(pointer, String(children))
            } else if children % 2 == 1 {
                pointer = JSONPointer.appending(pointer, pending[childEnd - 1].scalar?.text ?? "")
            } else {
                if let key, index + 1 == stack.count { pointer = JSONPointer.appending(pointer, key) }
                break
            }
        }
        return pointer
    }

    private mutating func push(isMapping: Bool, tag: CoreTag, anchor: String?, start: Mark) throws(YAMLError) {
        if stack.count >= limits.maxDepth {
            throw YAMLError(.depthLimit, "nesting deeper than \(limits.maxDepth) levels (limit)", at: start)
        }
        stack.append(Frame(isMapping: isMapping, tag: tag, anchor: anchor, start: start, firstChild: pending.count, nodeCount: 1))
    }

    private mutating func pop(end: Mark) throws(YAMLError) {
        let frame = stack.removeLast()
        let content: Node.Content
        if frame.isMapping {
            var mergeValues: [Node] = []
            var entries: [MappingEntry]
            if frame.mergeKeys.isEmpty {
                entries = pending.moveOutPairs(from: frame.firstChild)
            } else {
                entries = pending.moveOutPairs(from: frame.firstChild) { key, value, keyIndex in
                    if frame.mergeKeys.contains(keyIndex) {
                        mergeValues.append(value)
                        return nil
                    }
                    return MappingEntry(key: key, value: value)
                }
            }
            if !mergeValues.isEmpty {
                try merge(mergeValues, into: &entries)
            }
            content = .mapping(entries)
        } else {
            content = .sequence(pending.moveOut(from: frame.firstChild))
        }
        let node = Node(content, tag: frame.tag, start: frame.start, end: end)
        register(anchor: frame.anchor, node: node, count: frame.nodeCount)
        try add(node, count: frame.nodeCount)
    }

    /// Appends merged entries (YAML 1.1 `<<`) whose keys are not already present; earlier sources win.
    private func merge(_ values: [Node], into entries: inout [MappingEntry]) throws(YAMLError) {
        var present = Set(entries.map(\.keyText))
        for value in values {
            let sources = value.sequence ?? [value]
            for source in sources {
                guard let sourceEntries = source.mapping else {
                    throw YAMLError(.invalidMerge, "merge key << takes a mapping or a list of mappings", at: source.start)
                }
                for entry in sourceEntries where present.insert(entry.keyText).inserted {
                    entries.append(entry)
                }
            }
        }
    }

    private mutating func register(anchor name: String?, node: Node, count: Int) {
        if let name { anchors[name] = (node, count) }
    }

    /// Attaches a finished node to its parent (or makes it the root). `count` is the size of its
    /// subtree (for the parent's count); `newNodes` is how many nodes it adds to the document:
    /// 1 for a scalar or a finished collection (its children were counted as they came), the whole
    /// subtree for an alias.
    private mutating func add(_ node: Node, count: Int, newNodes: Int = 1) throws(YAMLError) {
        totalNodes += newNodes
        if totalNodes > limits.maxNodes {
            throw YAMLError(.nodeLimit, "document has more than \(limits.maxNodes) nodes (limit)", at: node.start)
        }
        guard !stack.isEmpty else {
            root = node
            return
        }
        let top = stack.count - 1
        stack[top].nodeCount += count
        if stack[top].isMapping && (pending.count - stack[top].firstChild) % 2 == 0 {
            try checkKey(node, frame: top)
        }
        pending.append(node)
    }

    /// Checks a node about to become a key of the mapping at `stack[frame]`.
    private mutating func checkKey(_ node: Node, frame: Int) throws(YAMLError) {
        guard let scalar = node.scalar else {
            throw YAMLError(
                .nonScalarKey, "mapping key is a \(node.sequence != nil ? "sequence" : "mapping"); keys must be plain scalars",
                at: node.start)
        }
        let length = scalar.text.utf8.count
        if length == 2 && scalar.style == .plain && scalar.text.utf8.elementsEqual("<<".utf8) {
            stack[frame].mergeKeys.append(pending.count)
            return
        }
        let firstChild = stack[frame].firstChild
        let keyCount = (pending.count - firstChild) / 2
        var duplicate: Int?
        if keyCount < TreeBuilder.linearKeyScanLimit {
            var index = firstChild
            while index < pending.count {
                if pending.isScalar(at: index, withTextOf: scalar.text, length: length), !stack[frame].mergeKeys.contains(index) {
                    duplicate = index
                    break
                }
                index += 2
            }
        } else {
            if stack[frame].keyIndex == nil {
                var keyIndex: [String: Int] = [:]
                for index in stride(from: firstChild, to: pending.count, by: 2) where !stack[frame].mergeKeys.contains(index) {
                    keyIndex[pending[index].scalar?.text ?? ""] = index
                }
                stack[frame].keyIndex = keyIndex
            }
            duplicate = stack[frame].keyIndex?.updateValue(pending.count, forKey: scalar.text)
            if let found = duplicate { stack[frame].keyIndex?[scalar.text] = found }
        }
        if let duplicate {
            let first = pending[duplicate].start
            throw YAMLError(
                .duplicateKey, "duplicate key \"\(scalar.text)\"; it is first defined at line \(first.line), column \(first.column)",
                at: node.start, pointer: openPointer(adding: scalar.text))
        }
    }

    private func collectionTag(_ pointer: UnsafeMutablePointer<yaml_char_t>?, expected: CoreTag, at mark: Mark) throws(YAMLError) -> CoreTag
    {
        guard let tag = string(pointer), tag != "!" else { return expected }
        guard tag == expected.name else {
            throw YAMLError(
                .unsupportedTag,
                "unsupported tag \(displayTag(tag)); only the YAML core tags (!!str, !!int, !!float, !!bool, !!null, !!seq, !!map) are allowed",
                at: mark)
        }
        return expected
    }

    private func makeScalar(
        value pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int, style libyamlStyle: yaml_scalar_style_t,
        tag explicitTag: String?, start: Mark, end: Mark
    ) throws(YAMLError) -> Node {
        let text =
            pointer.map {
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
        let tag: CoreTag
        switch explicitTag {
        case nil:
            if style == .plain, let resolved = CoreSchema.resolvePlain(text) {
                (value, tag) = resolved
            } else if style == .plain {
                throw YAMLError(.invalidValue, "number \(text.prefix(40)) is out of the supported range", at: start)
            } else {
                (value, tag) = (.string(text), .str)
            }
        case "!", Tag.str?:
            (value, tag) = (.string(text), .str)
        case let taggedName?:
            guard let tagged = CoreTag(name: taggedName), [.int, .float, .bool, .null].contains(tagged) else {
                throw YAMLError(
                    .unsupportedTag,
                    "unsupported tag \(displayTag(taggedName)); only the YAML core tags (!!str, !!int, !!float, !!bool, !!null, !!seq, !!map) are allowed",
                    at: start)
            }
            guard let resolved = CoreSchema.resolvePlain(text),
                resolved.tag == tagged
                    || (tagged == .float && resolved.tag == .int)
            else {
                throw YAMLError(.invalidValue, "\"\(text.prefix(40))\" is not a valid \(displayTag(taggedName)) value", at: start)
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
    public static func resolvePlain(_ text: String) -> (value: ScalarValue, tag: CoreTag)? {
        let utf8 = text.utf8
        guard let first = utf8.first else { return (.null, .null) }
        // Fast exit: only these first characters can start a non-string core-schema value.
        switch first {
        case UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "~"):
            // Length first: most scalars starting with these letters are ordinary words.
            let count = utf8.count
            if (count == 4 && (text == "null" || text == "Null" || text == "NULL")) || (count == 1 && first == UInt8(ascii: "~")) {
                return (.null, .null)
            }
            return (.string(text), .str)
        case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"):
            let count = utf8.count
            if count == 4 && (text == "true" || text == "True" || text == "TRUE") { return (.bool(true), .bool) }
            if count == 5 && (text == "false" || text == "False" || text == "FALSE") { return (.bool(false), .bool) }
            return (.string(text), .str)
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."):
            return resolveNumeric(text)
        default:
            return (.string(text), .str)
        }
    }

    private static func resolveNumeric(_ text: String) -> (value: ScalarValue, tag: CoreTag)? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return (.nonFinite(.infinity), .float)
        case "-.inf", "-.Inf", "-.INF": return (.nonFinite(-.infinity), .float)
        case ".nan", ".NaN", ".NAN": return (.nonFinite(.nan), .float)
        default: break
        }
        var utf8 = text
        return utf8.withUTF8 { bytes -> (value: ScalarValue, tag: CoreTag)? in
            if bytes.count > 2, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "o") || bytes[1] == UInt8(ascii: "x") {
                let radix = bytes[1] == UInt8(ascii: "o") ? 8 : 16
                let digits = String(decoding: bytes[2...], as: UTF8.self)
                guard digits.allSatisfy({ ($0.hexDigitValue ?? 99) < radix }) else { return (.string(text), .str) }
                guard digits.count <= 200, let value = BigInt(digits, radix: radix) else { return nil }
                return (.number(Number(significand: value)), .int)
            }
            guard let isInteger = coreNumberKind(bytes) else { return (.string(text), .str) }
            guard let number = Number(decimal: Substring(text)) else { return nil }
            return (.number(number), isInteger ? .int : .float)
        }
    }

    /// Whether the bytes match the core schema's int (`true`) or float (`false`) pattern
    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, or neither (nil).
    private static func coreNumberKind(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        var i = 0
        func isDigit(_ k: Int) -> Bool { k < b.count && b[k] >= 0x30 && b[k] <= 0x39 }
        if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
        var intDigits = 0
        while isDigit(i) {
            i += 1
            intDigits += 1
        }
        var isInteger = true
        var fracDigits = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            while isDigit(i) {
                i += 1
                fracDigits += 1
            }
        }
        guard intDigits > 0 || fracDigits > 0 else { return nil }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
            var expDigits = 0
            while isDigit(i) {
                i += 1
                expDigits += 1
            }
            guard expDigits > 0 else { return nil }
        }
        return i == b.count ? isInteger : nil
    }

    /// What a YAML 1.1 reader would make of a plain scalar that YAML 1.2 reads as a string, or nil
    /// when both agree. Many tools (PyYAML, older Ansible) read 1.1, so these values are ambiguous.
    public static func yaml11Reading(of scalar: Scalar) -> String? {
        guard scalar.style == .plain else { return nil }
        // Byte checks: this runs on every short plain scalar of every playbook.
        let bytes = scalar.text.utf8
        if !scalar.isString {
            guard case .number = scalar.value else { return nil }
            let digits = bytes.drop(while: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") })
            if digits.count > 1, digits.first == UInt8(ascii: "0"),
                digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") })
            {
                return "an octal number"
            }
            return nil
        }
        // The YAML 1.1 booleans start with y, n or o (either case).
        if bytes.count <= 3, let first = bytes.first,
            (first | 0x20) == UInt8(ascii: "y") || (first | 0x20) == UInt8(ascii: "n") || (first | 0x20) == UInt8(ascii: "o")
        {
            switch scalar.text {
            case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON": return "the boolean true"
            case "n", "N", "no", "No", "NO", "off", "Off", "OFF": return "the boolean false"
            default: break
            }
        }
        // Sexagesimal integers such as 1:30 (YAML 1.1 reads 90): digits and colons only, every
        // group but the first at most two digits.
        var sawColon = false
        var groupLength = 0
        for byte in bytes {
            if byte == UInt8(ascii: ":") {
                guard groupLength > 0 else { return nil }
                sawColon = true
                groupLength = 0
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                groupLength += 1
                if sawColon && groupLength > 2 { return nil }
            } else {
                return nil
            }
        }
        return sawColon && groupLength > 0 ? "a base-60 number" : nil
    }
}

/// The loader's stack of finished nodes waiting for their collection to close.
///
/// Hand-managed storage, because Swift's Array cannot shrink without destroying the elements
/// being removed: children are moved out exactly once into their collection's array, with no
/// placeholder written back and no second pass to destroy it.
private final class PendingNodes {
    private var base: UnsafeMutablePointer<Node>
    private var capacity: Int
    private(set) var count = 0

    init() {
        capacity = 256
        base = UnsafeMutablePointer<Node>.allocate(capacity: capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    subscript(index: Int) -> Node {
        precondition(index >= 0 && index < count)
        return base[index]
    }

    /// Whether the node at `index` is a scalar with the bytes of `text` (`length` of them), read
    /// in place: copying each earlier key out to compare it was much of the duplicate-key check.
    /// Bytes, not String equality: keys are equal when their code points are, as in JSON.
    func isScalar(at index: Int, withTextOf text: String, length: Int) -> Bool {
        precondition(index >= 0 && index < count)
        switch base[index].content {
        case .scalar(let other): return other.text.utf8.count == length && other.text.utf8.elementsEqual(text.utf8)
        default: return false
        }
    }

    func append(_ node: Node) {
        if count == capacity {
            let grown = UnsafeMutablePointer<Node>.allocate(capacity: capacity * 2)
            grown.moveInitialize(from: base, count: count)
            base.deallocate()
            base = grown
            capacity *= 2
        }
        (base + count).initialize(to: node)
        count += 1
    }

    /// The nodes from `first` to the end, moved into an array; they leave the stack.
    func moveOut(from first: Int) -> [Node] {
        precondition(first >= 0 && first <= count)
        let taken = count - first
        let items = [Node](unsafeUninitializedCapacity: taken) { out, initialized in
            out.baseAddress!.moveInitialize(from: base + first, count: taken)
            initialized = taken
        }
        count = first
        return items
    }

    /// The key/value pairs from `first` on, each moved through `makeEntry` (nil drops the pair;
    /// its two nodes are destroyed); they leave the stack.
    func moveOutPairs(from first: Int, _ makeEntry: ((Node, Node, Int) -> MappingEntry?)? = nil) -> [MappingEntry] {
        precondition(first >= 0 && first <= count && (count - first) % 2 == 0)
        let pairs = (count - first) / 2
        let entries = [MappingEntry](unsafeUninitializedCapacity: pairs) { out, initialized in
            var kept = 0
            for pair in 0..<pairs {
                let keySlot = base + first + 2 * pair
                guard let makeEntry else {
                    // No merge keys (almost every mapping): every pair becomes an entry as it is.
                    (out.baseAddress! + kept).initialize(to: MappingEntry(key: keySlot.move(), value: (keySlot + 1).move()))
                    kept += 1
                    continue
                }
                if let entry = makeEntry(keySlot.move(), (keySlot + 1).move(), first + 2 * pair) {
                    (out.baseAddress! + kept).initialize(to: entry)
                    kept += 1
                }
            }
            initialized = kept
        }
        count = first
        return entries
    }
}
