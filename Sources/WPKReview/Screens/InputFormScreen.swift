/// The inputs form: one block per declared input (name, type, required or default, pattern,
/// description, the value being typed, the planner's verdict), scrolled so the focused one shows.
enum InputFormScreen {
    /// The rows one field takes: its facts, description, value, and up to two rows of problems.
    static func lines(_ field: InputField, focused: Bool, width: Int, asciiOnly: Bool) -> [(text: String, style: Style, indent: Int)] {
        let d = field.declaration
        var facts = d.type + (d.secret ? "  secret from \(d.secretRef ?? "?")" : d.required ? "  required" : "  optional")
        if let value = d.defaultValue { facts += "  default \(value)" }
        if let pattern = d.pattern { facts += "  pattern \(pattern)" }
        var out: [(String, Style, Int)] = []
        out.append((d.name + "  " + facts, focused ? .title : .normal, 4))
        if let description = d.description, !description.isEmpty { out.append((description, .dim, 6)) }
        if d.secret {
            out.append(("(read when the step runs; never typed)", .dim, 6))
        } else {
            // A long value shows its end, where the typing is.
            let room = max(8, width - 8)
            let tail = field.value.count > room ? "..." + String(field.value.suffix(room - 3)) : field.value
            let shown = field.value.isEmpty ? (d.defaultValue.map { "(default: \($0))" } ?? "") : tail
            out.append(("> " + shown, field.value.isEmpty ? .dim : .input, 6))
        }
        let problems = field.value.isEmpty && d.required && d.defaultValue == nil && !d.secret ? ["required: type a value"] : field.problems
        for problem in problems.prefix(2) {
            for (i, line) in Screen.wrap(problem, width: width - 15, asciiOnly: asciiOnly).prefix(2).enumerated() {
                out.append(((i == 0 ? "refused: " : "         ") + line, .error, 6))
            }
        }
        return out
    }

    static func draw(_ state: ReviewState, form: InputForm, into screen: inout Screen) {
        let top = 1
        let bottom = Layout.statusRow(screen.size) - 1
        for row in top...bottom { screen.fill(row: row) }
        let name = state.open?.detail.entry.name ?? form.path
        screen.box(top: top, left: 0, height: bottom - top + 1, width: screen.size.width, title: "Inputs for \(name)")
        let width = screen.size.width - 4
        // The footer: the verdict on all values, and (when any) the problems of no single input.
        var footer: [(String, Style)] = []
        for problem in form.general.prefix(2) { footer.append(("refused: " + problem, .error)) }
        if !form.checked {
            footer.append(("checking the values...", .dim))
        } else if form.isAcceptable {
            footer.append(("Every value fits. Enter shows the plan made with them; a decision then binds to it.", .ok))
        } else {
            footer.append(("Enter plans only when every value fits. Esc leaves the plan as it was.", .warning))
        }
        let firstFooter = bottom - footer.count
        for (i, line) in footer.enumerated() {
            screen.put(line.0, row: firstFooter + i, column: 2, maxWidth: width, style: line.1)
        }
        // Blocks before the focused one are dropped until it fits: the field being typed is always on screen.
        let room = firstFooter - (top + 1)
        let blocks = form.fields.enumerated().map { lines($1, focused: $0 == form.focus, width: width, asciiOnly: screen.asciiOnly) }
        var first = 0
        while first < form.focus, blocks[first...form.focus].reduce(0, { $0 + $1.count + 1 }) > room { first += 1 }
        var row = top + 1
        for index in first..<blocks.count {
            let block = blocks[index]
            guard row + block.count <= firstFooter else {
                if row < firstFooter {
                    screen.put("(\(blocks.count - index) more inputs below: Down)", row: row, column: 2, maxWidth: width, style: .dim)
                }
                break
            }
            let field = form.fields[index]
            // The value row follows the facts and the description, if any.
            let valueOffset = field.declaration.description?.isEmpty == false ? 2 : 1
            for (offset, line) in block.enumerated() {
                let used = screen.put(
                    line.text, row: row + offset, column: line.indent, maxWidth: screen.size.width - line.indent - 2, style: line.style)
                if index == form.focus, offset == valueOffset, field.isTypable {
                    screen.cursor = (row + offset, line.indent + (field.value.isEmpty ? 2 : used))
                }
            }
            let marker: (String, Style) =
                field.declaration.secret
                ? (" ", .normal)
                : !form.checked
                    ? ("?", .dim) : field.problems.isEmpty ? (screen.asciiOnly ? "+" : "✓", .ok) : (screen.asciiOnly ? "x" : "✗", .error)
            screen.put(marker.0, row: row, column: 2, style: marker.1)
            if index == form.focus { screen.put(String(screen.glyphs.pointer), row: row, column: 1, style: .selected) }
            row += block.count + 1
        }
    }
}
