/// Names and references between steps and inputs: duplicates, unknown names, dependency cycles.
enum ReferenceRules {
    static let duplicateStep = RuleInfo("WPK301", .error, "duplicate-step-name", "Two handlers or rollback steps share a name.")
    static let unknownDependency = RuleInfo("WPK302", .error, "unknown-dependency", "`depends_on` names no handler.")
    static let unknownUndoes = RuleInfo("WPK303", .error, "unknown-rollback-target", "A rollback step's `undoes` names no handler.")
    static let cycle = RuleInfo(
        "WPK304", .error, "dependency-cycle", "Handlers depend on each other in a cycle, so none of them can start.")
    static let duplicateInput = RuleInfo("WPK325", .error, "duplicate-input-name", "Two inputs share a name.")
    static let rules = [duplicateStep, unknownDependency, unknownUndoes, cycle, duplicateInput]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        let playbook = context.playbook
        var out: [Diagnostic] = []

        var firstStep: [String: Mark] = [:]
        for (step, _) in context.steps {
            guard let name = step.name else { continue }
            if let first = firstStep[name.value] {
                out.append(
                    context.report(
                        duplicateStep,
                        "step name \"\(name.value)\" is already used at line \(first.line); rename one of them (names must be unique across handlers and rollback)",
                        at: name))
            } else {
                firstStep[name.value] = name.mark
            }
        }

        var firstInput: [String: Mark] = [:]
        for input in playbook.inputs {
            if let first = firstInput[input.name.value] {
                out.append(
                    context.report(
                        duplicateInput, "input \"\(input.name.value)\" is already declared at line \(first.line); remove or rename one",
                        at: input.name))
            } else {
                firstInput[input.name.value] = input.name.mark
            }
        }

        // Graph of handlers by the first occurrence of each name.
        var index: [String: Int] = [:]
        for (i, handler) in playbook.handlers.enumerated() {
            if let name = handler.name?.value, index[name] == nil { index[name] = i }
        }
        let rollbackNames = Set(playbook.rollback.compactMap { $0.name?.value })
        // Only a finding needs the list of handler names.
        var known: String { Self.knownList(index.keys) }
        var edges: [[(to: Int, via: Located<String>)]] = Array(repeating: [], count: playbook.handlers.count)
        for (i, handler) in playbook.handlers.enumerated() {
            for dependency in handler.dependsOn {
                if let j = index[dependency.value] {
                    edges[i].append((j, dependency))
                } else if rollbackNames.contains(dependency.value) {
                    out.append(
                        context.report(
                            unknownDependency, "\"\(dependency.value)\" is a rollback step; a handler may depend only on handlers",
                            at: dependency))
                } else {
                    out.append(
                        context.report(
                            unknownDependency, "\"\(handler.displayName)\" depends on \"\(dependency.value)\", which is no handler\(known)",
                            at: dependency))
                }
            }
        }
        for step in playbook.rollback {
            guard let undoes = step.undoes, index[undoes.value] == nil else { continue }
            out.append(
                context.report(
                    unknownUndoes, "rollback step \"\(step.displayName)\" undoes \"\(undoes.value)\", which is no handler\(known)",
                    at: undoes))
        }
        for cycleEdges in Self.cycles(edges) {
            let names = cycleEdges.map { playbook.handlers[$0.from].displayName } + [playbook.handlers[cycleEdges[0].from].displayName]
            let closing = cycleEdges[cycleEdges.count - 1].via
            out.append(
                context.report(
                    cycle,
                    "dependency cycle: \(names.joined(separator: " needs ")), so none of them can start; remove one of these depends_on entries",
                    at: closing))
        }
        return out
    }

    private static func knownList(_ names: Dictionary<String, Int>.Keys) -> String {
        guard !names.isEmpty else { return "; the playbook has no handlers" }
        let shown = names.count > 50 ? Array(names.prefix(8)).sorted() : Array(names.sorted().prefix(8))
        return "; handlers are: \(shown.joined(separator: ", "))\(names.count > 8 ? ", …" : "")"
    }

    /// One cycle per strongly connected component that has one, as its edges in order.
    /// Iterative Tarjan, so a hostile file with many handlers costs linear time and no stack.
    static func cycles(_ edges: [[(to: Int, via: Located<String>)]]) -> [[(from: Int, via: Located<String>)]] {
        let n = edges.count
        var order = Array(repeating: -1, count: n)
        var low = Array(repeating: 0, count: n)
        var onStack = Array(repeating: false, count: n)
        var stack: [Int] = []
        var component = Array(repeating: -1, count: n)
        var components: [[Int]] = []
        var counter = 0
        for start in 0..<n where order[start] < 0 {
            var work: [(node: Int, edge: Int)] = [(start, 0)]
            order[start] = counter
            low[start] = counter
            counter += 1
            stack.append(start)
            onStack[start] = true
            while let (v, e) = work.last {
                if e < edges[v].count {
                    work[work.count - 1].edge += 1
                    let w = edges[v][e].to
                    if order[w] < 0 {
                        order[w] = counter
                        low[w] = counter
                        counter += 1
                        stack.append(w)
                        onStack[w] = true
                        work.append((w, 0))
                    } else if onStack[w] {
                        low[v] = min(low[v], order[w])
                    }
                } else {
                    work.removeLast()
                    if let parent = work.last { low[parent.node] = min(low[parent.node], low[v]) }
                    if low[v] == order[v] {
                        // A lone handler without a self-loop, the usual case, needs no list.
                        if stack.last == v && !edges[v].contains(where: { $0.to == v }) {
                            stack.removeLast()
                            onStack[v] = false
                            continue
                        }
                        var members: [Int] = []
                        while let w = stack.popLast() {
                            onStack[w] = false
                            component[w] = components.count
                            members.append(w)
                            if w == v { break }
                        }
                        components.append(members)
                    }
                }
            }
        }
        var out: [[(from: Int, via: Located<String>)]] = []
        for (c, members) in components.enumerated() {
            let first = members.min()!
            let selfLoop = edges[first].contains { $0.to == first }
            guard members.count > 1 || selfLoop else { continue }
            // Walk inside the component from its first handler until a handler repeats.
            var position: [Int: Int] = [:]
            var path: [(from: Int, via: Located<String>)] = []
            var v = first
            while position[v] == nil {
                position[v] = path.count
                guard let next = edges[v].first(where: { component[$0.to] == c }) else { break }
                path.append((v, next.via))
                v = next.to
            }
            if let start = position[v], start < path.count { out.append(Array(path[start...])) }
        }
        return out.sorted { ($0.last?.via.mark.offset ?? 0) < ($1.last?.via.mark.offset ?? 0) }
    }
}
