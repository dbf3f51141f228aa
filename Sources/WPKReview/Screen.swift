/// A terminal size in cells.
public struct Size: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    /// A size of `width` columns and `height` rows.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// The smallest size the review UI draws in.
    public static let minimum = Size(width: 80, height: 24)
    public var description: String { "\(width)x\(height)" }
}

/// What a cell means; the painter turns roles into colours or, on a monochrome terminal, into
/// bold, reverse and underline, so no information is carried by colour alone.
public enum Style: Character, CaseIterable, Sendable {
    case normal = "."
    case header = "H"
    case title = "T"
    case selected = "S"
    case dim = "d"
    case border = "b"
    case hintKey = "K"
    case hint = "h"
    case error = "E"
    case warning = "W"
    case info = "I"
    case ok = "O"
    case danger = "D"
    case escape = "x"
    case yamlKey = "k"
    case yamlString = "s"
    case yamlNumber = "n"
    case yamlComment = "c"
    case yamlPunct = "p"
    case input = "i"
}

/// One cell of the grid: a grapheme cluster and its style. A wide character occupies its cell and
/// the next, which holds a continuation (width 0).
public struct Cell: Equatable, Sendable {
    public var character: Character
    /// 1 for a normal cell, 2 for the first half of a wide character, 0 for its second half.
    public var width: UInt8
    public var style: Style

    /// A cell holding one character in a style.
    public init(_ character: Character, width: UInt8 = 1, style: Style = .normal) {
        self.character = character
        self.width = width
        self.style = style
    }

    /// An empty cell.
    public static let blank = Cell(" ")
}

/// Line-drawing characters, in Unicode or plain ASCII (for `--ascii` and non-UTF-8 locales).
public struct Glyphs: Sendable {
    public var horizontal: Character
    public var vertical: Character
    public var topLeft: Character
    public var topRight: Character
    public var bottomLeft: Character
    public var bottomRight: Character
    public var ellipsis: Character
    public var pointer: Character
    public var separator: String

    /// Box drawing and an ellipsis from Unicode.
    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘", ellipsis: "…", pointer: "▶",
        separator: " │ ")
    /// Only ASCII.
    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+", ellipsis: "~", pointer: ">",
        separator: " | ")
}

/// A grid of cells that screens draw into; the painter copies it to the terminal.
///
/// Every string goes through `Sanitizer` on its way in, so no screen can forget to sanitize.
public struct Screen: Equatable, Sendable {
    public let size: Size
    /// The cells, row after row.
    public private(set) var cells: [Cell]
    /// Where the hardware cursor is parked (the selected row), so screen readers follow it.
    public var cursor: (row: Int, column: Int)? {
        get { cursorRow.map { ($0, cursorColumn) } }
        set {
            cursorRow = newValue?.row
            cursorColumn = newValue?.column ?? 0
        }
    }
    private var cursorRow: Int?
    private var cursorColumn = 0
    /// Whether only ASCII may be drawn.
    public let asciiOnly: Bool
    public let glyphs: Glyphs

    /// A blank grid; `asciiOnly` escapes every non-ASCII character and draws ASCII lines.
    public init(size: Size, asciiOnly: Bool) {
        self.size = Size(width: max(0, size.width), height: max(0, size.height))
        self.cells = Array(repeating: .blank, count: self.size.width * self.size.height)
        self.asciiOnly = asciiOnly
        self.glyphs = asciiOnly ? .ascii : .unicode
    }

    /// Same size, cells and cursor.
    public static func == (lhs: Screen, rhs: Screen) -> Bool {
        lhs.size == rhs.size && lhs.cells == rhs.cells && lhs.cursorRow == rhs.cursorRow && lhs.cursorColumn == rhs.cursorColumn
    }

    /// The cell at a row and column.
    public subscript(row: Int, column: Int) -> Cell {
        cells[row * size.width + column]
    }

    /// Draws untrusted or trusted text at a position, clipped to `maxWidth` columns (and the
    /// screen), ending with an ellipsis when clipped. Returns the columns used.
    @discardableResult
    public mutating func put(_ text: String, row: Int, column: Int, maxWidth: Int? = nil, style: Style = .normal) -> Int {
        guard row >= 0, row < size.height, column >= 0, column < size.width else { return 0 }
        let limit = min(maxWidth ?? Int.max, size.width - column)
        guard limit > 0 else { return 0 }
        var used = 0
        var characters = text.makeIterator()
        var pending: [Character] = []  // an escape being emitted, character by character
        var pendingStyle = style
        while true {
            let character: Character
            let width: Int
            var cellStyle = style
            if !pending.isEmpty {
                character = pending.removeFirst()
                width = 1
                cellStyle = pendingStyle
            } else if let next = characters.next() {
                switch Sanitizer.classify(next, asciiOnly: asciiOnly) {
                case .plain(let w):
                    character = next
                    width = w
                case .escaped(let escape):
                    pending = Array(escape)
                    pendingStyle = .escape
                    continue
                }
            } else {
                break
            }
            if used + width > limit || (used + width == limit && hasMore(pending, &characters)) {
                // Clipped: an ellipsis takes this column, so a cut value never looks complete.
                set(row, column + used, Cell(glyphs.ellipsis, style: .dim))
                return used + 1
            }
            if width == 2 {
                set(row, column + used, Cell(character, width: 2, style: cellStyle))
                set(row, column + used + 1, Cell(" ", width: 0, style: cellStyle))
            } else {
                set(row, column + used, Cell(character, style: cellStyle))
            }
            used += width
        }
        return used
    }

    /// Whether anything is left to draw; peeks by copying the iterator (strings are cheap to copy).
    private func hasMore(_ pending: [Character], _ iterator: inout String.Iterator) -> Bool {
        if !pending.isEmpty { return true }
        var copy = iterator
        return copy.next() != nil
    }

    private mutating func set(_ row: Int, _ column: Int, _ cell: Cell) {
        guard column < size.width else { return }
        let index = row * size.width + column
        // Overwriting half of a wide character blanks its other half, so no orphan remains.
        if cells[index].width == 2, column + 1 < size.width, cell.width != 2 { cells[index + 1] = .blank }
        if cells[index].width == 0, column > 0, cells[index - 1].width == 2 { cells[index - 1] = .blank }
        cells[index] = cell
    }

    /// Draws text over up to `maxRows` rows of `width` columns, breaking at spaces where it can and
    /// anywhere when a word is longer than a row. Returns the rows used; the last row ends with an
    /// ellipsis when the text did not fit.
    @discardableResult
    public mutating func putWrapped(_ text: String, row: Int, column: Int, width: Int, maxRows: Int, style: Style = .normal) -> Int {
        let lines = Screen.wrap(text, width: width, asciiOnly: asciiOnly)
        let shown = lines.prefix(max(0, maxRows))
        for (i, line) in shown.enumerated() {
            if i == shown.count - 1 && lines.count > shown.count {
                // More text than rows: keep the last column for the ellipsis.
                let fits = TextWidth.width(of: line, asciiOnly: asciiOnly) <= width - 1
                let used = put(line, row: row + i, column: column, maxWidth: width - 1, style: style)
                if fits { put(String(glyphs.ellipsis), row: row + i, column: column + used, style: .dim) }
            } else {
                put(line, row: row + i, column: column, maxWidth: width, style: style)
            }
        }
        return shown.count
    }

    /// Splits text into rows of at most `width` columns as `put` would draw them.
    public static func wrap(_ text: String, width: Int, asciiOnly: Bool) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var line = ""
        var lineWidth = 0
        var lastSpace: (index: String.Index, width: Int)?
        for character in text {
            let w: Int
            switch Sanitizer.classify(character, asciiOnly: asciiOnly) {
            case .plain(let width): w = width
            case .escaped(let escape): w = escape.utf8.count
            }
            if lineWidth + w > width, !line.isEmpty {
                if let space = lastSpace, space.width > 0 {
                    lines.append(String(line[..<space.index]))
                    line = String(line[line.index(after: space.index)...])
                    lineWidth -= space.width + 1
                } else {
                    lines.append(line)
                    line = ""
                    lineWidth = 0
                }
                lastSpace = nil
                if let i = line.lastIndex(of: " ") { lastSpace = (i, TextWidth.width(of: String(line[..<i]), asciiOnly: asciiOnly)) }
            }
            if character == " " { lastSpace = (line.endIndex, lineWidth) }
            line.append(character)
            lineWidth += w
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// Fills a rectangle's cells with a style, keeping their characters (for a selection bar).
    public mutating func restyle(row: Int, column: Int = 0, width: Int? = nil, style: Style) {
        guard row >= 0, row < size.height else { return }
        let end = min(size.width, column + (width ?? size.width))
        for c in max(0, column)..<max(max(0, column), end) { cells[row * size.width + c].style = style }
    }

    /// Fills a row segment with one repeated character.
    public mutating func fill(row: Int, column: Int = 0, width: Int? = nil, with character: Character = " ", style: Style = .normal) {
        guard row >= 0, row < size.height else { return }
        let end = min(size.width, column + (width ?? size.width))
        for c in max(0, column)..<max(max(0, column), end) { cells[row * size.width + c] = Cell(character, style: style) }
    }

    /// Draws a box outline with an optional title in its top edge.
    public mutating func box(top: Int, left: Int, height: Int, width: Int, title: String? = nil, style: Style = .border) {
        guard height >= 2, width >= 2 else { return }
        let bottom = top + height - 1
        let right = left + width - 1
        fill(row: top, column: left, width: width, with: glyphs.horizontal, style: style)
        fill(row: bottom, column: left, width: width, with: glyphs.horizontal, style: style)
        for r in top...bottom {
            fill(row: r, column: left, width: 1, with: glyphs.vertical, style: style)
            fill(row: r, column: right, width: 1, with: glyphs.vertical, style: style)
        }
        fill(row: top, column: left, width: 1, with: glyphs.topLeft, style: style)
        fill(row: top, column: right, width: 1, with: glyphs.topRight, style: style)
        fill(row: bottom, column: left, width: 1, with: glyphs.bottomLeft, style: style)
        fill(row: bottom, column: right, width: 1, with: glyphs.bottomRight, style: style)
        if let title, width > 6 {
            put(" \(title) ", row: top, column: left + 2, maxWidth: width - 4, style: .title)
        }
    }

    /// The grid as text, one line per row, trailing spaces kept so the shape is exact.
    public func textDump() -> String {
        var lines: [String] = []
        lines.reserveCapacity(size.height)
        for row in 0..<size.height {
            var line = ""
            for column in 0..<size.width {
                let cell = self[row, column]
                if cell.width != 0 { line.append(cell.character) }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// One letter per cell naming its style (see `Style`'s raw values); a wide character's
    /// second half repeats its style so rows line up with the grid's columns.
    public func styleDump() -> String {
        var lines: [String] = []
        for row in 0..<size.height {
            var line = ""
            for column in 0..<size.width {
                let cell = self[row, column]
                line.append(cell.style.rawValue)
                if cell.width == 2 { continue }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The text of one row (for tests and the accessibility of `textDump`).
    public func rowText(_ row: Int) -> String {
        var line = ""
        for column in 0..<size.width where self[row, column].width != 0 {
            line.append(self[row, column].character)
        }
        return line
    }
}
