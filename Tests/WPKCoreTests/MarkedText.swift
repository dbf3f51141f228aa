/// Fixture text with position markers (`1️⃣`, `2️⃣`, …) where diagnostics are expected, as
/// swift-format's tests do: the test reads like the file it checks.
struct MarkedText {
    /// The text without markers.
    var text: String
    /// Each marker's 1-based line and column (Unicode scalars) in `text`.
    var markers: [String: (line: Int, column: Int)]

    static let names = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣"]

    init(_ marked: String) {
        var out = ""
        var markers: [String: (line: Int, column: Int)] = [:]
        var line = 1
        var column = 1
        var rest = Substring(marked)
        while !rest.isEmpty {
            if let name = Self.names.first(where: { rest.hasPrefix($0) }) {
                markers[name] = (line, column)
                rest = rest.dropFirst(name.count)
                continue
            }
            let ch = rest.removeFirst()
            out.append(ch)
            if ch == "\n" {
                line += 1
                column = 1
            } else {
                column += ch.unicodeScalars.count
            }
        }
        text = out
        self.markers = markers
    }
}
