import WPKCore

/// The text form of a plan, for a person deciding over SSH whether it may run: 80 columns, every
/// step numbered with its exact command, gated/destructive/opaque steps marked, the rollback path,
/// and the fingerprint to approve. Every string from the playbook or the operator is sanitized.
enum PlanTextPrinter {
    static let width = 80

    /// The whole plan as lines ending in newlines.
    static func render(_ plan: WPKCore.Plan) -> String {
        var out: [String] = []
        let info = plan.playbook
        out.append("Plan: \(clean(info.name)) \(clean(info.version))")
        out.append("File: \(clean(info.path))")
        out.append("      \(info.digest)")
        if let signature = plan.signature {
            if signature.state == .verified {
                out.append("Signature: verified, \(clean(signature.algorithm ?? "")) key \(clean(signature.keyName ?? ""))")
                out.append("      \(signature.fingerprint ?? "")")
            } else {
                out += wrap("Signature: \(clean(signature.summary))", indent: "      ")
                if signature.state != .unsigned {
                    out += wrap("      \(clean(signature.message)) [\(signature.code.rawValue)]", indent: "      ")
                }
            }
        }
        var mode = "Mode: \(plan.mode.rawValue)"
        if plan.summary.gated > 0 {
            mode += "; gated steps need \(plan.approvalsRequired) approval\(plan.approvalsRequired == 1 ? "" : "s")"
            if !plan.allowSelfApproval { mode += ", not your own" }
            if let timeout = plan.approvalTimeoutSeconds { mode += ", within \(duration(timeout))" }
        }
        out += wrap(mode, indent: "      ")
        if plan.dryRunFirst, (plan.steps + plan.rollback).contains(where: { $0.fidelity == .simulated }) {
            out.append("      simulated steps run their server-side dry run first")
        }
        if !plan.inputs.isEmpty {
            out.append("Inputs:")
            for input in plan.inputs {
                let value: String
                switch input.value {
                case .secret(let ref): value = "\(clean(ref.placeholder))  (secret, read when the step runs)"
                case .absent: value = "(no value)"
                case .string(let s): value = "\"\(clean(s))\"  (\(input.source.rawValue))"
                default: value = "\(clean(input.value.substitutionText ?? ""))  (\(input.source.rawValue))"
                }
                out += wrap("  \(clean(input.name)) = \(value)", indent: "      ")
            }
        }
        out.append("")
        out.append("Steps, in the order they run:")
        for step in plan.steps {
            out.append("")
            out += render(step, label: "\(step.number).")
            let undoing = plan.gatedRollback(undoing: step.handler)
            if step.gate.required, !undoing.isEmpty {
                let pad = String(repeating: " ", count: max("\(step.number).".count + 3, 5))
                out += wrap(
                    pad
                        + "rollback \(undoing.map(clean).joined(separator: ", ")) waits for its own approval unless this step is approved with --include-rollback",
                    indent: pad + "  ")
            }
        }
        if !plan.skipped.isEmpty {
            out.append("")
            out.append("Skipped (nothing runs):")
            for skipped in plan.skipped {
                out += wrap("  - \(clean(skipped.handler)): \(clean(skipped.reason))", indent: "      ")
            }
        }
        if !plan.rollback.isEmpty {
            out.append("")
            out.append("Rollback steps (run latest change first, only for changes that completed):")
            for step in plan.rollback {
                out.append("")
                out += render(step, label: "R\(step.number).")
            }
        }
        out.append("")
        if plan.summary.targets.isEmpty {
            out.append("Blast radius: nothing is changed (every step only reads)")
        } else {
            out.append("Blast radius (what changes):")
            for target in plan.summary.targets {
                out += wrap(
                    "  \(target.runtime.rawValue) \(clean(target.scope)) \(clean(target.target)): \(target.steps.map(clean).joined(separator: ", "))",
                    indent: "      ")
            }
        }
        if let bindings = plan.bindings, !bindings.items.isEmpty {
            out.append("")
            out.append("Bindings (the plan digest covers them; a change stops the run as stale):")
            for binding in bindings.items {
                out += wrap("  \(clean(binding.summary))", indent: "      ")
            }
            out.append("")
        }
        let s = plan.summary
        out += wrap(
            "Summary: \(s.steps) step\(s.steps == 1 ? "" : "s"), \(s.gated) gated, \(s.mutating) mutating, \(s.destructive) destructive, \(s.opaque) opaque; worst case \(duration(s.worstCaseSeconds)) (approval waits excluded)",
            indent: "         ")
        out.append("")
        out.append("Fingerprint: \(plan.fingerprint)")
        out.append("  plan_digest \(plan.planDigest)")
        if plan.steps.contains(where: \.gate.required) || plan.rollback.contains(where: \.gate.required) {
            out.append("  approve with: wpk approve FILE --step STEP --plan \(plan.fingerprint)")
        }
        return out.map { line in
            var line = line
            while line.hasSuffix(" ") { line.removeLast() }
            return line + "\n"
        }.joined()
    }

    /// One step: header, marks, gate, command(s), timing, failure path.
    static func render(_ step: PlanStep, label: String) -> [String] {
        var out: [String] = []
        let pad = String(repeating: " ", count: max(label.count + 3, 5))
        var header = "  \(label) \(clean(step.handler))  \(step.runtime.rawValue) \(step.action)"
        if let target = step.target { header += " \(clean(target))" }
        out += wrap(header, indent: pad)
        var marks: [String] = []
        if step.gate.required { marks.append("GATED (\(step.gate.approvals) approval\(step.gate.approvals == 1 ? "" : "s"))") }
        if step.destructive { marks.append("DESTRUCTIVE") }
        marks.append(step.mutating ? "changes state" : "read-only")
        switch step.fidelity {
        case .exact: marks.append("exact")
        case .simulated: marks.append("simulated (server dry run)")
        case .opaque: marks.append("OPAQUE (no preview)")
        }
        out += wrap(pad + marks.joined(separator: " · "), indent: pad)
        if step.gate.required { out += wrap(pad + "why gated: " + clean(step.gate.reason), indent: pad + "  ") }
        if let undoes = step.undoes { out.append(pad + "undoes: \(clean(undoes))") }
        if let description = step.description { out += wrap(pad + "# " + clean(description), indent: pad + "# ") }
        for command in step.commands { out += commandLines(command, step: step, pad: pad, prefix: "$ ") }
        for command in step.dryRunCommands { out += commandLines(command, step: step, pad: pad, prefix: "dry run: ") }
        if !step.environment.isEmpty {
            out += wrap(
                pad + "env: " + step.environment.map { "\(clean($0.name))=\(shellWord($0.value))" }.joined(separator: " "),
                indent: pad + "     ")
        }
        if let input = step.standardInput { out.append(pad + "stdin: \(clean(input))") }
        if let directory = step.workingDirectory { out.append(pad + "in: \(clean(directory))") }
        var timing = "timeout \(duration(step.timeoutSeconds)) · "
        if step.retry.maxAttempts > 1 {
            timing += "\(step.retry.maxAttempts) attempts, waits \(step.retry.delaysSeconds.map(duration).joined(separator: ", "))"
        } else if step.retry.declaredAttempts > 1 {
            timing += "1 attempt (\(step.retry.declaredAttempts) declared; not retried: not idempotent)"
        } else {
            timing += "1 attempt"
        }
        timing += " · worst \(duration(step.worstCaseSeconds))"
        out += wrap(pad + timing, indent: pad + "  ")
        var failure = "on failure: \(clean(step.onFailure))"
        if step.onFailure == "rollback" {
            failure +=
                step.rollbackSteps.isEmpty ? " (nothing to undo yet)" : " → " + step.rollbackSteps.map(clean).joined(separator: " → ")
        }
        out += wrap(pad + failure, indent: pad + "  ")
        if !step.permissions.isEmpty {
            out += wrap(pad + "permissions: " + step.permissions.map(clean).joined(separator: ", "), indent: pad + "  ")
        }
        return out
    }

    /// A command as shell-quoted words wrapped with `\`; a script is shown as its own lines.
    static func commandLines(_ argv: [String], step: PlanStep, pad: String, prefix: String) -> [String] {
        var words = argv.map(shellWord)
        var script: [String] = []
        if step.runtime == .shell, step.action == "script", argv.count >= 3, argv[1] == "-c" {
            words[2] = "SCRIPT"
            var scriptLines = argv[2].split(separator: "\n", omittingEmptySubsequences: false)
            if scriptLines.count > 1, scriptLines.last?.isEmpty == true { scriptLines.removeLast() }
            script = scriptLines.map { pad + "  | " + clean(String($0)) }
            if argv.count > 4 {
                for (i, value) in argv[4...].enumerated() { script.append(pad + "  ${\(i + 1)} = \(shellWord(value))") }
            }
        }
        var lines: [String] = []
        var line = pad + prefix
        let continuation = pad + String(repeating: " ", count: prefix.count + 2)
        for (i, word) in words.enumerated() {
            let separator = i == 0 ? "" : " "
            if i > 0, (line + separator + word).count > width - 2 {
                lines.append(line + " \\")
                line = continuation + word
            } else {
                line += separator + word
            }
        }
        lines.append(line)
        if !script.isEmpty {
            lines.append(pad + "  SCRIPT (values are passed as \"${N}\", never as code):")
            lines += script
        }
        return lines
    }

    /// A word as a POSIX shell would need it to read it back as one argument, sanitized for the terminal.
    static func shellWord(_ text: String) -> String {
        let safe =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (CharacterSetLike.isAlphanumeric(scalar) || "@%+=:,./_-<>#".unicodeScalars.contains(scalar))
            } && !text.hasPrefix("#")
        let quoted = safe ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
        return clean(quoted)
    }

    /// Untrusted text made safe for a terminal.
    static func clean(_ text: String) -> String { DisplaySanitizer.sanitize(text) }

    /// `90` → `1m30s`, `3600` → `1h`, `0` → `0s`.
    static func duration(_ seconds: Int) -> String {
        guard seconds > 0 else { return "0s" }
        var out = ""
        let h = seconds / 3600
        let m = seconds % 3600 / 60
        let s = seconds % 60
        if h > 0 { out += "\(h)h" }
        if m > 0 { out += "\(m)m" }
        if s > 0 { out += "\(s)s" }
        return out
    }

    /// Word-wraps a line at `width`; words longer than a line stay whole.
    static func wrap(_ text: String, indent: String) -> [String] {
        guard text.count > width else { return [text] }
        let leading = String(text.prefix { $0 == " " })
        var lines: [String] = []
        var line = leading
        for word in text.dropFirst(leading.count).split(separator: " ", omittingEmptySubsequences: false) {
            let candidate = (line == leading || line == indent) ? line + word : line + " " + word
            if candidate.count > width, line != leading, line != indent {
                lines.append(line)
                line = indent + word
            } else {
                line = candidate
            }
        }
        lines.append(line)
        return lines
    }
}

/// ASCII letter and digit tests without Foundation's CharacterSet.
enum CharacterSetLike {
    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
