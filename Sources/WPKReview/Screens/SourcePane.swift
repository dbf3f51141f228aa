import WPKCore

/// Source: the file with line numbers, a gutter mark on lines with diagnostics, and YAML colours.
enum SourcePane {
    /// Bytes of one line decoded for display; a longer line is cut (the screen is at most a few
    /// hundred columns, and decoding a 16 MB line on every keystroke would stall the UI).
    static let maxLineBytes = 4096

    static func draw(_ state: ReviewState, _ open: OpenPlaybook, into screen: inout Screen) {
        let numberWidth = max(3, String(open.lines.lineCount).count)
        let textColumn = numberWidth + 5
        let selected = state.paneScroll[.source]?.selected ?? 0
        PlaybookScreen.drawRows(state, pane: .source, into: &screen, highlight: false) { index, row, screen in
            let line = index + 1
            let number = String(line)
            let numberStyle: Style = index == selected ? .selected : .dim
            screen.put(String(repeating: " ", count: numberWidth - number.count) + number, row: row, column: 1, style: numberStyle)
            if let severity = open.severityByLine[line] {
                let mark = severity == .error ? "E" : severity == .warning ? "W" : "I"
                screen.put(mark, row: row, column: numberWidth + 2, style: Frame.style(severity))
            }
            screen.put(String(screen.glyphs.vertical), row: row, column: numberWidth + 3, style: .border)
            let bytes = open.lines.lineBytes(line)
            let text = String(decoding: bytes.prefix(maxLineBytes), as: UTF8.self)
            var column = textColumn
            for segment in YAMLHighlighter.segments(text) where column < screen.size.width {
                column += screen.put(segment.text, row: row, column: column, maxWidth: screen.size.width - column, style: segment.style)
            }
        }
    }
}

/// Colours one line of YAML for display. A per-line approximation, not a parser: the file has
/// already been parsed for real, and a highlighter must never fail, whatever the line holds.
/// It knows comments, `- ` items, `key:` prefixes, quoted strings, plain numbers, booleans and nulls.
public enum YAMLHighlighter {
    /// The line cut into styled pieces, in order; joining their text gives the line back.
    public static func segments(_ line: String) -> [(text: String, style: Style)] {
        var out: [(String, Style)] = []
        var rest = Substring(line)
        let indent = rest.prefix { $0 == " " }
        if !indent.isEmpty {
            out.append((String(indent), .normal))
            rest = rest.dropFirst(indent.count)
        }
        while rest.hasPrefix("- ") || rest == "-" {
            out.append(("-", .yamlPunct))
            rest = rest.dropFirst()
            let spaces = rest.prefix { $0 == " " }
            if !spaces.isEmpty {
                out.append((String(spaces), .normal))
                rest = rest.dropFirst(spaces.count)
            }
        }
        if rest.hasPrefix("#") { return out + [(String(rest), .yamlComment)] }
        if let colon = keyColon(rest) {
            out.append((String(rest[..<colon]), .yamlKey))
            out.append((":", .yamlPunct))
            rest = rest[rest.index(after: colon)...]
        }
        out.append(contentsOf: value(rest))
        return out.filter { !$0.0.isEmpty }
    }

    /// The colon ending a mapping key at the start of `text` (followed by a space or the end).
    private static func keyColon(_ text: Substring) -> Substring.Index? {
        guard let first = text.first, first != "{", first != "[", first != "|", first != ">" else { return nil }
        var quote: Character? = (first == "\"" || first == "'") ? first : nil
        var index = quote == nil ? text.startIndex : text.index(after: text.startIndex)
        while index < text.endIndex {
            let c = text[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == ":" {
                let next = text.index(after: index)
                if next == text.endIndex || text[next] == " " { return index }
            } else if c == "#", index > text.startIndex, text[text.index(before: index)] == " " {
                return nil
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// A value and any trailing comment.
    private static func value(_ text: Substring) -> [(String, Style)] {
        var out: [(String, Style)] = []
        let spaces = text.prefix { $0 == " " }
        out.append((String(spaces), .normal))
        var body = text.dropFirst(spaces.count)
        var comment: Substring = ""
        if body.hasPrefix("#") {
            return out + [(String(body), .yamlComment)]
        }
        if let first = body.first, first == "\"" || first == "'" {
            var index = body.index(after: body.startIndex)
            while index < body.endIndex, body[index] != first {
                if first == "\"", body[index] == "\\" {
                    index = body.index(after: index)
                    if index == body.endIndex { break }
                }
                index = body.index(after: index)
            }
            let end = index < body.endIndex ? body.index(after: index) : body.endIndex
            out.append((String(body[..<end]), .yamlString))
            body = body[end...]
            return out + [(String(body), trailingStyle(body))]
        }
        if let hash = body.range(of: " #") {
            comment = body[hash.lowerBound...]
            body = body[..<hash.lowerBound]
        }
        let trimmed = body.trimmingSpaces
        let style: Style
        if trimmed == "|" || trimmed == ">" || trimmed.hasPrefix("|") || trimmed.hasPrefix(">") || trimmed.hasPrefix("&")
            || trimmed.hasPrefix("*")
        {
            style = .yamlPunct
        } else if let resolved = CoreSchema.resolvePlain(trimmed), resolved.tag != .str {
            style = .yamlNumber
        } else {
            style = .normal
        }
        out.append((String(body), style))
        out.append((String(comment), .yamlComment))
        return out
    }

    private static func trailingStyle(_ text: Substring) -> Style {
        text.drop { $0 == " " }.hasPrefix("#") ? .yamlComment : .normal
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
