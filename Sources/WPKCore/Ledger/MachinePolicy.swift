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

    public init(minApprovals: Int = 1, allowSelfApproval: Bool = false, approverGroups: [String]? = nil,
                allowAutoMode: Bool = false, gate: GateFloor = .mutating, ledger: String? = nil,
                ledgerPasswordFile: String? = nil, requireAppendOnly: Bool = false, allowedSigners: String? = nil,
                trustedKeys: String? = nil, requireSignedPlaybooks: Bool = false, serveTokenFile: String? = nil,
                source: String? = nil) {
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
    }

    /// What applies when no policy file exists: manual mode, one approval, no self-approval.
    public static let builtIn = MachinePolicy()

    /// The policy file wpk reads when `WPK_POLICY` is not set.
    public static let defaultPath = "/etc/wpk/policy.yaml"

    /// Loads the policy named by `WPK_POLICY`, else the default file, else the built-in defaults.
    /// Only the default file may be absent: a file named explicitly must exist.
    public static func load(environment: [String: String]) -> MachinePolicyStatus {
        if let named = environment["WPK_POLICY"], !named.isEmpty {
            return load(path: named, mayBeAbsent: false)
        }
        return load(path: defaultPath, mayBeAbsent: true)
    }

    /// Loads one policy file, failing closed: a file that is not owned by `trustedOwner` (root),
    /// is writable by group or others, or cannot be read or parsed gives `.unsafe`.
    public static func load(path: String, mayBeAbsent: Bool = true, trustedOwner: uid_t = 0) -> MachinePolicyStatus {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT && mayBeAbsent { return .loaded(.builtIn) }
            return .unsafe(path: path, reason: "cannot read it: \(String(cString: strerror(code)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { return .unsafe(path: path, reason: "it is not a regular file") }
        guard info.st_uid == trustedOwner else {
            return .unsafe(path: path, reason: "it is owned by uid \(info.st_uid), not by root; fix with: chown root \(path)")
        }
        guard info.st_mode & 0o022 == 0 else {
            return .unsafe(path: path, reason: "it is writable by group or others (mode \(String(info.st_mode & 0o7777, radix: 8))); fix with: chmod go-w \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .unsafe(path: path, reason: "cannot read it")
        }
        switch parse([UInt8](data), source: path) {
        case .success(let policy): return .loaded(policy)
        case .failure(let problem): return .unsafe(path: path, reason: problem.message)
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
            let where_ = "line \(entry.key.start.line)"
            switch entry.keyText {
            case "min_approvals":
                guard case .scalar(let s) = entry.value.content, case .number(let n) = s.value, let count = n.intValue, (1...100).contains(count) else {
                    return .failure(Problem(message: "min_approvals (\(where_)) must be an integer from 1 to 100"))
                }
                policy.minApprovals = count
            case "allow_self_approval":
                guard case .scalar(let s) = entry.value.content, case .bool(let b) = s.value else {
                    return .failure(Problem(message: "allow_self_approval (\(where_)) must be true or false"))
                }
                policy.allowSelfApproval = b
            case "approver_groups":
                guard let items = entry.value.sequence, !items.isEmpty, items.allSatisfy({ $0.string != nil }) else {
                    return .failure(Problem(message: "approver_groups (\(where_)) must be a non-empty list of group names"))
                }
                policy.approverGroups = items.compactMap(\.string)
            case "gate":
                guard let text = entry.value.string, let floor = GateFloor(rawValue: text) else {
                    return .failure(Problem(message: "gate (\(where_)) must be mutating or destructive"))
                }
                policy.gate = floor
            case "ledger":
                guard let text = entry.value.string,
                      text.hasPrefix("/") || text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") else {
                    return .failure(Problem(message: "ledger (\(where_)) must be an absolute file path or a postgresql:// URL"))
                }
                policy.ledger = text
            case "require_append_only", "require_signed_playbooks":
                guard case .scalar(let s) = entry.value.content, case .bool(let b) = s.value else {
                    return .failure(Problem(message: "\(entry.keyText) (\(where_)) must be true or false"))
                }
                if entry.keyText == "require_append_only" { policy.requireAppendOnly = b } else { policy.requireSignedPlaybooks = b }
            case "ledger_password_file", "allowed_signers", "trusted_keys", "serve_token_file":
                guard let text = entry.value.string, text.hasPrefix("/") else {
                    return .failure(Problem(message: "\(entry.keyText) (\(where_)) must be an absolute path"))
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
                default: return .failure(Problem(message: "mode (\(where_)) must be manual or auto"))
                }
            default:
                return .failure(Problem(message: "unknown setting \"\(DisplaySanitizer.sanitize(entry.keyText))\" (\(where_))"))
            }
        }
        return .success(policy)
    }
}

/// The machine policy, or why there is none wpk can trust (then every approval and run is refused).
public enum MachinePolicyStatus: Sendable, Equatable {
    case loaded(MachinePolicy)
    case unsafe(path: String, reason: String)
}
