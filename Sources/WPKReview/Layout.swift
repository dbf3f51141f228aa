/// Where things go on the screen; shared by `update` (to scroll) and the screens (to draw).
public enum Layout {
    /// Row 0 is the header; the last two rows are the status line and the key-hint bar.
    public static let headerRow = 0
    /// The list's first playbook row (row 1 holds the column titles).
    public static let listTop = 2
    /// The playbook view's first pane row (row 1 the title, row 2 the tabs).
    public static let paneTop = 3
    /// Rows of the step detail under the Plan pane's step list.
    public static let planDetailHeight = 8

    /// The status line's row.
    public static func statusRow(_ size: Size) -> Int { size.height - 2 }
    /// The key-hint bar's row.
    public static func hintRow(_ size: Size) -> Int { size.height - 1 }

    /// Playbook rows visible in the list.
    public static func listRows(_ size: Size) -> Int { max(1, statusRow(size) - listTop) }

    /// The run screen's first line row (row 1 the run, row 2 where it stands).
    public static let runTop = 3

    /// Lines of the run screen visible at once.
    public static func runRows(_ size: Size) -> Int { max(1, statusRow(size) - runTop) }

    /// Rows visible in a pane.
    public static func paneRows(_ pane: Pane, _ size: Size) -> Int {
        let rows = statusRow(size) - paneTop
        return max(1, pane == .plan ? rows - planDetailHeight : rows)
    }
}
