/// A `${{ … }}` reference inside a string: the one template syntax of a playbook.
///
/// Inside the braces: `inputs.NAME` (a declared input) or `run.id` (the run's id). In `when`,
/// a reference may be negated or compared: `${{ !inputs.dry }}`, `${{ inputs.env == 'prod' }}`.
public struct TemplateReference: Sendable, Hashable {
    /// The text between `${{` and `}}`, trimmed.
    public var expression: String
    /// The whole `${{ … }}` range in the string (UTF-8 offsets), for substitution.
    public var utf8Range: Range<Int>
    /// 0-based line and column (Unicode scalars) of `${{` inside the string.
    public var line: Int
    public var column: Int
    /// Every `namespace.name` the expression mentions, e.g. `["inputs.replicas"]`.
    public var names: [String]

    /// The inputs the expression mentions (names after `inputs.`).
    public var inputNames: [String] {
        names.compactMap { $0.hasPrefix("inputs.") ? String($0.dropFirst("inputs.".count)) : nil }
    }
}

/// Finding and substituting `${{ … }}` references.
public enum Templates {
    /// The namespaces a reference may name.
    public static let namespaces: Set<String> = ["inputs", "run"]
    /// The names under `run.` a playbook may use.
    public static let runNames: Set<String> = ["id"]

    /// Every reference in `text`, in order. An unclosed `${{` is reported as a reference whose
    /// expression is empty, so a rule can point at it. Linear in the text's length.
    public static func references(in text: String) -> [TemplateReference] {
        var text = text
        return text.withUTF8 { bytes in
            var out: [TemplateReference] = []
            var line = 0
            var column = 0
            var counted = 0
            // Line and column of each `${{`, kept in step over every byte before it.
            func count(to end: Int) {
                while counted < end {
                    if bytes[counted] == 0x0A {
                        line += 1
                        column = 0
                    } else if bytes[counted] & 0xC0 != 0x80 {
                        column += 1
                    }
                    counted += 1
                }
            }
            forEachSpan(in: bytes) { whole, expression in
                count(to: whole.lowerBound)
                let text = expression.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) } ?? ""
                out.append(TemplateReference(expression: text, utf8Range: whole, line: line, column: column, names: dottedNames(in: text)))
                return true
            }
            return out
        }
    }

    /// Calls `body` with each `${{ … }}` in `bytes`, in order: the whole span and the expression
    /// inside, trimmed (nil when the `${{` is never closed; the span then runs to the end).
    /// `body` returns false to stop.
    private static func forEachSpan(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>, Range<Int>?) -> Bool) {
        let n = bytes.count
        var i = 0
        while i + 2 < n {
            guard bytes[i] == UInt8(ascii: "$"), bytes[i + 1] == UInt8(ascii: "{"), bytes[i + 2] == UInt8(ascii: "{") else {
                i += 1
                continue
            }
            var end = i + 3
            while end + 1 < n, !(bytes[end] == UInt8(ascii: "}") && bytes[end + 1] == UInt8(ascii: "}")) { end += 1 }
            guard end + 1 < n else {
                _ = body(i..<n, nil)
                return
            }
            var first = i + 3
            var last = end
            while first < last && isBlank(bytes[first]) { first += 1 }
            while last > first && isBlank(bytes[last - 1]) { last -= 1 }
            guard body(i..<(end + 2), first..<last) else { return }
            i = end + 2
        }
    }

    /// Whether every reference in `text` is exactly `${{ inputs.NAME }}` with NAME in `declared`,
    /// or `${{ run.id }}`: the usual case, decided on the bytes without building references (false
    /// sends the text through `references(in:)` for the full reading and a precise message).
    static func namesOnlyKnownValues(_ text: String, declared: Set<String>) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            func isNameByte(_ byte: UInt8) -> Bool {
                (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
                    || byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
            func holds(_ literal: StaticString, at position: Int, in range: Range<Int>) -> Bool {
                let count = literal.utf8CodeUnitCount
                guard position + count <= range.upperBound else { return false }
                for k in 0..<count where bytes[position + k] != literal.utf8Start[k] { return false }
                return true
            }
            var allKnown = true
            forEachSpan(in: bytes) { _, expression in
                guard let expression else {
                    allKnown = false
                    return false
                }  // not closed
                if holds("inputs.", at: expression.lowerBound, in: expression) {
                    let name = (expression.lowerBound + 7)..<expression.upperBound
                    allKnown =
                        !name.isEmpty && name.allSatisfy { isNameByte(bytes[$0]) }
                        && declared.contains(String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self))
                } else {
                    allKnown = expression.count == 6 && holds("run.id", at: expression.lowerBound, in: expression)
                }
                return allKnown
            }
            return allKnown
        }
    }

    /// `a.b` identifiers in an expression (letters, digits, `_`, `-`), skipping quoted literals.
    static func dottedNames(in expression: String) -> [String] {
        expression.utf8.allSatisfy({ $0 < 0x80 }) ? asciiDottedNames(in: expression) : characterDottedNames(in: expression)
    }

    /// `dottedNames` for any text, character by character.
    static func characterDottedNames(in expression: String) -> [String] {
        var names: [String] = []
        var current = ""
        var quote: Character?
        func flush() {
            if current.utf8.contains(UInt8(ascii: ".")), let first = current.first, first.isLetter { names.append(current) }
            current = ""
        }
        for ch in expression {
            if let q = quote {
                if ch == q { quote = nil }
                continue
            }
            if ch == "'" || ch == "\"" {
                flush()
                quote = ch
                continue
            }
            if ch.isLetter || ch.isNumber || ch == "_" || ch == "-" || ch == "." {
                current.append(ch)
            } else {
                flush()
            }
        }
        flush()
        return names
    }

    /// `dottedNames` for ASCII text, on bytes: ASCII letters and digits are exactly what
    /// `Character.isLetter` and `isNumber` accept below 0x80, and every byte is one character.
    static func asciiDottedNames(in expression: String) -> [String] {
        var names: [String] = []
        var current: [UInt8] = []
        var quote: UInt8?
        func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
        func flush() {
            if let first = current.first, isLetter(first), current.contains(UInt8(ascii: ".")) {
                names.append(String(decoding: current, as: UTF8.self))
            }
            current.removeAll(keepingCapacity: true)
        }
        for byte in expression.utf8 {
            if let q = quote {
                if byte == q { quote = nil }
                continue
            }
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                flush()
                quote = byte
                continue
            }
            if isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            {
                current.append(byte)
            } else {
                flush()
            }
        }
        flush()
        return names
    }

    /// Replaces each reference by `value(reference)`; nil leaves the reference as written.
    public static func substitute(_ text: String, _ value: (TemplateReference) -> String?) -> String {
        let refs = references(in: text)
        guard !refs.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var last = 0
        for ref in refs {
            out.append(contentsOf: bytes[last..<ref.utf8Range.lowerBound])
            if let replacement = value(ref) {
                out.append(contentsOf: replacement.utf8)
            } else {
                out.append(contentsOf: bytes[ref.utf8Range])
            }
            last = ref.utf8Range.upperBound
        }
        out.append(contentsOf: bytes[last...])
        return String(decoding: out, as: UTF8.self)
    }

    /// The source position of each reference found in scalar `node`, in order: exact wherever the
    /// source holds the `${{` as written (plain, quoted and block scalars), else the scalar's start.
    public static func marks(of references: [TemplateReference], in node: Node, lines: LineIndex?) -> [Mark] {
        var cursor = SourceLocator.Cursor(node: node, lines: lines)
        var out: [Mark] = []
        out.reserveCapacity(references.count)
        for _ in references { out.append(cursor.next("${{") ?? node.start) }
        return out
    }
}

extension String {
    /// Whether the UTF-8 bytes of `needle` occur in the string: a plain byte scan, much cheaper
    /// than `contains` on characters for the many short scalars the rules look at.
    func containsBytes(_ needle: String) -> Bool {
        // Needles are literals, whose UTF-8 is contiguous: no array to allocate per call.
        if let found = needle.utf8.withContiguousStorageIfAvailable({ containsBytes($0) }) { return found }
        return Array(needle.utf8).withUnsafeBufferPointer { containsBytes($0) }
    }

    /// Whether the bytes of `pattern` occur in the string's UTF-8.
    func containsBytes(_ pattern: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = pattern.first else { return true }
        let search = { (bytes: UnsafeBufferPointer<UInt8>) -> Bool in
            guard bytes.count >= pattern.count else { return false }
            var i = 0
            let last = bytes.count - pattern.count
            while i <= last {
                if bytes[i] == first {
                    var k = 1
                    while k < pattern.count && bytes[i + k] == pattern[k] { k += 1 }
                    if k == pattern.count { return true }
                }
                i += 1
            }
            return false
        }
        if let found = utf8.withContiguousStorageIfAvailable(search) { return found }
        var copy = self
        copy.makeContiguousUTF8()
        return copy.utf8.withContiguousStorageIfAvailable(search) ?? false
    }

    /// The string without leading and trailing spaces, tabs and line breaks.
    var trimmingSpaces: String {
        // On bytes: the four are ASCII, and an ASCII byte is never part of a longer character.
        guard let first = utf8.firstIndex(where: { !isBlank($0) }) else { return "" }
        let last = utf8.lastIndex(where: { !isBlank($0) })!
        return String(Substring(utf8[first...last]))
    }
}

/// A space, tab or line break: what `trimmingSpaces` and template expressions trim.
func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
