/// The shape an argument must keep after its references are replaced, so a value can fill a
/// slot but never change what the command means.
enum ArgumentGrammar: Sendable {
    /// Any text (beyond the checks every value gets).
    case free
    /// `kind/name` (or `kind` when the action accepts one): the name a DNS-1123 subdomain.
    case k8sTarget(acceptsKindOnly: Bool)
    /// A Kubernetes object name (DNS-1123 subdomain), e.g. a Job name.
    case k8sName
    /// A label selector: substituted values are label values, so they cannot add a term.
    case labelSelector
    /// An http(s) URL without spaces.
    case url
    /// A Vault path: segments of `[A-Za-z0-9._-]`, never `..`.
    case vaultPath
    /// A container name.
    case container
    /// An image reference.
    case image

    /// The grammar of a target of `kind`.
    static func target(_ kind: TargetKind, acceptsKindOnly: Bool) -> ArgumentGrammar {
        switch kind {
        case .k8sResource: .k8sTarget(acceptsKindOnly: acceptsKindOnly)
        case .container: .container
        case .image: .image
        case .url: .url
        case .vaultPath: .vaultPath
        case .none: .free
        }
    }

    /// The grammar of a parameter (only those whose values name things are constrained).
    static func param(_ name: String, runtime: Runtime) -> ArgumentGrammar {
        switch (runtime, name) {
        case (.k8s, "job_name"): .k8sName
        case (.k8s, "selector"): .labelSelector
        default: .free
        }
    }
}

/// Replaces `${{ }}` references by resolved values, one argument at a time, refusing any value
/// that would change a command's structure; records what it refused as diagnostics with the
/// reference's position.
struct Substituter {
    /// The resolved inputs by name.
    let inputs: [String: ResolvedValue]
    /// The document root, to place diagnostics inside scalars.
    let root: Node
    let lines: LineIndex?
    private(set) var diagnostics: [Diagnostic] = []
    /// The inputs whose values were refused, with the message of each refusal (a value given by an
    /// operator as it is typed is checked by exactly these rules, see `InputCheck`).
    private(set) var refusedValues: [(input: String, message: String)] = []
    /// Secret references used since the planner last cleared it (one step), in first-use order.
    var secretsUsed: [SecretReference] = []

    /// Adds a problem found by the planner around substitution.
    mutating func appendDiagnostic(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    /// The text that stands for the run id until the run starts.
    static let runIDPlaceholder = "<run.id>"
    /// What a run id is checked as when it sits inside a name (runs use short lowercase ids).
    static let runIDStandIn = "0123456789abcdef"
    /// Placeholder prefixes no template or value may contain, so the executor's replacement of
    /// placeholders can never be triggered by text from a playbook or an operator.
    static let reservedMarkers = ["<secret:", runIDPlaceholder]

    init(inputs: [ResolvedInput], root: Node, lines: LineIndex?) {
        var map: [String: ResolvedValue] = [:]
        for input in inputs where map[input.name] == nil { map[input.name] = input.value }
        self.inputs = map
        self.root = root
        self.lines = lines
    }

    /// A reference's value as argument text, or nil (with a diagnostic) when it has none.
    private mutating func value(of reference: TemplateReference, report: (PlanCode, String) -> Void) -> (text: String, isPlaceholder: Bool)?
    {
        let expression = reference.expression
        if expression == "run.id" { return (Self.runIDPlaceholder, true) }
        guard expression.hasPrefix("inputs."), reference.names == [expression] else {
            report(
                .unplannable,
                "\"${{ \(DisplaySanitizer.sanitize(expression)) }}\" cannot be an argument; only ${{ inputs.NAME }} and ${{ run.id }} are substituted"
            )
            return nil
        }
        let name = String(expression.dropFirst("inputs.".count))
        guard let resolved = inputs[name] else {
            report(.unplannable, "input \"\(name)\" is not declared")
            return nil
        }
        switch resolved {
        case .absent:
            report(
                .missingInput, "input \"\(name)\" has no value here (it is optional and has no default); give it with --set \(name)=VALUE")
            return nil
        case .secret(let ref):
            if !secretsUsed.contains(ref) { secretsUsed.append(ref) }
            return (ref.placeholder, true)
        default:
            let text = resolved.substitutionText ?? ""
            if text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
                report(
                    .controlCharacter,
                    "the value of input \"\(name)\" contains a line break or control character, which no argument may carry")
                return nil
            }
            if Self.reservedMarkers.contains(where: text.contains) {
                report(
                    .reservedText,
                    "the value of input \"\(name)\" contains \"<secret:\" or \"<run.id>\", which plans reserve for values read at run time")
                return nil
            }
            return (text, false)
        }
    }

    /// `text` (a scalar at `pointer`) with every reference replaced, or nil when a value is refused.
    mutating func substitute(_ text: String, pointer: String, mark: Mark, grammar: ArgumentGrammar) -> String? {
        if Self.reservedMarkers.contains(where: text.contains) {
            diagnostics.append(
                PlanCode.reservedText.diagnostic(
                    "this text contains \"<secret:\" or \"<run.id>\", which plans reserve for values read at run time", pointer: pointer,
                    mark: mark))
            return nil
        }
        let references = Templates.references(in: text)
        guard !references.isEmpty else { return text }
        let marks = referenceMarks(references, pointer: pointer, fallback: mark)
        var failed = false
        var values: [String] = []
        var forGrammar: [String] = []
        for (reference, referenceMark) in zip(references, marks) {
            var problem: (PlanCode, String)?
            let found = value(of: reference) { code, message in problem = (code, message) }
            if let problem {
                diagnostics.append(problem.0.diagnostic(problem.1, pointer: pointer, mark: referenceMark))
                refuse(reference, problem.0, problem.1)
                failed = true
                continue
            }
            guard let found else {
                failed = true
                continue
            }
            values.append(found.text)
            forGrammar.append(found.text == Self.runIDPlaceholder ? Self.runIDStandIn : found.text)
            if !found.isPlaceholder, let message = Self.valueProblem(found.text, grammar) {
                diagnostics.append(
                    PlanCode.grammar.diagnostic("the value of \(reference.expression) \(message)", pointer: pointer, mark: referenceMark))
                refuse(reference, .grammar, "the value \(message)")
                failed = true
            }
        }
        guard !failed else { return nil }
        var index = 0
        let result = Templates.substitute(text) { _ in
            defer { index += 1 }
            return values[index]
        }
        index = 0
        let checked = Templates.substitute(text) { _ in
            defer { index += 1 }
            return forGrammar[index]
        }
        if !text.hasPrefix("-") && result.hasPrefix("-") {
            diagnostics.append(
                PlanCode.leadingDash.diagnostic(
                    "substituting makes this argument start with \"-\", so the program would read it as an option; the value must not start with \"-\"",
                    pointer: pointer, mark: marks[0]))
            // The argument starts with the first reference, so its value is the one that starts with "-".
            if let first = references.first {
                refuse(first, .leadingDash, "the value must not start with \"-\": the program would read the argument as an option")
            }
            return nil
        }
        if let message = Self.resultProblem(checked, grammar) {
            diagnostics.append(PlanCode.grammar.diagnostic("after substitution, \(message)", pointer: pointer, mark: marks[0]))
            for reference in references { refuse(reference, .grammar, "after substitution, \(message)") }
            return nil
        }
        return result
    }

    /// A whole node (scalar, or list/map of scalars) with its scalars substituted; nil on refusal.
    mutating func substitute(node: Node, pointer: String, grammar: ArgumentGrammar) -> Node? {
        switch node.content {
        case .scalar(let scalar):
            guard Templates.references(in: scalar.text).isEmpty == false || Self.reservedMarkers.contains(where: scalar.text.contains)
            else { return node }
            guard let text = substitute(scalar.text, pointer: pointer, mark: node.start, grammar: grammar) else { return nil }
            var copy = node
            copy.content = .scalar(Scalar(text: text, style: scalar.style, value: .string(text)))
            return copy
        case .sequence(let items):
            var out: [Node] = []
            var failed = false
            for (i, item) in items.enumerated() {
                if let replaced = substitute(node: item, pointer: "\(pointer)/\(i)", grammar: grammar) {
                    out.append(replaced)
                } else {
                    failed = true
                }
            }
            guard !failed else { return nil }
            var copy = node
            copy.content = .sequence(out)
            return copy
        case .mapping(let entries):
            var out: [MappingEntry] = []
            var failed = false
            for entry in entries {
                if let replaced = substitute(node: entry.value, pointer: JSONPointer.appending(pointer, entry.keyText), grammar: grammar) {
                    out.append(MappingEntry(key: entry.key, value: replaced))
                } else {
                    failed = true
                }
            }
            guard !failed else { return nil }
            var copy = node
            copy.content = .mapping(out)
            return copy
        }
    }

    /// A script with each reference replaced by a quoted parameter, the values of the positional
    /// ones (`"${1}"`…, passed after the script) and the environment of the secret ones
    /// (`"${WPK_SECRET_1}"`…, so no secret is ever in the process list); nil when a value is
    /// refused. No value is ever shell code.
    mutating func shellScript(_ script: String, pointer: String, mark: Mark) -> (
        script: String, arguments: [String], environment: [(name: String, value: String)]
    )? {
        if Self.reservedMarkers.contains(where: script.contains) {
            diagnostics.append(
                PlanCode.reservedText.diagnostic(
                    "this script contains \"<secret:\" or \"<run.id>\", which plans reserve for values read at run time", pointer: pointer,
                    mark: mark))
            return nil
        }
        let references = Templates.references(in: script)
        guard !references.isEmpty else { return (script, [], []) }
        let marks = referenceMarks(references, pointer: pointer, fallback: mark)
        var known: [String: String] = [:]
        var arguments: [String] = []
        var environment: [(name: String, value: String)] = []
        var parameters: [String] = []
        var failed = false
        for (reference, referenceMark) in zip(references, marks) {
            if let parameter = known[reference.expression] {
                parameters.append(parameter)
                continue
            }
            var problem: (PlanCode, String)?
            let found = value(of: reference) { code, message in problem = (code, message) }
            if let problem {
                diagnostics.append(problem.0.diagnostic(problem.1, pointer: pointer, mark: referenceMark))
                refuse(reference, problem.0, problem.1)
                failed = true
                parameters.append("")
                continue
            }
            guard let found else {
                failed = true
                parameters.append("")
                continue
            }
            if !found.isPlaceholder && found.text.hasPrefix("-") {
                diagnostics.append(
                    PlanCode.leadingDash.diagnostic(
                        "the value of \(reference.expression) starts with \"-\"; inside a script it could be read as an option of the command it is passed to",
                        pointer: pointer, mark: referenceMark))
                refuse(
                    reference, .leadingDash,
                    "the value starts with \"-\"; inside a script it could be read as an option of the command it is passed to")
                failed = true
            }
            let parameter: String
            if found.isPlaceholder && found.text != Self.runIDPlaceholder {
                parameter = "WPK_SECRET_\(environment.count + 1)"
                environment.append((parameter, found.text))
            } else {
                arguments.append(found.text)
                parameter = String(arguments.count)
            }
            known[reference.expression] = parameter
            parameters.append(parameter)
        }
        guard !failed else { return nil }
        let contexts = ShellQuoting.contexts(in: script, at: references.map(\.utf8Range))
        var index = 0
        let rewritten = Templates.substitute(script) { _ in
            defer { index += 1 }
            let parameter = "${\(parameters[index])}"
            switch contexts[index] {
            case .unquoted: return "\"\(parameter)\""
            case .doubleQuoted: return parameter
            case .singleQuoted: return "'\"\(parameter)\"'"
            }
        }
        return (rewritten, arguments, environment)
    }

    /// Notes that the value of the input `reference` names was refused; references that are not an
    /// input (`run.id`, unsupported expressions) and problems that are not the value's are skipped.
    private mutating func refuse(_ reference: TemplateReference, _ code: PlanCode, _ message: String) {
        guard code != .unplannable, reference.expression.hasPrefix("inputs.") else { return }
        let name = String(reference.expression.dropFirst("inputs.".count))
        guard inputs[name] != nil, !refusedValues.contains(where: { $0.input == name && $0.message == message }) else { return }
        refusedValues.append((name, message))
    }

    /// The exact position of each reference inside the scalar at `pointer`.
    private func referenceMarks(_ references: [TemplateReference], pointer: String, fallback: Mark) -> [Mark] {
        guard let node = root.resolve(pointer: pointer), node.scalar != nil else { return references.map { _ in fallback } }
        return Templates.marks(of: references, in: node, lines: lines)
    }

    /// What is wrong with one value in a grammar, or nil.
    static func valueProblem(_ value: String, _ grammar: ArgumentGrammar) -> String? {
        switch grammar {
        case .labelSelector:
            return value.utf8.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            } && value.utf8.count <= 63
                ? nil : "is not a label value (letters, digits, '.', '_', '-'; at most 63), so it could add a selector term"
        case .url:
            return value.unicodeScalars.contains(where: { $0 == " " }) ? "contains a space" : nil
        case .vaultPath:
            return value.utf8.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: "/")
            }
                ? nil : "is not a Vault path segment (letters, digits, '.', '_', '-', '/')"
        default:
            return nil
        }
    }

    /// What is wrong with a whole substituted argument in a grammar, or nil.
    static func resultProblem(_ text: String, _ grammar: ArgumentGrammar) -> String? {
        switch grammar {
        case .free, .labelSelector:
            return nil
        case .k8sTarget(let acceptsKindOnly):
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let kind = parts[0]
            guard !kind.isEmpty, kind.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: ".") }) else {
                return "\"\(DisplaySanitizer.sanitize(text))\" does not start with a Kubernetes kind"
            }
            if parts.count == 1 {
                return acceptsKindOnly ? nil : "\"\(DisplaySanitizer.sanitize(text))\" names no object (kind/name)"
            }
            return isDNS1123Subdomain(String(parts[1]))
                ? nil
                : "\"\(DisplaySanitizer.sanitize(String(parts[1])))\" is not a Kubernetes object name (lowercase letters, digits, '-', '.'; at most 253)"
        case .k8sName:
            return isDNS1123Subdomain(text)
                ? nil
                : "\"\(DisplaySanitizer.sanitize(text))\" is not a Kubernetes object name (lowercase letters, digits, '-', '.'; at most 253)"
        case .url:
            let lower = text.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
                return "\"\(DisplaySanitizer.sanitize(text))\" is not an http(s) URL"
            }
            return text.unicodeScalars.contains(where: { $0 == " " }) ? "the URL contains a space" : nil
        case .vaultPath:
            let segments = text.split(separator: "/", omittingEmptySubsequences: false)
            return text.hasPrefix("/") || segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
                ? "\"\(DisplaySanitizer.sanitize(text))\" is not a relative Vault path without empty, '.' or '..' segments" : nil
        case .container:
            guard let first = text.utf8.first, isAlphanumeric(first),
                text.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
                )
            else {
                return "\"\(DisplaySanitizer.sanitize(text))\" is not a container name"
            }
            return nil
        case .image:
            guard let first = text.utf8.first, isAlphanumeric(first),
                text.utf8.allSatisfy({ isAlphanumeric($0) || ".-_/:@".utf8.contains($0) })
            else {
                return "\"\(DisplaySanitizer.sanitize(text))\" is not an image reference"
            }
            return nil
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// RFC 1123 subdomain as Kubernetes names objects: dot-separated labels of lowercase
    /// letters, digits and '-', each starting and ending alphanumeric; 253 at most.
    static func isDNS1123Subdomain(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last, bytes.count <= 63 else { return false }
            func ok(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) }
            guard ok(first), ok(last), bytes.allSatisfy({ ok($0) || $0 == UInt8(ascii: "-") }) else { return false }
        }
        return true
    }
}

/// Where a position in a shell script sits: which quotes surround it.
enum ShellQuoting {
    enum Context: Equatable { case unquoted, singleQuoted, doubleQuoted }

    private enum Frame {
        case plain(parens: Int, closesOn: UInt8?)
        case single
        case double
    }

    /// The quoting context at the start of each range (sorted, non-overlapping UTF-8 ranges);
    /// the ranges' own bytes are skipped. Linear: `$( )`, backticks, quotes, escapes and comments
    /// are tracked with a stack; heredoc bodies are read as unquoted, so a reference inside one
    /// becomes `"${N}"` there (quotes show in the text, but the value is still never code).
    static func contexts(in script: String, at ranges: [Range<Int>]) -> [Context] {
        let bytes = Array(script.utf8)
        var stack: [Frame] = [.plain(parens: 0, closesOn: nil)]
        var out: [Context] = []
        var next = 0
        var i = 0
        var wordStart = true
        while i < bytes.count {
            if next < ranges.count, i >= ranges[next].lowerBound {
                switch stack.last! {
                case .plain: out.append(.unquoted)
                case .single: out.append(.singleQuoted)
                case .double: out.append(.doubleQuoted)
                }
                i = ranges[next].upperBound
                next += 1
                wordStart = false
                continue
            }
            let byte = bytes[i]
            switch stack.last! {
            case .single:
                if byte == UInt8(ascii: "'") { stack.removeLast() }
            case .double:
                if byte == UInt8(ascii: "\\") {
                    i += 1
                } else if byte == UInt8(ascii: "\"") {
                    stack.removeLast()
                } else if byte == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "(") {
                    stack.append(.plain(parens: 0, closesOn: UInt8(ascii: ")")))
                    i += 1
                } else if byte == UInt8(ascii: "`") {
                    stack.append(.plain(parens: 0, closesOn: UInt8(ascii: "`")))
                }
            case .plain(let parens, let closesOn):
                if byte == UInt8(ascii: "\\") {
                    i += 1
                } else if byte == UInt8(ascii: "'") {
                    stack.append(.single)
                } else if byte == UInt8(ascii: "\"") {
                    stack.append(.double)
                } else if byte == UInt8(ascii: "#"), wordStart {
                    while i + 1 < bytes.count, bytes[i + 1] != 0x0A, !(next < ranges.count && i + 1 == ranges[next].lowerBound) { i += 1 }
                } else if byte == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "(") {
                    stack.append(.plain(parens: 0, closesOn: UInt8(ascii: ")")))
                    i += 1
                } else if byte == UInt8(ascii: "`") {
                    if closesOn == UInt8(ascii: "`") {
                        stack.removeLast()
                    } else {
                        stack.append(.plain(parens: 0, closesOn: UInt8(ascii: "`")))
                    }
                } else if byte == UInt8(ascii: "(") {
                    stack[stack.count - 1] = .plain(parens: parens + 1, closesOn: closesOn)
                } else if byte == UInt8(ascii: ")") {
                    if parens > 0 {
                        stack[stack.count - 1] = .plain(parens: parens - 1, closesOn: closesOn)
                    } else if closesOn == UInt8(ascii: ")") {
                        stack.removeLast()
                    }
                }
            }
            if stack.isEmpty { stack = [.plain(parens: 0, closesOn: nil)] }
            wordStart =
                byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "&")
                || byte == UInt8(ascii: "|") || byte == UInt8(ascii: "(")
            i += 1
        }
        while out.count < ranges.count { out.append(.unquoted) }
        return out
    }
}
