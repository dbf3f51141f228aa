/// What one step will do, exactly: the one description the review UI shows, an approval binds to
/// (through the plan digest) and `wpk run` executes.
public struct PlanStep: Sendable, Equatable {
    /// Whether a step waits for approvals before it runs, how many, and every reason why.
    public struct Gate: Sendable, Equatable {
        public var required: Bool
        /// Approvals needed (0 when not required).
        public var approvals: Int
        /// Every cause, e.g. `manual mode: the step changes state`, `destructive action`.
        public var reasons: [String]

        /// The reasons as one sentence (the contract's `reason`).
        public var reason: String { reasons.isEmpty ? "no approval needed" : reasons.joined(separator: "; ") }
    }

    /// How often a step is tried and how long it waits in between.
    public struct RetrySchedule: Sendable, Equatable {
        /// Attempts in all (1: no retry).
        public var maxAttempts: Int
        /// The waits between attempts, one fewer than the attempts.
        public var delaysSeconds: [Int]
        /// Whether the step is declared idempotent (without which it is never retried).
        public var idempotent: Bool
        /// Attempts the playbook asked for (may exceed `maxAttempts` for a non-idempotent step).
        public var declaredAttempts: Int
        /// Why the schedule differs from what was declared, if it does.
        public var note: String?
    }

    /// 1-based position in the run (rollback steps are numbered on their own).
    public var number: Int
    public var handler: String
    public var description: String?
    public var runtime: Runtime
    public var action: String
    /// The target after substitution; nil for actions without one.
    public var target: String?
    /// Where the target lives: `context/namespace` for k8s, the docker host, `local` for shell.
    public var scope: String
    /// The exact argument vectors to execute, in order (placeholders for secrets and the run id).
    public var commands: [[String]]
    /// The dry-run variant of `commands` for simulated steps; empty otherwise.
    public var dryRunCommands: [[String]]
    /// Environment added to the commands' process, in name order: a shell step's runtime
    /// environment, and every secret a command needs (placeholders; secrets never go in argv).
    public var environment: [(name: String, value: String)]
    /// Working directory of the commands (shell steps).
    public var workingDirectory: String?
    public var mutating: Bool
    public var destructive: Bool
    public var fidelity: Fidelity
    public var permissions: [String]
    public var gate: Gate
    public var timeoutSeconds: Int
    public var retry: RetrySchedule
    /// `abort`, `continue` or `rollback`.
    public var onFailure: String
    /// The rollback steps a failure of this step runs, in the order they run.
    public var rollbackSteps: [String]
    public var dependsOn: [String]
    /// Rollback steps: the handler whose effect this step undoes.
    public var undoes: String?
    /// Secret references whose values the executor fills in.
    public var secrets: [SecretReference]
    /// What the commands read on standard input (a placeholder: `vault write … key=-` takes one
    /// secret field there); nil gives them /dev/null.
    public var standardInput: String? = nil

    /// The longest the step can take: every attempt to its timeout plus the waits between them.
    public var worstCaseSeconds: Int {
        retry.maxAttempts * timeoutSeconds + retry.delaysSeconds.reduce(0, +)
    }

    /// `commands` and `environment` with the run id and secrets filled in: what the executor
    /// hands to the system. Only placeholders the planner wrote can match (no template or value
    /// may contain them).
    public func resolved(runID: String, secret: (SecretReference) throws -> String) rethrows -> (
        commands: [[String]], environment: [(name: String, value: String)], standardInput: String?
    ) {
        var values: [(String, String)] = [(Substituter.runIDPlaceholder, runID)]
        for ref in secrets { values.append((ref.placeholder, try secret(ref))) }
        func fill(_ text: String) -> String {
            var out = text
            for (placeholder, value) in values where out.contains(placeholder) {
                out = out.replacingOccurrences(of: placeholder, with: value)
            }
            return out
        }
        return (commands.map { $0.map(fill) }, environment.map { ($0.name, fill($0.value)) }, standardInput.map(fill))
    }

    public static func == (lhs: PlanStep, rhs: PlanStep) -> Bool {
        lhs.json == rhs.json
    }

    /// Everything that decides what runs (no descriptions or reasons): the digest's share.
    var executableJSON: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("handler", .string(handler)), ("runtime", .string(runtime.rawValue)), ("action", .string(action)),
            ("target", .optional(target)), ("scope", .string(scope)),
            ("commands", Self.json(commands)), ("dry_run_commands", Self.json(dryRunCommands)),
            ("environment", .object(environment.map { ($0.name, .string($0.value)) })),
            ("working_directory", .optional(workingDirectory)),
            ("mutating", .bool(mutating)), ("destructive", .bool(destructive)), ("fidelity", .string(fidelity.rawValue)),
            ("permissions", .array(permissions.map(JSONValue.string))),
            ("gate", .object([("required", .bool(gate.required)), ("approvals", .int(gate.approvals))])),
            ("timeout_seconds", .int(timeoutSeconds)),
            (
                "retry",
                .object([
                    ("max_attempts", .int(retry.maxAttempts)), ("delays_seconds", .array(retry.delaysSeconds.map(JSONValue.int))),
                    ("idempotent", .bool(retry.idempotent)),
                ])
            ),
            ("on_failure", .string(onFailure)), ("rollback_steps", .array(rollbackSteps.map(JSONValue.string))),
            ("depends_on", .array(dependsOn.map(JSONValue.string))),
            ("secrets", .array(secrets.map(\.json))),
        ]
        if let undoes { members.append(("undoes", .string(undoes))) }
        if let standardInput { members.append(("standard_input", .string(standardInput))) }
        return .object(members)
    }

    /// The step as the plan JSON shows it (the contract's fields and more).
    public var json: JSONValue {
        var retryMembers: [(key: String, value: JSONValue)] = [
            ("max_attempts", .int(retry.maxAttempts)), ("delays_seconds", .array(retry.delaysSeconds.map(JSONValue.int))),
            ("idempotent", .bool(retry.idempotent)), ("declared_max_attempts", .int(retry.declaredAttempts)),
        ]
        if let note = retry.note { retryMembers.append(("note", .string(note))) }
        var members: [(key: String, value: JSONValue)] = [
            ("number", .int(number)), ("handler", .string(handler)), ("description", .optional(description)),
            ("runtime", .string(runtime.rawValue)), ("action", .string(action)),
            ("target", .optional(target)), ("scope", .string(scope)),
            ("commands", Self.json(commands)), ("dry_run_commands", Self.json(dryRunCommands)),
        ]
        members.append(("environment", .object(environment.map { ($0.name, .string($0.value)) })))
        if runtime == .shell { members.append(("working_directory", .optional(workingDirectory))) }
        members += [
            ("mutating", .bool(mutating)), ("destructive", .bool(destructive)), ("fidelity", .string(fidelity.rawValue)),
            ("permissions", .array(permissions.map(JSONValue.string))),
            (
                "gate",
                .object([
                    ("required", .bool(gate.required)), ("approvals", .int(gate.approvals)), ("reason", .string(gate.reason)),
                    ("reasons", .array(gate.reasons.map(JSONValue.string))),
                ])
            ),
            ("timeout_seconds", .int(timeoutSeconds)),
            ("retry", .object(retryMembers)),
            ("on_failure", .string(onFailure)), ("rollback_steps", .array(rollbackSteps.map(JSONValue.string))),
            ("depends_on", .array(dependsOn.map(JSONValue.string))),
            ("secrets", .array(secrets.map(\.json))),
            ("worst_case_seconds", .int(worstCaseSeconds)),
        ]
        if let undoes { members.append(("undoes", .string(undoes))) }
        if let standardInput { members.append(("standard_input", .string(standardInput))) }
        return .object(members)
    }

    private static func json(_ commands: [[String]]) -> JSONValue {
        .array(commands.map { .array($0.map(JSONValue.string)) })
    }
}

/// A handler that will not run because its `when` is false (or it depends on one that will not).
public struct SkippedStep: Sendable, Equatable {
    public var handler: String
    public var reason: String

    /// `{"handler", "reason"}`.
    public var json: JSONValue { .object([("handler", .string(handler)), ("reason", .string(reason))]) }
}

/// One place a run changes: the blast radius, target by target.
public struct TouchedTarget: Sendable, Equatable {
    public var runtime: Runtime
    public var scope: String
    /// The target, or `(script)` for a shell script, whose effect is whatever it does.
    public var target: String
    /// The steps that change it (handlers and rollback steps).
    public var steps: [String]

    /// `{"runtime", "scope", "target", "steps"}`.
    public var json: JSONValue {
        .object([
            ("runtime", .string(runtime.rawValue)), ("scope", .string(scope)), ("target", .string(target)),
            ("steps", .array(steps.map(JSONValue.string))),
        ])
    }
}

/// The dry-run plan of a playbook with its inputs: what will run, in order, under which gates.
public struct Plan: Sendable {
    /// The playbook a plan is made from.
    public struct PlaybookInfo: Sendable, Equatable {
        public var name: String
        public var version: String
        /// As given on the command line; not part of the plan digest.
        public var path: String
        /// `sha256:` of the file's exact bytes.
        public var digest: String
        /// `metadata.author`: who may not approve their own playbook (part of the file's digest).
        public var author: String? = nil
    }

    /// Totals for the header and the summary line.
    public struct Summary: Sendable, Equatable {
        public var steps: Int
        public var gated: Int
        public var mutating: Int
        public var destructive: Int
        public var opaque: Int
        /// Handlers' worst case, plus the rollback steps when any handler rolls back on failure.
        public var worstCaseSeconds: Int
        /// Mutated targets (the blast radius).
        public var targets: [TouchedTarget]
    }

    public var playbook: PlaybookInfo
    public var mode: Playbook.Mode
    /// Approvals each gated step needs.
    public var approvalsRequired: Int
    public var allowSelfApproval: Bool
    /// How long a gated step waits for approvals before it expires; nil when the playbook sets none.
    public var approvalTimeoutSeconds: Int?
    /// Whether a run first runs the dry-run variants of simulated steps.
    public var dryRunFirst: Bool
    /// Every declared input, resolved (secrets as references only).
    public var inputs: [ResolvedInput]
    /// Handlers in execution order.
    public var steps: [PlanStep]
    public var skipped: [SkippedStep]
    /// Rollback steps in the order a full rollback runs them.
    public var rollback: [PlanStep]
    public var summary: Summary
    /// `sha256:` of the canonical executable content (see `executableJSON`).
    public var planDigest: String
    /// The playbook's signature as checked when the plan was made; nil when it was not checked.
    /// The verified signer's fingerprint is part of the digest: an approval is for a plan signed by that key.
    public var signature: PlaybookSignatureCheck? = nil
    /// The tools and files the steps depend on, as bound when planning; nil when the plan was
    /// made without an environment (then the digest covers the playbook alone).
    public var bindings: PlanBindings? = nil

    /// What an approver types: the plan digest's first 12 hex digits.
    public var fingerprint: String { Plan.fingerprint(of: planDigest) }

    /// The first 12 hex digits of a `sha256:` digest.
    public static func fingerprint(of digest: String) -> String {
        String(digest.dropFirst("sha256:".count).prefix(12))
    }

    /// The gated rollback steps that undo `step`: they wait for approvals of their own unless an
    /// approval of `step` includes them (`wpk approve --include-rollback`).
    public func gatedRollback(undoing step: String) -> [String] {
        rollback.filter { $0.undoes == step && $0.gate.required }.map(\.handler)
    }

    /// The handler or rollback step named `name`.
    public func step(named name: String) -> PlanStep? {
        steps.first { $0.handler == name } ?? rollback.first { $0.handler == name }
    }

    /// Everything that decides what would run, and nothing else (no path, playbook digest,
    /// descriptions or comments): the plan digest is the SHA-256 of its canonical bytes.
    public var executableJSON: JSONValue {
        Plan.executableJSON(
            mode: mode, approvalsRequired: approvalsRequired, allowSelfApproval: allowSelfApproval,
            approvalTimeoutSeconds: approvalTimeoutSeconds, dryRunFirst: dryRunFirst, inputs: inputs,
            steps: steps, skipped: skipped, rollback: rollback, signature: signature, bindings: bindings)
    }

    /// Binds the plan to `bindings` (computed in the planning process's environment): the plan
    /// digest then covers them too.
    public mutating func bind(_ bindings: PlanBindings) {
        self.bindings = bindings
        planDigest = ContentDigest.sha256(executableJSON.canonicalBytes)
    }

    // Static so the planner can hash before the Plan value exists, with one definition.
    static func executableJSON(
        mode: Playbook.Mode, approvalsRequired: Int, allowSelfApproval: Bool, approvalTimeoutSeconds: Int?,
        dryRunFirst: Bool, inputs: [ResolvedInput], steps: [PlanStep], skipped: [SkippedStep],
        rollback: [PlanStep], signature: PlaybookSignatureCheck?, bindings: PlanBindings? = nil
    ) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("plan_format", .int(1)),
            ("mode", .string(mode.rawValue)),
            ("approvals_required", .int(approvalsRequired)),
            ("allow_self_approval", .bool(allowSelfApproval)),
            ("approval_timeout_seconds", approvalTimeoutSeconds.map(JSONValue.int) ?? .null),
            ("dry_run_first", .bool(dryRunFirst)),
            ("inputs", .array(inputs.map { .object([("name", .string($0.name)), ("value", $0.value.json)]) })),
            ("steps", .array(steps.map(\.executableJSON))),
            ("skipped", .array(skipped.map { .string($0.handler) })),
            ("rollback", .array(rollback.map(\.executableJSON))),
        ]
        // Who signed it, when a trusted key did: an approval is for the playbook that key signed.
        // Every other state binds as "not verified", so a missing or an unchecked signature
        // (machines that trust no keys) plan alike.
        if let signature {
            members.append(("signed_by", signature.state == .verified ? .optional(signature.fingerprint) : .null))
        }
        if let bindings { members.append(("bindings", bindings.executableJSON)) }
        return .object(members)
    }

    /// The plan as `wpk plan --format json` prints it: the contract's shape, with more fields.
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("version", .int(1)),
            (
                "playbook",
                .object([
                    ("name", .string(playbook.name)), ("version", .string(playbook.version)),
                    ("path", .string(playbook.path)), ("digest", .string(playbook.digest)),
                ])
            ),
            ("mode", .string(mode.rawValue)),
            ("plan_digest", .string(planDigest)),
            ("fingerprint", .string(fingerprint)),
            ("approvals_required", .int(approvalsRequired)),
            ("allow_self_approval", .bool(allowSelfApproval)),
            ("approval_timeout_seconds", approvalTimeoutSeconds.map(JSONValue.int) ?? .null),
            ("dry_run_first", .bool(dryRunFirst)),
            ("inputs", .array(inputs.map(\.json))),
            ("steps", .array(steps.map(\.json))),
            ("skipped", .array(skipped.map(\.json))),
            ("rollback", .array(rollback.map(\.json))),
            (
                "summary",
                .object([
                    ("steps", .int(summary.steps)), ("gated", .int(summary.gated)), ("mutating", .int(summary.mutating)),
                    ("destructive", .int(summary.destructive)), ("opaque", .int(summary.opaque)),
                    ("worst_case_seconds", .int(summary.worstCaseSeconds)),
                    ("targets", .array(summary.targets.map(\.json))),
                ])
            ),
        ]
        if let signature { members.insert(("signature", signature.json), at: 3) }
        if let bindings { members.append(("bindings", bindings.json)) }
        // For each gated step, the gated rollback steps an approval with --include-rollback covers.
        let includable = steps.filter(\.gate.required).compactMap { step -> JSONValue? in
            let names = gatedRollback(undoing: step.handler)
            return names.isEmpty ? nil : .object([("step", .string(step.handler)), ("rollback", .array(names.map(JSONValue.string)))])
        }
        if !includable.isEmpty { members.append(("include_rollback", .array(includable))) }
        return .object(members)
    }
}
