/// What is drawn when the terminal is smaller than 80x24: the need, the current size, how to quit.
enum TooSmallScreen {
    static func draw(into screen: inout Screen) {
        let lines = [
            "terminal too small: need \(Size.minimum.width)x\(Size.minimum.height)",
            "now \(screen.size.width)x\(screen.size.height)",
            "enlarge the window, or press q to quit",
        ]
        let top = max(0, (screen.size.height - lines.count) / 2)
        for (i, line) in lines.enumerated() {
            let left = max(0, (screen.size.width - line.count) / 2)
            screen.put(line, row: top + i, column: left, style: i == 0 ? .warning : .normal)
        }
        screen.cursor = (min(top, max(0, screen.size.height - 1)), 0)
    }
}
