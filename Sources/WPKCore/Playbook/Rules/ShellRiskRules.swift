/// Shell idioms that turn a small mistake into an outage: running a download unseen, and
/// `rm -rf` on a variable that may be empty (`rm -rf "$DIR"/` is `rm -rf /` when DIR is unset).
enum ShellRiskRules {
    static let pipeToShell = RuleInfo(
        "WPK316", .warning, "download-piped-to-shell", "A command pipes a download (curl, wget) straight into a shell.")
    static let rmEmptyVariable = RuleInfo(
        "WPK317", .warning, "rm-rf-unguarded-variable", "`rm -rf` on a path that starts with a variable that may be empty.")
    static let rules = [pipeToShell, rmEmptyVariable]

    static let shells: Set<String> = ["sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "python", "python3", "perl", "ruby"]
    static let downloaders: Set<String> = ["curl", "wget"]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        let playbook = context.playbook
        // Inputs that always have a value: required, or with a default.
        let alwaysSet = Set(playbook.inputs.filter { $0.required || $0.defaultValue != nil }.map(\.name.value))
        var out: [Diagnostic] = []
        for (index, (step, _)) in context.steps.enumerated() {
            guard let spec = step.actionSpec, ["script", "exec", "run"].contains(spec.name),
                let params = context.stepField(index, "params")
            else { continue }
            forEachNode(params, pointer: step.pointer + "/params") { node, at in
                guard !at.isKey, let text = node.scalar?.text,
                    text.containsBytes("rm") || text.containsBytes("curl") || text.containsBytes("wget")
                else { return }
                out += scan(text, node: node, pointer: at.pointer, alwaysSet: alwaysSet, context: context)
            }
        }
        return out
    }

    /// Checks each line of a script. Linear in its length.
    static func scan(_ script: String, node: Node, pointer: String, alwaysSet: Set<String>, context: RuleContext) -> [Diagnostic] {
        var out: [Diagnostic] = []
        var assigned: Set<String> = []
        // Lines come in source order, so each search continues where the last one ended.
        var cursor = SourceLocator.Cursor(node: node, lines: context.lines)
        for rawLine in script.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine).trimmingSpaces
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            var lineMark: Mark?
            func mark() -> Mark {
                if let lineMark { return lineMark }
                let found = cursor.next(line) ?? node.start
                lineMark = found
                return found
            }

            var reportedPipe = false
            for pipeline in pipelines(line) where !reportedPipe {
                let segments = pipeSegments(pipeline)
                if let download = segments.firstIndex(where: { downloaders.contains(commandWord($0)) }),
                    let shell = segments[(download + 1)...].first(where: { shells.contains(commandWord($0)) })
                {
                    out.append(
                        context.report(
                            pipeToShell,
                            "\"\(line)\" runs a download with \(commandWord(shell)) without anyone seeing it; download to a file, check its checksum or signature, then run it",
                            pointer: pointer, mark: mark()))
                    reportedPipe = true
                } else if shells.contains(commandWord(segments.first ?? "")), Self.substitutesDownload(pipeline) {
                    out.append(
                        context.report(
                            pipeToShell,
                            "\"\(line)\" runs a download with a shell without anyone seeing it; download to a file, check its checksum or signature, then run it",
                            pointer: pointer, mark: mark()))
                    reportedPipe = true
                }
            }

            for command in pipelines(line).flatMap(pipeSegments).map(\.trimmingSpaces) where !command.isEmpty {
                // One word per template reference, so `${{ inputs.dir }}/tmp` stays one operand.
                let command = Templates.substitute(command) { "${{" + $0.expression.filter { !$0.isWhitespace } + "}}" }
                let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if let first = words.first, let eq = first.firstIndex(of: "="), words.count == 1 {
                    let name = String(first[..<eq])
                    let value = first[first.index(after: eq)...].filter { $0 != "\"" && $0 != "'" }
                    if !value.isEmpty && !value.contains("$") { assigned.insert(name) } else { assigned.remove(name) }
                    continue
                }
                var rest = words[...]
                while let w = rest.first, w == "sudo" || w == "command" || w == "exec" { rest = rest.dropFirst() }
                guard rest.first == "rm" else { continue }
                var recursive = false
                var force = false
                var operands: [String] = []
                for word in rest.dropFirst() {
                    if word == "--recursive" {
                        recursive = true
                    } else if word == "--force" {
                        force = true
                    } else if word.hasPrefix("--") {
                    } else if word.hasPrefix("-") && word.count > 1 {
                        if word.contains("r") || word.contains("R") { recursive = true }
                        if word.contains("f") { force = true }
                    } else {
                        operands.append(word)
                    }
                }
                guard recursive && force else { continue }
                for operand in operands {
                    if let variable = unguardedVariable(operand, assigned: assigned, alwaysSet: alwaysSet) {
                        out.append(
                            context.report(
                                rmEmptyVariable,
                                "\"\(command)\": if \(variable) is empty this deletes from /; write ${\(variable):?} so an empty value stops the script, or check it first",
                                pointer: pointer, mark: mark()))
                        break
                    }
                }
            }
        }
        return out
    }

    /// Whether a line feeds a download to a command by process or command substitution.
    static func substitutesDownload(_ line: String) -> Bool {
        let forms = ["<(curl", "<(wget", "$(curl", "$(wget"]
        return forms.contains { line.contains($0) }
    }

    /// The variable an operand starts with when it may be empty, or nil.
    static func unguardedVariable(_ operand: String, assigned: Set<String>, alwaysSet: Set<String>) -> String? {
        let stripped = operand.drop(while: { $0 == "\"" || $0 == "'" })
        if stripped.hasPrefix("${{") {
            let refs = Templates.references(in: String(stripped))
            guard let first = refs.first, first.utf8Range.lowerBound == 0 else { return nil }
            for input in first.inputNames where !alwaysSet.contains(input) { return "input \(input)" }
            return nil
        }
        guard stripped.hasPrefix("$") else { return nil }
        var name = ""
        var body = stripped.dropFirst()
        if body.hasPrefix("{") {
            body = body.dropFirst()
            name = String(body.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" }))
            let after = body.dropFirst(name.count)
            if after.hasPrefix(":?") || after.hasPrefix("?") || after.hasPrefix(":-") && after.dropFirst(2).first != "}" { return nil }
        } else {
            name = String(body.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" }))
        }
        guard !name.isEmpty, !assigned.contains(name) else { return nil }
        return name
    }

    /// A pipeline's commands, split at `|` (call on a pipeline, where `||` is already gone).
    static func pipeSegments(_ pipeline: String) -> [String] {
        pipeline.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    }

    /// The pipelines of a line, split at `;`, `&&` and `||`.
    static func pipelines(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        let chars = Array(line)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            if c == ";" || (c == "&" && next == "&") || (c == "|" && next == "|") {
                out.append(current)
                current = ""
                if c != ";" { i += 1 }
            } else {
                current.append(c)
            }
            i += 1
        }
        out.append(current)
        return out
    }

    /// The program a command segment runs: its first word after `sudo`, `env` and assignments,
    /// without a directory (`/usr/bin/curl` is `curl`).
    static func commandWord(_ segment: String) -> String {
        for word in segment.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            if word == "sudo" || word == "env" || word == "exec" || word.contains("=") || word.hasPrefix("-") { continue }
            return String(word.split(separator: "/").last ?? word)
        }
        return ""
    }
}
