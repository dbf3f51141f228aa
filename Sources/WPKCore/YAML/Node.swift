/// A position in a source file: 1-based line and column (in Unicode scalars, as an editor counts
/// characters) and the 0-based byte offset.
public struct Mark: Hashable, Sendable, Comparable, CustomStringConvertible {
    // Stored as 32-bit values (files are far below 2 GiB) to keep every node small: the loader
    // moves nodes around, and their size is much of its cost.
    private var storedLine: Int32
    private var storedColumn: Int32
    private var storedOffset: Int32

    public var line: Int {
        get { Int(storedLine) }
        set { storedLine = Int32(clamping: newValue) }
    }

    public var column: Int {
        get { Int(storedColumn) }
        set { storedColumn = Int32(clamping: newValue) }
    }

    public var offset: Int {
        get { Int(storedOffset) }
        set { storedOffset = Int32(clamping: newValue) }
    }

    public init(line: Int, column: Int, offset: Int) {
        storedLine = Int32(clamping: line)
        storedColumn = Int32(clamping: column)
        storedOffset = Int32(clamping: offset)
    }

    /// The start of a file.
    public static let origin = Mark(line: 1, column: 1, offset: 0)

    public static func < (lhs: Mark, rhs: Mark) -> Bool { lhs.offset < rhs.offset }
    public var description: String { "\(line):\(column)" }
}

/// How a scalar was written; plain scalars are the only ones the core schema resolves.
public enum ScalarStyle: String, Sendable, Hashable {
    case plain, singleQuoted, doubleQuoted, literal, folded
}

/// The YAML 1.2 core-schema value of a scalar.
public enum ScalarValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// Boxed: a number is rarer than a string and three times its size.
    indirect case number(Number)
    /// `.inf`, `-.inf` and `.nan`: YAML floats with no JSON equivalent.
    case nonFinite(Double)
    case string(String)

    public static func == (lhs: ScalarValue, rhs: ScalarValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.nonFinite(let a), .nonFinite(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b):
            hasher.combine(1)
            hasher.combine(b)
        case .number(let n):
            hasher.combine(2)
            hasher.combine(n)
        case .nonFinite(let d):
            hasher.combine(3)
            hasher.combine(d.isNaN ? 0 : d)
        case .string(let s):
            hasher.combine(4)
            // Scalar-wise, so "é" precomposed and decomposed stay distinct keys, as in JSON.
            for scalar in s.unicodeScalars { hasher.combine(scalar.value) }
        }
    }
}

/// One scalar: its text as written (after YAML unescaping), its style and its resolved value.
public struct Scalar: Sendable, Hashable {
    public var text: String
    public var style: ScalarStyle
    private var resolved: Resolved

    /// The value with a string standing for `text` itself: a string scalar's value always is its
    /// text, and storing it once makes every copy of a node one reference count cheaper.
    private enum Resolved: Sendable, Hashable {
        case null
        case bool(Bool)
        /// Boxed: a number is rarer than a string and three times its size.
        indirect case number(Number)
        case nonFinite(Double)
        case string
    }

    /// A scalar; a `.string` value must be `text` itself (it is stored once, as the text).
    public init(text: String, style: ScalarStyle, value: ScalarValue) {
        self.text = text
        self.style = style
        switch value {
        case .null: resolved = .null
        case .bool(let b): resolved = .bool(b)
        case .number(let n): resolved = .number(n)
        case .nonFinite(let d): resolved = .nonFinite(d)
        case .string(let string):
            assert(string.utf8.elementsEqual(text.utf8), "a string scalar's value is its text")
            resolved = .string
        }
    }

    /// The YAML 1.2 core-schema value.
    public var value: ScalarValue {
        switch resolved {
        case .null: .null
        case .bool(let b): .bool(b)
        case .number(let n): .number(n)
        case .nonFinite(let d): .nonFinite(d)
        case .string: .string(text)
        }
    }

    /// Whether the value is a string (without building it).
    public var isString: Bool {
        if case .string = resolved { return true }
        return false
    }

    public static func == (lhs: Scalar, rhs: Scalar) -> Bool {
        lhs.text == rhs.text && lhs.style == rhs.style && lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(text)
        hasher.combine(style)
        hasher.combine(value)
    }
}

/// A key and its value in a mapping, in document order.
public struct MappingEntry: Sendable {
    public var key: Node
    public var value: Node

    public init(key: Node, value: Node) {
        self.key = key
        self.value = value
    }

    /// The key's text (mapping keys are always scalars).
    public var keyText: String { key.scalar?.text ?? "" }
}

/// A node of a YAML document with its source span and resolved tag.
public struct Node: Sendable {
    public enum Content: Sendable {
        case scalar(Scalar)
        case sequence([Node])
        case mapping([MappingEntry])
    }

    public var content: Content
    /// The resolved tag (a byte: every copy of a node would otherwise count a reference to it).
    public var coreTag: CoreTag
    public var start: Mark
    public var end: Mark

    public init(_ content: Content, tag: CoreTag, start: Mark, end: Mark) {
        self.content = content
        self.coreTag = tag
        self.start = start
        self.end = end
    }

    /// The resolved tag in full form, e.g. `tag:yaml.org,2002:str`.
    public var tag: String { coreTag.name }

    public var scalar: Scalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    public var sequence: [Node]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    public var mapping: [MappingEntry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    /// The string value of a scalar that resolved to a string.
    public var string: String? {
        if case .scalar(let s) = content, s.isString { return s.text }
        return nil
    }

    /// The value under `key` in a mapping.
    public subscript(key: String) -> Node? {
        guard case .mapping(let entries) = content else { return nil }
        guard let index = Node.index(of: key, in: entries) else { return nil }
        // Only the value is copied out (through `entry` the key would be copied too).
        return entries[index].value
    }

    /// The index of the entry whose key is the string `key` (with `anyScalar`, any scalar key
    /// written as `key`, as JSON Schema reads property names). Hot: the rules, the model and the
    /// schema look up thousands of keys per playbook, so the loop reads keys in place and
    /// compares lengths before text.
    static func index(of key: String, in entries: [MappingEntry], anyScalar: Bool = false) -> Int? {
        let length = key.utf8.count
        return entries.withUnsafeBufferPointer { buffer in
            for index in buffer.indices {
                switch buffer[index].key.content {
                case .scalar(let scalar) where (anyScalar || scalar.isString) && scalar.text.utf8.count == length && scalar.text == key:
                    return index
                default:
                    continue
                }
            }
            return nil
        }
    }

    /// The entry under `key` in a mapping (to reach the key's own position).
    public func entry(_ key: String) -> MappingEntry? {
        guard case .mapping(let entries) = content else { return nil }
        return Node.index(of: key, in: entries).map { entries[$0] }
    }

    /// The node at an RFC 6901 JSON pointer, or nil.
    public func resolve(pointer: String) -> Node? {
        var node = self
        for token in JSONPointer.tokens(pointer) {
            switch node.content {
            case .mapping(let entries):
                guard let index = Node.index(of: token, in: entries, anyScalar: true) else { return nil }
                node = entries[index].value
            case .sequence(let items):
                guard let index = Int(token), index >= 0, index < items.count else { return nil }
                node = items[index]
            case .scalar:
                return nil
            }
        }
        return node
    }
}

/// The YAML core tags: the only ones a playbook may use (the loader refuses every other tag).
public enum CoreTag: UInt8, Sendable, Hashable, CaseIterable {
    case str, int, float, bool, null, seq, map

    /// The tag in full form (one of `Tag`'s).
    public var name: String {
        switch self {
        case .str: Tag.str
        case .int: Tag.int
        case .float: Tag.float
        case .bool: Tag.bool
        case .null: Tag.null
        case .seq: Tag.seq
        case .map: Tag.map
        }
    }

    /// The core tag named `name` in full form, or nil.
    public init?(name: String) {
        guard let tag = CoreTag.allCases.first(where: { $0.name == name }) else { return nil }
        self = tag
    }
}

/// Well-known YAML tags.
public enum Tag {
    public static let str = "tag:yaml.org,2002:str"
    public static let int = "tag:yaml.org,2002:int"
    public static let float = "tag:yaml.org,2002:float"
    public static let bool = "tag:yaml.org,2002:bool"
    public static let null = "tag:yaml.org,2002:null"
    public static let seq = "tag:yaml.org,2002:seq"
    public static let map = "tag:yaml.org,2002:map"
}

/// RFC 6901 JSON pointers.
public enum JSONPointer {
    /// Escapes one reference token (`~` to `~0`, `/` to `~1`).
    public static func escape(_ token: String) -> String {
        // Almost every token holds neither character; those need no new string.
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count + 4)
        for byte in token.utf8 {
            switch byte {
            case UInt8(ascii: "~"): out += [UInt8(ascii: "~"), UInt8(ascii: "0")]
            case UInt8(ascii: "/"): out += [UInt8(ascii: "~"), UInt8(ascii: "1")]
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Splits and unescapes a pointer; `""` gives no tokens.
    public static func tokens(_ pointer: String) -> [String] {
        guard !pointer.isEmpty else { return [] }
        return pointer.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst().map(unescape)
    }

    /// One token with `~1` read as `/` and `~0` as `~`, in that order (RFC 6901 section 4), so
    /// `~01` is `~1`. Other bytes, `~` included when no digit follows, are kept as written.
    private static func unescape(_ token: Substring.UTF8View) -> String {
        guard token.contains(UInt8(ascii: "~")) else { return String(Substring(token)) }
        var out: [UInt8] = []
        out.reserveCapacity(token.count)
        var index = token.startIndex
        while index != token.endIndex {
            let byte = token[index]
            let next = token.index(after: index)
            if byte == UInt8(ascii: "~"), next != token.endIndex, token[next] == UInt8(ascii: "1") || token[next] == UInt8(ascii: "0") {
                out.append(token[next] == UInt8(ascii: "1") ? UInt8(ascii: "/") : UInt8(ascii: "~"))
                index = token.index(after: next)
            } else {
                out.append(byte)
                index = next
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends one token to a pointer.
    public static func appending(_ pointer: String, _ token: String) -> String {
        let escaped = escape(token)
        var out = ""
        out.reserveCapacity(pointer.utf8.count + 1 + escaped.utf8.count)
        out += pointer
        out += "/"
        out += escaped
        return out
    }
}
