import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The machine's floor for approvals, set by root in `/etc/wpk/policy.yaml`: a playbook may
/// ask for more, never for less. Every key is optional; `../shared/CONTRACT.md` lists them.
///
/// ```yaml
/// min_approvals: 2              # distinct principals per gated step (at least 1)
/// allow_self_approval: false    # may the author or the run's starter approve?
/// approver_groups: [sre, oncall] # Unix groups whose members may approve (absent: anyone)
/// mode: manual                  # manual: playbooks in auto mode are refused; auto: allowed
/// gate: mutating                # steps always gated: mutating | destructive
/// ledger: /var/lib/wpk/ledger.jsonl   # or postgresql://...; absent: the per-user file
/// ledger_password_file: /etc/wpk/ledger-password
/// require_append_only: false
/// allowed_signers: /etc/wpk/allowed_signers
/// trusted_keys: /etc/wpk/trusted-keys/
/// require_signed_playbooks: false
/// serve_token_file: /etc/wpk/serve-token
/// ```
public struct MachinePolicy: Sendable, Equatable {
    public var minApprovals: Int
    public var allowSelfApproval: Bool
    /// Groups whose members may approve or reject; nil lets any account decide.
    public var approverGroups: [String]?
    /// Whether playbooks may run in `auto` mode on this machine.
    public var allowAutoMode: Bool
    /// Which steps are gated whatever the playbook says.
    public var gate: GateFloor
    /// The team's ledger: an absolute file path or a `postgresql://` URL; nil for the per-user file.
    public var ledger: String?
    /// A root-readable file holding the ledger database's password.
    public var ledgerPasswordFile: String?
    /// Whether a file ledger without the append-only attribute is refused.
    public var requireAppendOnly: Bool
    /// The OpenSSH `allowed_signers` file; when set, decisions count only if signed by a principal listed there.
    public var allowedSigners: String?
    /// A directory of PEM public keys (`NAME.pub`) trusted for playbook signatures.
    public var trustedKeys: String?
    /// Whether a playbook without a valid trusted signature is refused.
    public var requireSignedPlaybooks: Bool
    /// The file holding the bearer token of `wpk serve`'s `/alertmanager`.
    public var serveTokenFile: String?
    /// The file the policy came from; nil for the built-in defaults.
    public var source: String?

    public init(
        minApprovals: Int = 1, allowSelfApproval: Bool = false, approverGroups: [String]? = nil,
        allowAutoMode: Bool = false, gate: GateFloor = .mutating, ledger: String? = nil,
        ledgerPasswordFile: String? = nil, requireAppendOnly: Bool = false, allowedSigners: String? = nil,
        trustedKeys: String? = nil, requireSignedPlaybooks: Bool = false, serveTokenFile: String? = nil,
        source: String? = nil
    ) {
        self.minApprovals = minApprovals
        self.allowSelfApproval = allowSelfApproval
        self.approverGroups = approverGroups
        self.allowAutoMode = allowAutoMode
        self.gate = gate
        self.ledger = ledger
        self.ledgerPasswordFile = ledgerPasswordFile
        self.requireAppendOnly = requireAppendOnly
        self.allowedSigners = allowedSigners
        self.trustedKeys = trustedKeys
        self.requireSignedPlaybooks = requireSignedPlaybooks
        self.serveTokenFile = serveTokenFile
        self.source = source
    }

    /// Which steps the policy gates whatever `requires_approval` says.
    public enum GateFloor: String, Sendable, Equatable {
        /// Every step the action catalogue marks as changing state (the default in manual mode).
        case mutating
        /// Only steps the catalogue marks as destructive.
        case destructive

        /// Whether this floor gates a step of a manual playbook whose action is `mutating` / `destructive`.
        public func gates(mutating: Bool, destructive: Bool) -> Bool {
            switch self {
            case .mutating: mutating
            case .destructive: destructive
            }
        }
    }

    /// What applies when no policy file exists: manual mode, one approval, no self-approval.
    public static let builtIn = MachinePolicy()

    /// The one policy file wpk reads. It is compiled in: no flag or environment variable names
    /// another, so an account cannot hand wpk a policy of its own.
    public static let path = "/etc/wpk/policy.yaml"

    /// Longest policy file read.
    static let maxFileBytes = 65_536

    /// Loads `/etc/wpk/policy.yaml`: the built-in defaults when it does not exist (single-user
    /// mode), `.unsafe` (refusing every approval and run) when it or a directory above it could
    /// have been written by anyone but root, or it does not parse.
    public static func load() -> MachinePolicyStatus {
        load(path: path)
    }

    /// Loads the policy at `path` with the checks of `load()`; tests reach it with `@testable`.
    static func load(path: String) -> MachinePolicyStatus {
        switch RootOwnedFile.read(path, maxBytes: maxFileBytes) {
        case .missing: return .loaded(.builtIn)
        case .refused(let reason): return .unsafe(path: path, reason: reason)
        case .contents(let bytes):
            switch parse(bytes, source: path) {
            case .success(let policy): return .loaded(policy)
            case .failure(let problem): return .unsafe(path: path, reason: problem.message)
            }
        }
    }

    /// A problem in a policy file's content.
    public struct Problem: Error, Sendable, Equatable {
        public var message: String
    }

    /// Reads policy YAML; unknown keys are errors, so a misspelt setting cannot silently weaken it.
    public static func parse(_ bytes: [UInt8], source: String?) -> Result<MachinePolicy, Problem> {
        let document: Document
        do {
            document = try YAMLLoader.load(bytes)
        } catch {
            return .failure(Problem(message: "it is not valid YAML: \(error)"))
        }
        var policy = MachinePolicy(source: source)
        if case .scalar(let s) = document.root.content, s.value == .null { return .success(policy) }
        guard let entries = document.root.mapping else { return .failure(Problem(message: "it is not a mapping of settings")) }
        for entry in entries {
            let position = "line \(entry.key.start.line)"
            switch entry.keyText {
            case "min_approvals":
                guard case .scalar(let s) = entry.value.content, case .number(let n) = s.value, let count = n.intValue,
                    (1...100).contains(count)
                else {
                    return .failure(Problem(message: "min_approvals (\(position)) must be an integer from 1 to 100"))
                }
                policy.minApprovals = count
            case "allow_self_approval":
                guard case .scalar(let s) = entry.value.content, case .bool(let b) = s.value else {
                    return .failure(Problem(message: "allow_self_approval (\(position)) must be true or false"))
                }
                policy.allowSelfApproval = b
            case "approver_groups":
                guard let items = entry.value.sequence, !items.isEmpty, items.allSatisfy({ $0.string != nil }) else {
                    return .failure(Problem(message: "approver_groups (\(position)) must be a non-empty list of group names"))
                }
                policy.approverGroups = items.compactMap(\.string)
            case "gate":
                guard let text = entry.value.string, let floor = GateFloor(rawValue: text) else {
                    return .failure(Problem(message: "gate (\(position)) must be mutating or destructive"))
                }
                policy.gate = floor
            case "ledger":
                guard let text = entry.value.string,
                    text.hasPrefix("/") || text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
                else {
                    return .failure(Problem(message: "ledger (\(position)) must be an absolute file path or a postgresql:// URL"))
                }
                policy.ledger = text
            case "require_append_only", "require_signed_playbooks":
                guard case .scalar(let s) = entry.value.content, case .bool(let b) = s.value else {
                    return .failure(Problem(message: "\(entry.keyText) (\(position)) must be true or false"))
                }
                if entry.keyText == "require_append_only" { policy.requireAppendOnly = b } else { policy.requireSignedPlaybooks = b }
            case "ledger_password_file", "allowed_signers", "trusted_keys", "serve_token_file":
                guard let text = entry.value.string, text.hasPrefix("/") else {
                    return .failure(Problem(message: "\(entry.keyText) (\(position)) must be an absolute path"))
                }
                switch entry.keyText {
                case "ledger_password_file": policy.ledgerPasswordFile = text
                case "allowed_signers": policy.allowedSigners = text
                case "trusted_keys": policy.trustedKeys = text
                default: policy.serveTokenFile = text
                }
            case "mode":
                switch entry.value.string {
                case "manual": policy.allowAutoMode = false
                case "auto": policy.allowAutoMode = true
                default: return .failure(Problem(message: "mode (\(position)) must be manual or auto"))
                }
            default:
                return .failure(Problem(message: "unknown setting \"\(DisplaySanitizer.sanitize(entry.keyText))\" (\(position))"))
            }
        }
        return .success(policy)
    }
}

/// The machine policy, or why there is none wpk can trust (then every approval and run is refused).
public enum MachinePolicyStatus: Sendable, Equatable {
    case loaded(MachinePolicy)
    case unsafe(path: String, reason: String)

    /// The gate floor validation and planning apply: the policy's, or the strictest when the
    /// policy cannot be trusted (nothing runs then anyway; diagnostics should not be looser).
    public var gateFloor: MachinePolicy.GateFloor {
        if case .loaded(let policy) = self { return policy.gate }
        return .mutating
    }
}
