/// Help: every row of the key map, drawn from the same table that handles the keys.
enum HelpScreen {
    static func lines(asciiOnly: Bool) -> [(keys: String, text: String)] {
        var lines = Keymap.bindings.map { (asciiOnly ? $0.asciiLabel : $0.label, $0.help) }
        lines.append(("", ""))
        lines.append(("approving", "shows the step, its exact command and the plan fingerprint;"))
        lines.append(("", "type its first 4 characters; any other key cancels"))
        lines.append(("inputs (i)", "every declared input, each value checked as typed by the plan's"))
        lines.append(("", "own rules; Enter shows the plan with them, and an approval binds to it"))
        return lines
    }

    static func draw(_ state: ReviewState, top: Int, into screen: inout Screen) {
        let all = lines(asciiOnly: screen.asciiOnly)
        let boxTop = 1
        let height = Layout.statusRow(screen.size) - boxTop
        let width = screen.size.width
        for row in boxTop..<(boxTop + height) { screen.fill(row: row) }
        screen.box(top: boxTop, left: 0, height: height, width: width, title: "Help: keys")
        let visible = height - 2
        let first = max(0, min(top, all.count - visible))
        for (offset, line) in all.dropFirst(first).prefix(visible).enumerated() {
            let row = boxTop + 1 + offset
            screen.put(line.keys, row: row, column: 3, maxWidth: 14, style: .hintKey)
            screen.put(line.text, row: row, column: 18, maxWidth: width - 20)
        }
        screen.cursor = (boxTop + 1, 3)
    }
}
