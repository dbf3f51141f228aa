import Testing

@testable import WPKReview

/// An untrusted string and how it must appear.
struct SanitizeCase: CustomTestStringConvertible, Sendable {
    var name: String
    var input: String
    var shown: String
    var asciiOnly = false
    var testDescription: String { name }
}

@Suite("Screen grid, text width and sanitizing")
struct ScreenTests {
    static let sanitizeCases: [SanitizeCase] = [
        SanitizeCase(name: "plain ASCII passes", input: "restart-api", shown: "restart-api"),
        SanitizeCase(name: "CSI sequence is shown, not run", input: "a\u{1B}[2Jb", shown: "a\\x1b[2Jb"),
        SanitizeCase(name: "OSC title change", input: "\u{1B}]0;pwned\u{07}", shown: "\\x1b]0;pwned\\x07"),
        SanitizeCase(name: "tab newline return", input: "a\tb\nc\r\nd", shown: "a\\tb\\nc\\r\\nd"),
        SanitizeCase(name: "DEL and NUL", input: "x\u{7F}\u{0}", shown: "x\\x7f\\x00"),
        SanitizeCase(name: "C1 CSI", input: "\u{9B}31m", shown: "\\x9b31m"),
        SanitizeCase(name: "right-to-left override", input: "ab\u{202E}cd", shown: "ab<U+202E>cd"),
        SanitizeCase(name: "isolates and marks", input: "\u{2066}x\u{2069}\u{200F}", shown: "<U+2066>x<U+2069><U+200F>"),
        SanitizeCase(name: "line separator", input: "a\u{2028}b", shown: "a<U+2028>b"),
        SanitizeCase(name: "combining mark with a base stays", input: "e\u{301}", shown: "e\u{301}"),
        SanitizeCase(name: "combining mark without a base", input: "\u{301}x", shown: "<U+0301>x"),
        SanitizeCase(name: "zalgo is summarized", input: "a" + String(repeating: "\u{301}", count: 20), shown: "a<+20 marks>"),
        SanitizeCase(name: "wide characters pass", input: "中文", shown: "中文"),
        SanitizeCase(name: "private use", input: "\u{E000}", shown: "<U+E000>"),
        SanitizeCase(name: "ASCII mode escapes non-ASCII", input: "é中", shown: "<U+00E9><U+4E2D>", asciiOnly: true),
    ]

    @Test(arguments: sanitizeCases)
    func sanitizing(_ c: SanitizeCase) {
        #expect(Sanitizer.visible(c.input, asciiOnly: c.asciiOnly) == c.shown)
        // And on the grid: the same text, with escapes styled as escapes.
        var screen = Screen(size: Size(width: 60, height: 1), asciiOnly: c.asciiOnly)
        screen.put(c.input, row: 0, column: 0)
        #expect(screen.rowText(0).trimmingTrailingSpaces == c.shown)
        for cell in screen.cells { #expect(!cell.character.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x1B }) }
    }

    @Test func widths() {
        #expect(TextWidth.width(of: "abc") == 3)
        #expect(TextWidth.width(of: "中文") == 4)
        #expect(TextWidth.width(of: "e\u{301}") == 1)
        #expect(TextWidth.width(of: "🚀") == 2)
        #expect(TextWidth.width(of: "🇺🇸") == 2, "a flag is one wide glyph")
        #expect(TextWidth.width(of: "👩‍💻") == 2, "a ZWJ sequence is one wide glyph")
        #expect(TextWidth.width(of: "한") == 2)
        #expect(TextWidth.width(of: "ｱ") == 1, "halfwidth katakana is narrow")
        #expect(TextWidth.width(of: "Ａ") == 2, "fullwidth Latin is wide")
        #expect(TextWidth.width(of: "\u{1B}") == 4, "an escape counts as its visible form")
    }

    @Test func wideCharactersTakeTwoCellsAndNeverSplit() {
        var screen = Screen(size: Size(width: 5, height: 1), asciiOnly: false)
        let used = screen.put("a中文", row: 0, column: 0)
        #expect(used == 5)
        #expect(screen[0, 1].width == 2 && screen[0, 2].width == 0)
        #expect(screen.rowText(0) == "a中文")
        // Four columns for "中中中" (6 wide): two fit only if the last column holds the ellipsis.
        var clipped = Screen(size: Size(width: 10, height: 1), asciiOnly: false)
        #expect(clipped.put("中中中", row: 0, column: 0, maxWidth: 4) == 3)
        #expect(clipped.rowText(0) == "中…       ")
        // Overwriting half of a wide character blanks the other half.
        screen.put("x", row: 0, column: 2)
        #expect(screen.rowText(0) == "a x文")
    }

    @Test func clippingEndsWithAnEllipsisAndKeepsExactFits() {
        var screen = Screen(size: Size(width: 10, height: 2), asciiOnly: false)
        #expect(screen.put("abcdefghijkl", row: 0, column: 0) == 10)
        #expect(screen.rowText(0) == "abcdefghi…")
        #expect(screen.put("abcdefghij", row: 1, column: 0) == 10)
        #expect(screen.rowText(1) == "abcdefghij")
        var ascii = Screen(size: Size(width: 4, height: 1), asciiOnly: true)
        ascii.put("abcdef", row: 0, column: 0)
        #expect(ascii.rowText(0) == "abc~")
    }

    @Test func outOfBoundsDrawingIsIgnored() {
        var screen = Screen(size: Size(width: 3, height: 1), asciiOnly: false)
        #expect(screen.put("x", row: 5, column: 0) == 0)
        #expect(screen.put("x", row: 0, column: 3) == 0)
        #expect(screen.put("x", row: -1, column: 0) == 0)
        screen.box(top: 0, left: 0, height: 5, width: 9)
        #expect(screen.textDump() == "┌──")
    }

    @Test func yamlHighlightingKeepsTheTextAndMarksItsParts() {
        let cases: [(String, [Style])] = [
            ("  name: restart # why", [.normal, .yamlKey, .yamlPunct, .normal, .normal, .yamlComment]),
            ("- name: \"a: b\"", [.yamlPunct, .normal, .yamlKey, .yamlPunct, .normal, .yamlString]),
            ("timeout: 30", [.yamlKey, .yamlPunct, .normal, .yamlNumber]),
            ("# only a comment", [.yamlComment]),
            ("url: http://x:80/a", [.yamlKey, .yamlPunct, .normal, .normal]),
            ("\"unterminated: x", [.yamlString]),
        ]
        for (line, styles) in cases {
            let segments = YAMLHighlighter.segments(line)
            #expect(segments.map(\.text).joined() == line)
            #expect(segments.map(\.style) == styles, "\(line)")
        }
    }

    @Test func shellQuotingShowsArgumentsExactly() {
        #expect(
            ShellQuote.join(["kubectl", "-n", "payments", "rollout", "restart", "deployment/api"])
                == "kubectl -n payments rollout restart deployment/api")
        #expect(ShellQuote.join(["sh", "-c", "echo 'hi' && rm -rf /tmp/x"]) == "sh -c 'echo '\\''hi'\\'' && rm -rf /tmp/x'")
        #expect(ShellQuote.join(["a", ""]) == "a ''")
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
