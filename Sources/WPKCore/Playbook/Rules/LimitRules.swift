/// Time and blast-radius bounds of `spec.validation.limits`.
enum LimitRules {
    static let stepTimeout = RuleInfo("WPK309", .error, "timeout-over-limit", "A step's timeout exceeds `limits.max_step_timeout`.")
    static let retryAttempts = RuleInfo(
        "WPK310", .error, "retry-over-limit", "A step's `retry.max_attempts` exceeds `limits.max_retry_attempts`.")
    static let runtime = RuleInfo(
        "WPK322", .error, "runtime-over-limit", "The worst-case duration of all steps exceeds `limits.max_runtime`.")
    static let targets = RuleInfo(
        "WPK324", .error, "targets-over-limit", "Mutating steps change more distinct targets than `limits.max_targets`.")
    static let rules = [stepTimeout, retryAttempts, runtime, targets]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        let playbook = context.playbook
        let limits = playbook.validation.limits
        var out: [Diagnostic] = []
        if let limit = limits.maxStepTimeoutSeconds {
            for (step, _) in context.steps where step.effectiveTimeoutSeconds > limit.value {
                if let timeout = step.timeoutSeconds {
                    out.append(
                        context.report(
                            stepTimeout,
                            "step \"\(step.displayName)\" has timeout \(Self.show(timeout.value)), over max_step_timeout \(Self.show(limit.value)) (line \(limit.mark.line)); lower the timeout or raise the limit",
                            at: timeout))
                } else {
                    out.append(
                        context.report(
                            stepTimeout,
                            "step \"\(step.displayName)\" has no timeout, and the default \(Self.show(Playbook.Handler.defaultTimeoutSeconds)) is over max_step_timeout \(Self.show(limit.value)); give it a timeout",
                            pointer: step.pointer, mark: step.mark))
                }
            }
        }
        if let limit = limits.maxRetryAttempts {
            for (step, _) in context.steps {
                guard let attempts = step.retry?.maxAttempts, attempts.value > limit.value else { continue }
                out.append(
                    context.report(
                        retryAttempts,
                        "step \"\(step.displayName)\" may run \(attempts.value) times, over max_retry_attempts \(limit.value) (line \(limit.mark.line)); lower retry.max_attempts or raise the limit",
                        at: attempts))
            }
        }
        if let limit = limits.maxRuntimeSeconds {
            let total = context.steps.reduce(0) { $0 + $1.step.worstCaseSeconds }
            if total > limit.value {
                let worst = context.steps.max { $0.step.worstCaseSeconds < $1.step.worstCaseSeconds }?.step
                let hint = worst.map { "; the longest is \"\($0.displayName)\" at \(Self.show($0.worstCaseSeconds))" } ?? ""
                out.append(
                    context.report(
                        runtime,
                        "all steps together may take \(Self.show(total)) (every attempt to its timeout, rollback included), over max_runtime \(Self.show(limit.value))\(hint); shorten timeouts or retries, or raise the limit",
                        at: limit))
            }
        }
        if let limit = limits.maxTargets {
            var seen: [String] = []
            var seenSet: Set<String> = []
            for step in playbook.handlers {
                guard let spec = step.actionSpec, spec.mutating, let target = step.target else { continue }
                guard seenSet.insert(target.value).inserted else { continue }
                seen.append(target.value)
                if seen.count == limit.value + 1 && seen.count <= 1000 {
                    out.append(
                        context.report(
                            targets,
                            "step \"\(step.displayName)\" changes a target beyond max_targets \(limit.value) (\(seen.joined(separator: ", "))); split the playbook or raise the limit",
                            at: target))
                }
            }
        }
        return out
    }

    /// `1h30m`-style text of a number of seconds.
    static func show(_ seconds: Int) -> String {
        if seconds == 0 { return "0s" }
        let h = seconds / 3600
        let m = (seconds % 3600) / 60
        let s = seconds % 60
        return (h > 0 ? "\(h)h" : "") + (m > 0 ? "\(m)m" : "") + (s > 0 ? "\(s)s" : "")
    }
}
