import WPKCore

/// Reads what the review shows from a playbook's document tree, tolerating any shape: a missing or
/// odd field gives a dash or a plain rendering, never a failure (the validator reports problems).
public enum PlaybookReader {
    /// The list's summary of a playbook: name, runtime and mode from the tree, counts from the
    /// diagnostics. Gate and run counts stay unknown until a plan and ledger say otherwise.
    /// Planning problems (`WPK4xx`, such as a missing input) are not the file's: they do not count
    /// against its validity here, and the Plan pane says why there is no plan.
    public static func entry(
        path: String, root: Node?, diagnostics: [Diagnostic], fallbackName: String,
        signature: PlaybookSignatureCheck? = nil
    ) -> PlaybookEntry {
        let playbook = root.map { Playbook(root: $0) }
        let name = playbook?.metadata.name?.value ?? fallbackName
        let runtime = playbook?.runtime.type?.value.rawValue ?? "-"
        let mode = root == nil ? "-" : (playbook?.safety.effectiveMode.rawValue ?? "-")
        let fileDiagnostics = diagnostics.filter { !$0.code.hasPrefix("WPK4") }
        return PlaybookEntry(
            path: path, name: name, runtime: runtime, mode: mode,
            errors: fileDiagnostics.filter { $0.severity == .error }.count,
            warnings: fileDiagnostics.filter { $0.severity == .warning }.count,
            pendingGates: nil, waitingRuns: 0, signature: signature)
    }

    /// The Overview pane's first section: whether the file is the one a trusted key signed.
    public static func signatureSection(_ check: PlaybookSignatureCheck) -> OverviewSection {
        var rows: [(label: String, value: String)] = [("state", signatureWord(check).text)]
        if let algorithm = check.algorithm { rows.append(("algorithm", algorithm)) }
        if let ref = check.ref { rows.append(("file", ref)) }
        if let key = check.keyName { rows.append(("key", key)) }
        if let fingerprint = check.fingerprint { rows.append(("fingerprint", fingerprint)) }
        if check.state != .verified { rows.append(("why", "\(check.message) [\(check.code.rawValue)]")) }
        return OverviewSection(title: "Signature", rows: rows)
    }

    /// The signature in a word or two, and whether it is good, neutral or bad: the list's
    /// SIGNATURE column and the Overview's state.
    public static func signatureWord(_ check: PlaybookSignatureCheck?) -> (text: String, verdict: SignatureVerdict) {
        guard let check else { return ("-", .neutral) }
        switch check.state {
        case .verified: return ("verified", .good)
        case .unsigned: return ("unsigned", check.required ? .bad : .neutral)
        case .notChecked: return ("unchecked", check.required ? .bad : .neutral)
        default: return ("NOT OK", .bad)
        }
    }

    /// How a signature's state reads at a glance.
    public enum SignatureVerdict: Sendable { case good, neutral, bad }

    /// A scalar's text at a key path, or nil.
    public static func text(_ node: Node?, _ keys: [String]) -> String? {
        var current = node
        for key in keys { current = current?[key] }
        return current?.scalar?.text
    }

    /// A node at `spec.<key>`, else at the top level.
    private static func section(_ root: Node, _ key: String) -> Node? {
        root["spec"]?[key] ?? root[key]
    }

    /// The Overview pane's sections: metadata, runtime, triggers, safety, inputs.
    public static func overview(_ root: Node) -> [OverviewSection] {
        var sections: [OverviewSection] = []
        if let metadata = root["metadata"], let entries = metadata.mapping {
            sections.append(OverviewSection(title: "Metadata", rows: entries.map { ($0.keyText, inline($0.value)) }))
        }
        var runtime: [(label: String, value: String)] = []
        for key in ["runtime", "mode", "target", "timeout"] {
            if let node = section(root, key) { runtime.append((key, inline(node))) }
        }
        if let handlers = section(root, "handlers") {
            runtime.append(
                ("handlers", handlers.sequence.map { "\($0.count)" } ?? handlers.mapping.map { "\($0.count)" } ?? inline(handlers)))
        }
        if !runtime.isEmpty { sections.append(OverviewSection(title: "Runtime", rows: runtime)) }
        for (key, title) in [("triggers", "Triggers"), ("safety", "Safety"), ("inputs", "Inputs")] {
            guard let node = section(root, key) else { continue }
            sections.append(OverviewSection(title: title, rows: rows(node)))
        }
        return sections
    }

    /// Rows for a section: a mapping's entries, or a sequence's items (named by `name` when they have one).
    private static func rows(_ node: Node) -> [(label: String, value: String)] {
        let limit = 500  // a section with more rows than this is summarized, not listed
        if let entries = node.mapping {
            return entries.prefix(limit).map { ($0.keyText, inline($0.value)) }
                + (entries.count > limit ? [("...", "\(entries.count - limit) more")] : [])
        }
        if let items = node.sequence {
            return items.prefix(limit).enumerated().map { i, item in
                (item["name"]?.scalar?.text ?? "\(i + 1)", inline(item))
            } + (items.count > limit ? [("...", "\(items.count - limit) more")] : [])
        }
        return [("", inline(node))]
    }

    /// A node written on one line, cut at a budget so a huge value costs little.
    public static func inline(_ node: Node, budget: Int = 300) -> String {
        var out = ""
        var remaining = budget
        write(node, into: &out, remaining: &remaining)
        return remaining < 0 ? out + "..." : out
    }

    /// Recursion is bounded by the loader's depth limit and stops as soon as the budget is spent.
    private static func write(_ node: Node, into out: inout String, remaining: inout Int) {
        guard remaining >= 0 else { return }
        func emit(_ text: String) {
            let piece = text.prefix(max(0, remaining))
            out += piece
            remaining -= text.count
        }
        switch node.content {
        case .scalar(let scalar):
            emit(scalar.text)
        case .sequence(let items):
            emit("[")
            for (i, item) in items.enumerated() {
                if remaining < 0 { return }
                if i > 0 { emit(", ") }
                write(item, into: &out, remaining: &remaining)
            }
            emit("]")
        case .mapping(let entries):
            emit("{")
            for (i, entry) in entries.enumerated() {
                if remaining < 0 { return }
                if i > 0 { emit(", ") }
                emit(entry.keyText + ": ")
                write(entry.value, into: &out, remaining: &remaining)
            }
            emit("}")
        }
    }
}
