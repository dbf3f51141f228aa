/// Secrets are references to secret inputs, never text in the playbook.
enum SecretRules {
    static let plainSecret = RuleInfo(
        "WPK313", .error, "plain-text-secret", "A secret is written as text instead of a reference to a secret input.")
    static let secretInArgument = RuleInfo(
        "WPK331", .error, "secret-in-argument",
        "A secret input is referenced where its value would be part of a command's argument vector, which every local account can read in /proc/PID/cmdline."
    )
    static let rules = [plainSecret, secretInArgument]

    /// Where an action takes a secret without putting it in its argv: a script's text (the
    /// planner turns references into `"${WPK_SECRET_N}"` from the environment), `docker run`'s
    /// `env` values (`--env NAME`, the value in the docker client's environment) and one
    /// `vault-write` data field (`key=-`, the value on standard input).
    static func passesSecretsOutsideArgv(_ spec: ActionSpec, param: String) -> Bool {
        switch (spec.runtime, spec.name, param) {
        case (.shell, "script", "script"), (.docker, "run", "env"), (.shell, "vault-write", "data"): true
        default: false
        }
    }

    /// Whether `text` references one of `secretInputs`.
    private static func holdsSecretReference(_ text: String, _ secretInputs: Set<String>) -> Bool {
        Templates.references(in: text).contains { !Set($0.inputNames).isDisjoint(with: secretInputs) }
    }

    /// Secret references in a step's target and params that would land in an argument vector,
    /// each reported at the reference itself, naming the step and the argument.
    static func checkSecretArguments(_ context: RuleContext) -> [Diagnostic] {
        let secretInputs = Set(context.playbook.inputs.filter(\.secret).map(\.name.value))
        guard !secretInputs.isEmpty else { return [] }
        var out: [Diagnostic] = []
        for (index, (step, _)) in context.steps.enumerated() {
            guard let spec = step.actionSpec else { continue }
            // vault reads one field's value from standard input (`key=-`): the planner takes the
            // first in key order; any other has no way in but argv.
            let stdinKey =
                spec.name == "vault-write"
                ? context.stepField(index, "params")?["data"]?.mapping?
                    .filter { entry in entry.value.scalar.map { holdsSecretReference($0.text, secretInputs) } ?? false }
                    .map(\.keyText).min() : nil
            var places: [(node: Node, pointer: String, argument: String, allowed: Bool)] = []
            if let target = context.stepField(index, "target") { places.append((target, step.pointer + "/target", "its target", false)) }
            for entry in context.stepField(index, "params")?.mapping ?? [] {
                let allowed = passesSecretsOutsideArgv(spec, param: entry.keyText)
                places.append(
                    (entry.value, JSONPointer.appending(step.pointer + "/params", entry.keyText), "parameter \(entry.keyText)", allowed))
            }
            for place in places {
                forEachNode(place.node, pointer: place.pointer) { node, at in
                    guard !at.isKey, let scalar = node.scalar else { return }
                    let references = Templates.references(in: scalar.text)
                    let secret = references.filter { !Set($0.inputNames).isDisjoint(with: secretInputs) }
                    guard !secret.isEmpty else { return }
                    var why = "which any local account can read in /proc/PID/cmdline while it runs"
                    var allowed = place.allowed
                    if allowed, spec.name == "vault-write", at.key != stdinKey {
                        allowed = false
                        why = "and vault-write passes only one secret field, on standard input; write one secret per vault-write step"
                    }
                    guard !allowed else { return }
                    let marks = Templates.marks(of: references, in: node, lines: context.lines)
                    for reference in secret {
                        let mark = references.firstIndex(where: { $0.utf8Range == reference.utf8Range }).map { marks[$0] } ?? node.start
                        let name = reference.inputNames.first { secretInputs.contains($0) } ?? reference.expression
                        out.append(
                            context.report(
                                secretInArgument,
                                "secret input \"\(name)\" would be in the argument vector of step \"\(step.displayName)\" (\(place.argument)), \(why); pass secrets only in a script, docker run env or one vault-write data field",
                                pointer: at.pointer, mark: mark))
                    }
                }
            }
        }
        return out
    }

    /// Parts of a key or input name that say it holds a secret.
    static let secretWords = [
        "password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "access_key", "credential", "client_secret",
    ]

    /// Secret-named inputs that are not secret, and secret-named keys in step params and the
    /// shell environment that hold text instead of a reference to a secret input.
    static func checkNamedSecrets(_ context: RuleContext) -> [Diagnostic] {
        let playbook = context.playbook
        let secretInputs = Set(playbook.inputs.filter(\.secret).map(\.name.value))
        var out: [Diagnostic] = []

        // Inputs named like secrets must be declared secret (a default or --set would put the
        // value in a file, a shell history or a process list).
        for input in playbook.inputs where !input.secret && looksSecret(input.name.value) {
            out.append(
                context.report(
                    plainSecret,
                    "input \"\(input.name.value)\" looks like a secret but is not declared one; add secret: true and a secret_ref (env:NAME or vault:PATH#KEY)",
                    at: input.name))
        }

        // Keys named like secrets, in step params and the shell environment.
        var scopes: [(Node, String)] = []
        if let env = context.root["spec"]?["runtime"]?["shell"]?["environment"] { scopes.append((env, "/spec/runtime/shell/environment")) }
        for (index, (step, _)) in context.steps.enumerated() {
            if let params = context.stepField(index, "params") { scopes.append((params, step.pointer + "/params")) }
        }
        for (scope, base) in scopes {
            forEachNode(scope, pointer: base) { node, at in
                guard !at.isKey, let text = node.scalar?.text, !text.isEmpty, let last = at.key, looksSecret(last) else { return }
                if let problem = Self.problem(value: text, secretInputs: secretInputs) {
                    out.append(context.report(plainSecret, "\"\(last)\" \(problem)", pointer: at.pointer, mark: node.start))
                }
            }
        }
        return out
    }

    /// Values that are credentials by their shape, wherever they are: one scalar of the shared
    /// walk (see `PlaybookRules.check`); `reported` holds the pointers `checkNamedSecrets` flagged.
    static func visitForCredentials(
        _ scalar: Scalar, _ node: Node, _ at: NodeVisit, _ context: RuleContext,
        reported: Set<String>, into out: inout [Diagnostic]
    ) {
        guard !at.isKey, scalar.text.utf8.count >= 16, let kind = credentialShape(scalar.text) else { return }
        let pointer = at.pointer
        guard !reported.contains(pointer) else { return }
        out.append(
            context.report(
                plainSecret,
                "this value looks like \(kind); never write credentials in a playbook: declare a secret input with a secret_ref and write ${{ inputs.NAME }}",
                pointer: pointer, mark: node.start))
    }

    static func looksSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        let bytes = lower.utf8
        for suffix in notSecretSuffixes where bytes.count >= suffix.count && bytes.suffix(suffix.count).elementsEqual(suffix) {
            return false
        }
        return secretWords.contains { lower.containsBytes($0) }
    }

    /// Name endings that say the value is where a secret is, not the secret itself.
    private static let notSecretSuffixes: [[UInt8]] = ["_ref", "_input", "_file", "_path", "_name"].map { Array($0.utf8) }

    /// Why a value under a secret-named key is not a proper reference, or nil.
    private static func problem(value: String, secretInputs: Set<String>) -> String? {
        let references = Templates.references(in: value)
        guard !references.isEmpty else {
            return
                "holds a secret as plain text; declare a secret input (secret: true, secret_ref: env:NAME or vault:PATH#KEY) and write ${{ inputs.NAME }} here"
        }
        for reference in references {
            for input in reference.inputNames where !secretInputs.contains(input) {
                return "takes input \"\(input)\", which is not declared secret; add secret: true and a secret_ref to that input"
            }
        }
        return nil
    }

    static let credentialMarkers = [
        "-----BEGIN", "AKIA", "ghp_", "gho_", "ghs_", "github_pat_", "xoxb-", "xoxp-", "xoxa-", "hvs.", "hvb.", "glpat-",
    ]

    static let credentialMarkerBytes: [[UInt8]] = credentialMarkers.map { Array($0.utf8) }

    /// Whether any of `credentialMarkers` occurs in `text`: one pass over its bytes, trying only
    /// the markers that start with the byte at hand.
    static func holdsCredentialMarker(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count >= 2 else { return false }
            for i in 0..<(bytes.count - 1) {
                // The markers' first two bytes: -- AK gh gi gl hv xo. Letters such as g and h are
                // common in text; checking the pair first keeps the marker loop for real candidates.
                switch (bytes[i], bytes[i + 1]) {
                case (0x2D, 0x2D), (0x41, 0x4B), (0x67, 0x68), (0x67, 0x69), (0x67, 0x6C), (0x68, 0x76), (0x78, 0x6F): break
                default: continue
                }
                let byte = bytes[i]
                for marker in credentialMarkerBytes where marker[0] == byte && marker.count <= bytes.count - i {
                    var k = 1
                    while k < marker.count && bytes[i + k] == marker[k] { k += 1 }
                    if k == marker.count { return true }
                }
            }
            return false
        }
    }

    /// The kind of credential `text` has the shape of, or nil. Prefix checks only: linear time.
    static func credentialShape(_ text: String) -> String? {
        // Most scalars hold none of the prefixes; skip them without splitting.
        guard holdsCredentialMarker(text) else { return nil }
        if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") { return "a private key" }
        let words = text.split(whereSeparator: { " \t\n\"'=:,".contains($0) })
        for word in words {
            let w = String(word)
            if w.hasPrefix("AKIA") && w.count == 20 && w.dropFirst(4).allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) {
                return "an AWS access key id"
            }
            if (w.hasPrefix("ghp_") || w.hasPrefix("gho_") || w.hasPrefix("ghs_") || w.hasPrefix("github_pat_")) && w.count >= 36 {
                return "a GitHub token"
            }
            if (w.hasPrefix("xoxb-") || w.hasPrefix("xoxp-") || w.hasPrefix("xoxa-")) && w.count >= 24 { return "a Slack token" }
            if (w.hasPrefix("hvs.") || w.hasPrefix("hvb.")) && w.count >= 24 { return "a Vault token" }
            if w.hasPrefix("glpat-") && w.count >= 24 { return "a GitLab token" }
        }
        return nil
    }
}
