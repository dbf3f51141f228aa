/// One semantic rule: its stable code, severity and a short name (the rules table and SARIF's
/// `rules` array are generated from these values).
public struct RuleInfo: Sendable, Hashable {
    public var code: String
    public var severity: Diagnostic.Severity
    /// A kebab-case name, e.g. `duplicate-step-name`.
    public var name: String
    /// One sentence: what the rule finds.
    public var summary: String

    /// A rule with its code, severity, kebab-case name and one-sentence summary.
    public init(_ code: String, _ severity: Diagnostic.Severity, _ name: String, _ summary: String) {
        self.code = code
        self.severity = severity
        self.name = name
        self.summary = summary
    }
}

/// What every rule reads: the model, the tree it came from and the source for exact positions.
///
/// A class, so the many places that hand it on (closures, helpers) share one instance instead of
/// copying the whole model with its hundreds of reference-counted fields.
public final class RuleContext: Sendable {
    public let playbook: Playbook
    public let root: Node
    /// The source, when known, to place positions inside multi-line scalars.
    public let lines: LineIndex?
    /// `playbook.allSteps`, built once (the property builds a new array on every use).
    let steps: [(step: Playbook.Handler, isRollback: Bool)]
    /// The tree node of each of `steps`, in the same order (the model reads every item of
    /// `spec.handlers` and `spec.rollback`, so the two line up).
    let stepNodes: [Node]
    /// The names of the declared inputs.
    let declaredInputs: Set<String>
    /// Which steps of a manual playbook the machine policy gates whatever they say.
    let gateFloor: MachinePolicy.GateFloor

    /// The context of `playbook`, read from `root`; `lines` is its source, when known.
    public init(playbook: Playbook, root: Node, lines: LineIndex?, gateFloor: MachinePolicy.GateFloor = MachinePolicy.builtIn.gate) {
        self.playbook = playbook
        self.gateFloor = gateFloor
        self.root = root
        self.lines = lines
        steps = playbook.allSteps
        declaredInputs = Set(playbook.inputs.map(\.name.value))
        let spec = root["spec"]
        stepNodes = (spec?["handlers"]?.sequence ?? []) + (spec?["rollback"]?.sequence ?? [])
    }

    /// The node of `steps[index]`'s field `key`, if written.
    func stepField(_ index: Int, _ key: String) -> Node? {
        index < stepNodes.count ? stepNodes[index][key] : nil
    }

    /// A diagnostic of `rule` at a node.
    func report(_ rule: RuleInfo, _ message: String, pointer: String, mark: Mark) -> Diagnostic {
        Diagnostic(severity: rule.severity, code: rule.code, source: .rule, message: message, pointer: pointer, mark: mark)
    }

    /// A diagnostic at a located value.
    func report<T>(_ rule: RuleInfo, _ message: String, at located: Located<T>) -> Diagnostic {
        report(rule, message, pointer: located.pointer, mark: located.mark)
    }
}

/// The WPK semantic rules: what the JSON Schema cannot express.
public enum PlaybookRules {
    /// Every rule, in code order (the rules table in specs/rules.md lists the same).
    public static let all: [RuleInfo] =
        (ReferenceRules.rules + TemplateRules.rules + PermissionRules.rules + SafetyRules.rules
        + LimitRules.rules + TriggerRules.rules + SecretRules.rules + AmbiguousScalarRules.rules
        + ImageRules.rules + ShellRiskRules.rules + ActionRules.rules + InputRules.rules + InvisibleCharacterRules.rules).sorted {
            $0.code < $1.code
        }

    /// The rule with `code`, if any.
    public static func rule(code: String) -> RuleInfo? { all.first { $0.code == code } }

    /// Checks a loaded document under the machine policy's gate floor; positions inside
    /// multi-line scalars come from its source.
    public static func check(document: Document, gateFloor: MachinePolicy.GateFloor = MachinePolicy.builtIn.gate) -> [Diagnostic] {
        check(root: document.root, lines: document.lines, gateFloor: gateFloor)
    }

    /// Checks a tree (positions inside multi-line scalars fall back to the scalar's start
    /// without `lines`). Diagnostics come sorted by position, then code.
    public static func check(root: Node, lines: LineIndex? = nil, gateFloor: MachinePolicy.GateFloor = MachinePolicy.builtIn.gate)
        -> [Diagnostic]
    {
        let context = RuleContext(playbook: Playbook(root: root), root: root, lines: lines, gateFloor: gateFloor)
        var out: [Diagnostic] = []
        out += ReferenceRules.check(context)
        out += PermissionRules.check(context)
        out += SafetyRules.check(context)
        out += LimitRules.check(context)
        out += TriggerRules.check(context)
        out += ImageRules.check(context)
        out += ShellRiskRules.check(context)
        out += ActionRules.check(context)
        out += InputRules.check(context)
        // The rules that look at every scalar share one walk of the tree; each keeps its own
        // list so its findings stay in its own order.
        out += SecretRules.checkSecretArguments(context)
        var secrets = SecretRules.checkNamedSecrets(context)
        let secretPointers = Set(secrets.map(\.pointer))
        var templates: [Diagnostic] = []
        var ambiguous: [Diagnostic] = []
        var invisible: [Diagnostic] = []
        // Invisible characters are not ASCII: a pure-ASCII source (most playbooks) skips that look.
        let mayHoldInvisible = lines.map { !$0.isASCII } ?? true
        forEachNode(root, pointer: "") { node, at in
            guard let scalar = node.scalar else { return }
            TemplateRules.visit(scalar, node, at, context, into: &templates)
            SecretRules.visitForCredentials(scalar, node, at, context, reported: secretPointers, into: &secrets)
            AmbiguousScalarRules.visit(scalar, node, at, context, into: &ambiguous)
            if mayHoldInvisible { InvisibleCharacterRules.visit(scalar, node, at, context, into: &invisible) }
        }
        out += templates
        out += secrets
        out += ambiguous
        out += invisible
        return out.sorted { a, b in
            let ao = a.mark?.offset ?? -1
            let bo = b.mark?.offset ?? -1
            return ao != bo ? ao < bo : a.code < b.code
        }
    }
}

/// Positions inside a scalar, found in the raw source.
///
/// Searches are bounded (`budget` byte comparisons) so a huge hostile scalar whose text does not
/// appear in its source (escapes) costs linear time; past the budget the scalar's start is used.
enum SourceLocator {
    static let budget = 4_000_000

    /// The mark of the `occurrence`-th (0-based) appearance of `needle` in the source span of
    /// `node`, or the node's start when the source is unknown or does not hold it that often.
    static func mark(of needle: String, occurrence: Int = 0, in node: Node, lines: LineIndex?) -> Mark {
        var cursor = Cursor(node: node, lines: lines)
        var found: Mark = node.start
        for _ in 0...occurrence {
            guard let mark = cursor.next(needle) else { return node.start }
            found = mark
        }
        return found
    }

    /// Finds needles in order through one scalar's source, each search starting after the last hit.
    struct Cursor {
        let node: Node
        let lines: LineIndex?
        var offset: Int
        var spent = 0

        init(node: Node, lines: LineIndex?) {
            self.node = node
            self.lines = lines
            offset = node.start.offset
        }

        /// The mark of the next appearance of `needle`, or nil (source unknown, absent, over budget).
        mutating func next(_ needle: String) -> Mark? {
            let pattern = Array(needle.utf8)
            guard let lines, !pattern.isEmpty, node.end.offset <= lines.bytes.count else { return nil }
            let bytes = lines.bytes
            var i = offset
            let last = node.end.offset - pattern.count
            while i <= last && spent < SourceLocator.budget {
                var k = 0
                while k < pattern.count && bytes[i + k] == pattern[k] { k += 1 }
                spent += k + 1
                if k == pattern.count {
                    offset = i + pattern.count
                    return lines.mark(offset: i)
                }
                i += 1
            }
            return nil
        }
    }
}

/// Where a walk is: the node's path as child positions from the walk's root, from which its
/// key and JSON pointer are found only when asked for (most nodes produce no finding, and
/// naming every node as the walk passes would dominate the rules' cost).
///
/// The walk keeps one of these and updates it in place as it moves, so visiting a node copies
/// nothing; a visitor reads it during its call.
struct NodeVisit {
    /// Whether the node is a mapping key rather than a value.
    fileprivate(set) var isKey: Bool
    fileprivate let root: Node
    fileprivate let base: String
    /// The position of each node on the way down among its parent's entries or items.
    fileprivate var path: [Int]

    /// The mapping key the node is the value (or the key) of; nil for sequence items and the root.
    var key: String? {
        var key: String?
        followPath { token, inMapping in key = inMapping ? token : nil }
        return key
    }

    /// The node's RFC 6901 pointer (a key's pointer is that of its value).
    var pointer: String {
        var out = base
        followPath { token, _ in out = JSONPointer.appending(out, token) }
        return out
    }

    /// Goes down `path` from the root, handing each step's token (key or index) and whether it
    /// is a mapping key.
    private func followPath(_ step: (String, Bool) -> Void) {
        var node = root
        for position in path {
            switch node.content {
            case .mapping(let entries):
                step(entries[position].keyText, true)
                node = entries[position].value
            case .sequence(let items):
                step(String(position), false)
                node = items[position]
            case .scalar:
                return
            }
        }
    }
}

/// Walks every node of a tree, keys included (recursion is bounded by the loader's depth limit).
func forEachNode(_ node: Node, pointer base: String, _ visit: (Node, NodeVisit) -> Void) {
    var at = NodeVisit(isKey: false, root: node, base: base, path: [])
    at.path.reserveCapacity(16)
    walk(node, &at, visit)
}

private func walk(_ node: Node, _ at: inout NodeVisit, _ visit: (Node, NodeVisit) -> Void) {
    visit(node, at)
    switch node.content {
    case .scalar: break
    case .sequence(let items):
        for index in items.indices {
            at.path.append(index)
            walk(items[index], &at, visit)
            at.path.removeLast()
        }
    case .mapping(let entries):
        // By index: `for entry in entries` copied every entry (four reference counts each).
        for index in entries.indices {
            at.path.append(index)
            at.isKey = true
            visit(entries[index].key, at)
            at.isKey = false
            walk(entries[index].value, &at, visit)
            at.path.removeLast()
        }
    }
}

extension Playbook.Handler {
    /// Display name for messages.
    var displayName: String { name?.value ?? "(unnamed step)" }
}
