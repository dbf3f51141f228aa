import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which signatures the machine policy asks for on decisions, read once per check.
public enum SignerPolicy: Sendable {
    /// The policy names no `allowed_signers` (single-user mode): unsigned decisions count.
    case unsigned
    /// Decisions count only when signed by a principal this file lists.
    case signed(AllowedSigners)
    /// The policy names a file wpk cannot trust or read: no decision counts (fail closed).
    case unavailable(String)

    /// The signers of `policy`: the file is read again on every call, so an edit by root (a key
    /// removed) applies to the next approval counted.
    public static func of(_ policy: MachinePolicy) -> SignerPolicy {
        guard let path = policy.allowedSigners else { return .unsigned }
        do {
            return .signed(try AllowedSigners.load(path: path))
        } catch {
            return .unavailable(error.description)
        }
    }

    /// The signers of a policy status (nil signers for an unsafe policy, which refuses everything anyway).
    public static func of(_ status: MachinePolicyStatus) -> SignerPolicy {
        if case .loaded(let policy) = status { return of(policy) }
        return .unsigned
    }

    /// The principal a record's signature proves, checked in Swift (never by ssh-keygen): the
    /// signature is over the record's `signedContent` in namespace `wpk-decision`, made by the key
    /// the record names, and `allowed_signers` lists that key for the record's principal at the
    /// record's time. In single-user mode the principal is taken as written (unverified; nil when absent).
    public func principal(of record: LedgerRecord) -> Result<String?, SSHSignatureError> {
        switch self {
        case .unsigned:
            return .success(record.principal)
        case .unavailable(let why):
            return .failure(.unreadableAllowedSigners(path: "allowed_signers", reason: why))
        case .signed(let signers):
            return SignerPolicy.verify(record, signers: signers).map { $0 }
        }
    }

    /// Whether unsigned decisions count.
    public var requiresSignatures: Bool {
        if case .unsigned = self { return false }
        return true
    }

    /// `SignerPolicy.principal(of:)` for a file of signers.
    public static func verify(_ record: LedgerRecord, signers: AllowedSigners) -> Result<String, SSHSignatureError> {
        guard let armored = record.signature, let principal = record.principal, let claimedKey = record.key else {
            return .failure(.unsigned)
        }
        do throws(SSHSignatureError) {
            let signature = try SSHSignature(armored: armored)
            guard signature.publicKey.fingerprint == claimedKey else {
                throw .keyMismatch(claimed: claimedKey, signed: signature.publicKey.fingerprint)
            }
            try signature.verify(message: record.signedContent, namespace: SSHSigner.decisionNamespace)
            switch signers.authorize(
                principal: principal, key: signature.publicKey, namespace: SSHSigner.decisionNamespace, at: record.time)
            {
            case .success: return .success(principal)
            case .failure(let error): throw error
            }
        } catch {
            return .failure(error)
        }
    }
}

/// One person as the approval rules see them: an OS account and, where known, a verified
/// principal. Two records are the same person when they share the account or the principal,
/// so neither two principals on one account nor one principal on two accounts makes two people.
public struct Person: Sendable, Equatable {
    public var account: Operator
    public var principal: String?

    public init(account: Operator, principal: String?) {
        self.account = account
        self.principal = principal
    }

    /// How messages name the person: `principal (account)`, or the account alone.
    public var displayName: String {
        let account = DisplaySanitizer.sanitize(self.account.name)
        return principal.map { "\(DisplaySanitizer.sanitize($0)) (\(account))" } ?? account
    }

    /// Whether `other` is the same person (shared account or shared principal).
    public func isSame(as other: Person) -> Bool {
        if account.isSameAccount(as: other.account) { return true }
        if let principal, principal == other.principal { return true }
        return false
    }

    /// Whether this person is the playbook's `metadata.author`: the author text, the address
    /// inside `Name <address>`, or that address's local part, compared with the principal and
    /// the account name (so `alice@example.com` is the account `alice` and the principal
    /// `alice@example.com`).
    public func isAuthor(_ author: String) -> Bool {
        let names = Person.authorNames(author)
        if names.contains(account.name) { return true }
        if let principal, names.contains(principal) { return true }
        return false
    }

    static func authorNames(_ author: String) -> Set<String> {
        var names: Set<String> = [author.trimmingCharacters(in: .whitespaces)]
        var address = author.trimmingCharacters(in: .whitespaces)
        if let open = address.lastIndex(of: "<"), let close = address.lastIndex(of: ">"), open < close {
            address = String(address[address.index(after: open)..<close])
        }
        names.insert(address)
        if let at = address.firstIndex(of: "@") { names.insert(String(address[..<at])) }
        names.remove("")
        return names
    }
}

extension Operator {
    /// The groups of the account with `uid` as the group database says now (nil when the uid
    /// has no account): what `approver_groups` is checked against when a run counts an approval,
    /// whatever the approver's own environment was.
    public static func groups(ofUID uid: Int) -> [String]? {
        guard uid >= 0, uid <= Int(UInt32.max) else { return nil }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid_t(uid), &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else {
            return nil
        }
        return groupNames(user: name, primary: entry.pw_gid)
    }
}
