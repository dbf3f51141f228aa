/// The diagnostics of a playbook's detached signature (WPK5xx). `specs/signature-codes.md`
/// documents each one; a test keeps the two in step.
public enum SignatureCode: String, Sendable, CaseIterable {
    case verified = "WPK501"
    case notChecked = "WPK502"
    case unsigned = "WPK503"
    case missing = "WPK504"
    case unreadable = "WPK505"
    case refusedReference = "WPK506"
    case malformed = "WPK507"
    case bad = "WPK508"
    case untrustedKey = "WPK509"
    case unsupportedAlgorithm = "WPK510"

    /// The severity where the machine policy does not require signatures; every code but
    /// WPK501 is an error where it does.
    public var severity: Diagnostic.Severity {
        switch self {
        case .verified, .notChecked, .unsigned: .info
        default: .warning
        }
    }

    /// The severity under a policy's `require_signed_playbooks`.
    public func severity(required: Bool) -> Diagnostic.Severity {
        guard required, self != .verified else { return severity }
        return .error
    }

    /// The kebab-case name of the code.
    public var name: String {
        switch self {
        case .verified: "signature-verified"
        case .notChecked: "signature-not-checked"
        case .unsigned: "playbook-unsigned"
        case .missing: "signature-file-missing"
        case .unreadable: "signature-file-unreadable"
        case .refusedReference: "signature-ref-refused"
        case .malformed: "signature-malformed"
        case .bad: "signature-does-not-verify"
        case .untrustedKey: "signature-key-untrusted"
        case .unsupportedAlgorithm: "signature-algorithm-unsupported"
        }
    }

    /// One sentence: what the code means (SARIF titles, the codes table).
    public var title: String {
        switch self {
        case .verified: "The playbook's signature verifies with a trusted key."
        case .notChecked: "The playbook's signature was not checked (a sigstore bundle, or no trusted keys on this machine)."
        case .unsigned: "The playbook declares no signature."
        case .missing: "The signature file the playbook names does not exist."
        case .unreadable: "The signature file cannot be read (not a regular file, too large, no permission)."
        case .refusedReference: "The signature's ref is an absolute path, a URL, or leaves the playbook's directory."
        case .malformed: "The signature file does not hold a signature of the declared algorithm."
        case .bad: "The signature does not verify: the file changed after signing, or another key signed it."
        case .untrustedKey: "No key this machine trusts could have made the signature."
        case .unsupportedAlgorithm: "The declared signature algorithm is not one wpk knows."
        }
    }
}
