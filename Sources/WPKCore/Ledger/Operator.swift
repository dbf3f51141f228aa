import Foundation

#if canImport(Glibc)
    import Glibc
    private typealias GroupEntry = Glibc.group
#elseif canImport(Darwin)
    import Darwin
    private typealias GroupEntry = Darwin.group
#endif

/// Who is acting: the OS account of the process, with where they came from.
///
/// `current()` is the only way wpk learns the operator: the effective uid through the password
/// database. No flag or environment variable changes it (`SSH_CONNECTION` only annotates the
/// source address), so nobody approves under another name without the OS account itself.
public struct Operator: Sendable, Hashable {
    /// Effective uid; nil only on records from a writer that did not store it.
    public var uid: Int?
    /// Account name from the password database (the uid in decimal when it has no entry).
    public var name: String
    /// Names of the groups the account belongs to (for `approver_groups`).
    public var groups: [String]
    /// The controlling terminal of standard input or standard error, when there is one.
    public var tty: String?
    /// The client address of `SSH_CONNECTION`, when the session came over SSH.
    public var sshSource: String?

    public init(uid: Int?, name: String, groups: [String] = [], tty: String? = nil, sshSource: String? = nil) {
        self.uid = uid
        self.name = name
        self.groups = groups
        self.tty = tty
        self.sshSource = sshSource
    }

    /// The identity used to tell operators apart: the uid when known, else the name.
    public var identity: String { uid.map { "uid:\($0)" } ?? "name:\(name)" }

    /// Whether two records were written by the same account.
    public func isSameAccount(as other: Operator) -> Bool { identity == other.identity }

    /// The operator of this process.
    public static func current() -> Operator {
        let uid = geteuid()
        var name = String(uid)
        var groups: [String] = []
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let pwName = entry.pw_name {
            name = String(cString: pwName)
            groups = groupNames(user: pwName, primary: entry.pw_gid)
        }
        return Operator(uid: Int(uid), name: name, groups: groups, tty: terminalName(), sshSource: sshSource())
    }

    static func groupNames(user: UnsafeMutablePointer<CChar>, primary: gid_t) -> [String] {
        var count: Int32 = 64
        var ids = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, primary, &ids, &count) < 0 {
            ids = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(user, primary, &ids, &count) >= 0 else { return [] }
        }
        var names: [String] = []
        for gid in ids.prefix(Int(count)) {
            var group = GroupEntry()
            var result: UnsafeMutablePointer<GroupEntry>?
            var buffer = [CChar](repeating: 0, count: 65536)
            if getgrgid_r(gid, &group, &buffer, buffer.count, &result) == 0, result != nil, let groupName = group.gr_name {
                names.append(String(cString: groupName))
            }
        }
        return names
    }

    private static func terminalName() -> String? {
        for fd in [STDIN_FILENO, STDERR_FILENO] where isatty(fd) == 1 {
            var buffer = [CChar](repeating: 0, count: 256)
            if ttyname_r(fd, &buffer, buffer.count) == 0 {
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        return nil
    }

    private static func sshSource() -> String? {
        guard let connection = ProcessInfo.processInfo.environment["SSH_CONNECTION"] else { return nil }
        let address = connection.split(separator: " ").first.map(String.init)
        // Only an address is stored; anything else in the variable is not trusted into the ledger.
        guard let address, address.count <= 64,
            address.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" || $0 == "%" })
        else { return nil }
        return address
    }
}
