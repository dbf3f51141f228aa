/// What a key asks for, independent of which key it was.
public enum Command: Sendable, CaseIterable {
    case moveUp, moveDown, pageUp, pageDown, top, bottom
    case open, back, nextPane, previousPane, filter, help, approve, reject, quit
    /// Switch between the playbook list and the Runs view.
    case runs
    /// Cancel the open run (a reason is required).
    case cancelRun
    /// Type values for the playbook's inputs, then see its plan with them.
    case inputs
}

/// Where a key applies.
public enum KeyContext: Sendable, Hashable {
    /// The playbook list, the playbook view, the Runs view, one run's screen.
    case list, playbook, runs, run
}

/// One row of the key map: the keys, what they do, and how help and the hint bar describe them.
public struct KeyBinding: Sendable {
    public var keys: [Key]
    /// How the keys are written with Unicode arrows.
    public var label: String
    /// How the keys are written in ASCII.
    public var asciiLabel: String
    public var command: Command
    /// The help screen's sentence.
    public var help: String
    /// The hint bar's word or two; nil keeps the binding out of the hint bar.
    public var hint: String?
    /// Lower numbers keep their place in the hint bar when it is too narrow.
    public var hintPriority: Int
    /// Where the keys apply.
    public var contexts: Set<KeyContext>
    /// How the hint bar writes the keys when it differs from the help screen (Unicode, ASCII).
    public var hintLabel: (unicode: String, ascii: String)? = nil
}

/// The one key table: `update` dispatches through it and the help screen and hint bar are drawn
/// from it, so what the screen says and what the keys do cannot drift apart.
public enum Keymap {
    /// Every binding, in the order the help screen lists them.
    public static let bindings: [KeyBinding] = [
        KeyBinding(
            keys: [.up, .character("k")], label: "↑ k", asciiLabel: "Up k", command: .moveUp,
            help: "move up", hint: "move", hintPriority: 1, contexts: [.list, .playbook, .runs, .run],
            hintLabel: ("↑↓", "Up/Dn")),
        KeyBinding(
            keys: [.down, .character("j")], label: "↓ j", asciiLabel: "Down j", command: .moveDown,
            help: "move down", hint: nil, hintPriority: 0, contexts: [.list, .playbook, .runs, .run]),
        KeyBinding(
            keys: [.pageUp], label: "PgUp", asciiLabel: "PgUp", command: .pageUp,
            help: "move up one page", hint: nil, hintPriority: 9, contexts: [.list, .playbook, .runs, .run]),
        KeyBinding(
            keys: [.pageDown, .character(" ")], label: "PgDn Space", asciiLabel: "PgDn Space", command: .pageDown,
            help: "move down one page", hint: nil, hintPriority: 9, contexts: [.list, .playbook, .runs, .run]),
        KeyBinding(
            keys: [.home, .character("g")], label: "Home g", asciiLabel: "Home g", command: .top,
            help: "go to the first row", hint: nil, hintPriority: 9, contexts: [.list, .playbook, .runs, .run]),
        KeyBinding(
            keys: [.end, .character("G")], label: "End G", asciiLabel: "End G", command: .bottom,
            help: "go to the last row", hint: nil, hintPriority: 9, contexts: [.list, .playbook, .runs, .run]),
        KeyBinding(
            keys: [.enter], label: "Enter", asciiLabel: "Enter", command: .open,
            help: "open a playbook or run; on a diagnostic, its source line", hint: "open", hintPriority: 1,
            contexts: [.list, .playbook, .runs]),
        KeyBinding(
            keys: [.escape, .backspace], label: "Esc Bksp", asciiLabel: "Esc Bksp", command: .back,
            help: "go back; in a list, clear the filter or show the playbooks", hint: "back", hintPriority: 2,
            contexts: [.list, .playbook, .runs, .run]),
        KeyBinding(
            keys: [.tab], label: "Tab", asciiLabel: "Tab", command: .nextPane,
            help: "next pane (Overview, Diagnostics, Source, Plan, History)", hint: "pane", hintPriority: 2, contexts: [.playbook]),
        KeyBinding(
            keys: [.backTab], label: "S-Tab", asciiLabel: "S-Tab", command: .previousPane,
            help: "previous pane", hint: nil, hintPriority: 9, contexts: [.playbook]),
        KeyBinding(
            keys: [.character("/")], label: "/", asciiLabel: "/", command: .filter,
            help: "filter playbooks by name or path (Enter keeps, Esc clears)", hint: "filter", hintPriority: 3, contexts: [.list]),
        KeyBinding(
            keys: [.character("a")], label: "a", asciiLabel: "a", command: .approve,
            help: "approve a gated step or a run's waiting step (fingerprint)", hint: "approve", hintPriority: 1,
            contexts: [.playbook, .run]),
        KeyBinding(
            keys: [.character("r")], label: "r", asciiLabel: "r", command: .reject,
            help: "reject a gated step or a run's waiting step (with a reason)", hint: "reject", hintPriority: 1,
            contexts: [.playbook, .run]),
        KeyBinding(
            keys: [.character("c")], label: "c", asciiLabel: "c", command: .cancelRun,
            help: "cancel the open run (a reason is required)", hint: "cancel run", hintPriority: 2, contexts: [.run]),
        KeyBinding(
            keys: [.character("i")], label: "i", asciiLabel: "i", command: .inputs,
            help: "type values for the playbook's inputs (checked as typed), then see its plan", hint: "inputs", hintPriority: 2,
            contexts: [.list, .playbook]),
        KeyBinding(
            keys: [.character("w")], label: "w", asciiLabel: "w", command: .runs,
            help: "switch between playbooks and runs (waiting runs first)", hint: "runs", hintPriority: 1, contexts: [.list, .runs]),
        KeyBinding(
            keys: [.character("?")], label: "?", asciiLabel: "?", command: .help,
            help: "show or hide this help", hint: "help", hintPriority: 0, contexts: [.list, .playbook, .runs, .run]),
        KeyBinding(
            keys: [.character("q"), .interrupt], label: "q Ctrl-C", asciiLabel: "q Ctrl-C", command: .quit,
            help: "quit; this session's decisions are printed on exit", hint: "quit", hintPriority: 0,
            contexts: [.list, .playbook, .runs, .run]),
    ]

    /// The command a key means in a context, or nil.
    public static func command(for key: Key, in context: KeyContext) -> Command? {
        bindings.first { $0.contexts.contains(context) && $0.keys.contains(key) }?.command
    }

    /// The binding of a command (each command has exactly one row).
    public static func binding(_ command: Command) -> KeyBinding? {
        bindings.first { $0.command == command }
    }
}
