/// Reads one RFC 8259 JSON text into the tree the YAML loader builds, with a mark on every node.
///
/// libyaml (0.2.5) cannot stand in for this: it refuses the surrogate-pair escapes that Python's
/// `json.dump` writes for every character outside the Basic Multilingual Plane, and it accepts
/// much that JSON forbids. The tokens are read by the strict JSON reader (`JSONByteParser`);
/// failures are `YAMLError`s with the codes the YAML loader uses for the same problems.
public enum JSONDocumentLoader {
    /// Parses exactly one JSON value, or throws the first problem with its position. A UTF-8
    /// byte-order mark at the start is skipped (RFC 8259 section 8.1 lets a reader ignore it).
    public static func load(_ bytes: [UInt8], limits: LoaderLimits = .default) throws(YAMLError) -> Document {
        if bytes.starts(with: YAMLLoader.utf8ByteOrderMark) { return try load(Array(bytes.dropFirst(3)), limits: limits) }
        let lines = LineIndex(bytes)
        try YAMLLoader.checkEncoding(bytes, lines: lines, limits: limits)
        let root = try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> Node in
            var builder = JSONTreeBuilder(parser: JSONByteParser(bytes: buffer, maxDepth: limits.maxDepth), limits: limits, lines: lines)
            return try builder.document()
        }
        return Document(root: root, lines: lines)
    }
}

/// Reads a document by its name: `*.json` as RFC 8259 JSON, anything else as YAML.
public enum SourceDocument {
    /// Whether a file of this name is read as JSON.
    public static func isJSON(path: String) -> Bool {
        path.utf8.count >= 5 && path.suffix(5).lowercased() == ".json"
    }

    /// The document in `bytes`, read as JSON or YAML by `path`'s extension.
    public static func load(_ bytes: [UInt8], path: String, limits: LoaderLimits = .default) throws(YAMLError) -> Document {
        isJSON(path: path) ? try JSONDocumentLoader.load(bytes, limits: limits) : try YAMLLoader.load(bytes, limits: limits)
    }
}

/// Builds nodes from the JSON tokens. Marks are requested in increasing offset order (the parse
/// only moves forward), so one cursor advancing over the bytes gives every line and column in
/// linear time, even for a minified file on one line.
private struct JSONTreeBuilder {
    var parser: JSONByteParser
    let limits: LoaderLimits
    let lines: LineIndex
    private var nodeCount = 0
    private var cursorOffset = 0
    private var cursorLine = 1
    private var cursorColumn = 1

    init(parser: JSONByteParser, limits: LoaderLimits, lines: LineIndex) {
        self.parser = parser
        self.limits = limits
        self.lines = lines
    }

    mutating func document() throws(YAMLError) -> Node {
        parser.skipWhitespace()
        if parser.index == parser.bytes.count { throw YAMLError(.noDocument, "file holds no JSON value", at: .origin) }
        let root = try value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else {
            throw syntax(JSONParseError("unexpected data after the JSON value", at: parser.index))
        }
        return root
    }

    /// A JSON reader's complaint as the loader's syntax error (WPK101) at its position.
    private func syntax(_ error: JSONParseError) -> YAMLError {
        YAMLError(.syntax, "JSON syntax error: \(error.message)", at: lines.mark(offset: error.offset))
    }

    /// Runs one step of the token reader, turning its failure into a positioned `YAMLError`.
    private mutating func read<T>(_ step: (inout JSONByteParser) throws(JSONParseError) -> T) throws(YAMLError) -> T {
        do { return try step(&parser) } catch { throw syntax(error) }
    }

    /// The mark of `offset`, which is never before the last one asked for.
    private mutating func mark(_ offset: Int) -> Mark {
        let bytes = parser.bytes
        var i = cursorOffset
        while i < offset {
            let byte = bytes[i]
            // The line breaks `LineIndex` counts: LF, CR, CRLF (one break), NEL, LS, PS.
            var breakLength = 0
            if byte == 0x0A {
                breakLength = 1
            } else if byte == 0x0D {
                breakLength = i + 1 < bytes.count && bytes[i + 1] == 0x0A ? 2 : 1
            } else if byte == 0xC2, i + 1 < bytes.count, bytes[i + 1] == 0x85 {
                breakLength = 2
            } else if byte == 0xE2, i + 2 < bytes.count, bytes[i + 1] == 0x80, bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9 {
                breakLength = 3
            }
            if breakLength > 0 {
                cursorLine += 1
                cursorColumn = 1
                i += breakLength
            } else {
                if byte & 0xC0 != 0x80 { cursorColumn += 1 }  // one column per scalar, at its lead byte
                i += 1
            }
        }
        cursorOffset = max(cursorOffset, i)
        return Mark(line: cursorLine, column: cursorColumn, offset: offset)
    }

    private mutating func value(depth: Int) throws(YAMLError) -> Node {
        let startOffset = parser.index
        guard startOffset < parser.bytes.count else { throw syntax(parser.fail("unexpected end of input")) }
        let start = mark(startOffset)
        let content: Node.Content
        let tag: CoreTag
        switch parser.bytes[startOffset] {
        case UInt8(ascii: "{"):
            content = .mapping(try object(depth: depth + 1, start: start))
            tag = .map
        case UInt8(ascii: "["):
            content = .sequence(try array(depth: depth + 1, start: start))
            tag = .seq
        case UInt8(ascii: "\""):
            let text = try read { (parser) throws(JSONParseError) in try parser.parseString() }
            content = .scalar(Scalar(text: text, style: .doubleQuoted, value: .string(text)))
            tag = .str
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            let truth = parser.bytes[startOffset] == UInt8(ascii: "t")
            try read { (parser) throws(JSONParseError) in try parser.expectLiteral(truth ? "true" : "false") }
            content = .scalar(Scalar(text: truth ? "true" : "false", style: .plain, value: .bool(truth)))
            tag = .bool
        case UInt8(ascii: "n"):
            try read { (parser) throws(JSONParseError) in try parser.expectLiteral("null") }
            content = .scalar(Scalar(text: "null", style: .plain, value: .null))
            tag = .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let number = try read { (parser) throws(JSONParseError) in try parser.parseNumber() }
            let literal = UnsafeBufferPointer(rebasing: parser.bytes[startOffset..<parser.index])
            let isInteger = !literal.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            content = .scalar(Scalar(text: String(decoding: literal, as: UTF8.self), style: .plain, value: .number(number)))
            tag = isInteger ? .int : .float
        default:
            throw syntax(parser.fail("unexpected character"))
        }
        nodeCount += 1
        if nodeCount > limits.maxNodes {
            throw YAMLError(.nodeLimit, "document has more than \(limits.maxNodes) nodes (limit)", at: start)
        }
        return Node(content, tag: tag, start: start, end: mark(parser.index))
    }

    /// Steps into an object or array, refusing nesting past the limit (which also bounds recursion).
    private mutating func enter(depth: Int, start: Mark) throws(YAMLError) {
        guard depth <= limits.maxDepth else {
            throw YAMLError(.depthLimit, "nesting deeper than \(limits.maxDepth) levels (limit)", at: start)
        }
        parser.index += 1
        parser.skipWhitespace()
    }

    /// After a member or item: true at `,`, false at `closing`, else a syntax error.
    private mutating func more(closing: UInt8) throws(YAMLError) -> Bool {
        parser.skipWhitespace()
        guard parser.index < parser.bytes.count else { throw syntax(parser.fail("unexpected end of input")) }
        let byte = parser.bytes[parser.index]
        parser.index += 1
        if byte == UInt8(ascii: ",") {
            parser.skipWhitespace()
            return true
        }
        if byte == closing { return false }
        parser.index -= 1
        throw syntax(parser.fail("expected ',' or '\(Character(Unicode.Scalar(closing)))'"))
    }

    private mutating func object(depth: Int, start: Mark) throws(YAMLError) -> [MappingEntry] {
        try enter(depth: depth, start: start)
        var entries: [MappingEntry] = []
        if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "}") {
            parser.index += 1
            return entries
        }
        // Names compare by their scalars (as the YAML loader's keys do): JSON keeps canonically
        // equivalent names apart.
        var firstByName: [[UInt8]: Mark] = [:]
        repeat {
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") else {
                throw syntax(parser.fail("expected a member name"))
            }
            let key = try value(depth: depth)
            let name = key.scalar?.text ?? ""
            if let first = firstByName.updateValue(key.start, forKey: Array(name.utf8)) {
                throw YAMLError(
                    .duplicateKey, "duplicate key \"\(name)\"; it is first defined at line \(first.line), column \(first.column)",
                    at: key.start)
            }
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: ":") else {
                throw syntax(parser.fail("expected ':'"))
            }
            parser.index += 1
            parser.skipWhitespace()
            entries.append(MappingEntry(key: key, value: try value(depth: depth)))
        } while try more(closing: UInt8(ascii: "}"))
        return entries
    }

    private mutating func array(depth: Int, start: Mark) throws(YAMLError) -> [Node] {
        try enter(depth: depth, start: start)
        var items: [Node] = []
        if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "]") {
            parser.index += 1
            return items
        }
        repeat {
            items.append(try value(depth: depth))
        } while try more(closing: UInt8(ascii: "]"))
        return items
    }
}
