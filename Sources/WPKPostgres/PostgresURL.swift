import Foundation
import WPKCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where a PostgreSQL ledger lives, read from a `postgresql://` URL as libpq spells it:
/// `postgresql://USER@HOST:PORT/DATABASE`, or a Unix socket with `postgresql://USER@/DATABASE?host=/run/postgresql`
/// (or the directory percent-encoded as the host). A password never comes from the URL: it is
/// read from the root-readable file the policy names (`ledger_password_file`).
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        /// The socket file `DIRECTORY/.s.PGSQL.PORT`.
        case unixSocket(directory: String, port: Int)
        case tcp(host: String, port: Int)
    }

    public var user: String
    public var database: String
    public var endpoint: Endpoint
    /// `sslmode=require` (TCP only): refuse a server that does not speak TLS.
    public var requireTLS: Bool

    public init(user: String, database: String, endpoint: Endpoint, requireTLS: Bool = false) {
        self.user = user
        self.database = database
        self.endpoint = endpoint
        self.requireTLS = requireTLS
    }

    /// Whether `text` names a PostgreSQL ledger rather than a file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Reads a URL, refusing anything wpk would not use exactly as written.
    public init(parsing text: String) throws(LedgerError) {
        func refuse(_ why: String) -> LedgerError {
            LedgerError(.io, "the ledger URL \(DisplaySanitizer.sanitize(text)) \(why)")
        }
        guard PostgresURL.isPostgres(text), let components = URLComponents(string: text) else {
            throw refuse("is not a postgresql:// URL")
        }
        if components.password != nil {
            throw refuse("contains a password; put it in the file the policy's ledger_password_file names instead")
        }
        guard let user = components.user, PostgresURL.isPlainName(user) else {
            throw refuse(
                "must name the database role wpk signs in as (letters, digits, _; for example postgresql://wpk@/wpk?host=/run/postgresql)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard PostgresURL.isPlainName(database) else {
            throw refuse("must name a database (letters, digits, _) as its path")
        }
        var socketDirectory: String?
        var port = components.port ?? 5432
        var requireTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("host", let value?) where value.hasPrefix("/"): socketDirectory = value
            case ("port", let value?):
                guard let number = Int(value), (1...65535).contains(number) else { throw refuse("has an invalid port") }
                port = number
            case ("sslmode", "disable"): requireTLS = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): requireTLS = true
            default: throw refuse("has a setting wpk does not know: \(DisplaySanitizer.sanitize(item.name))")
            }
        }
        let host = components.percentEncodedHost.flatMap { $0.removingPercentEncoding } ?? ""
        if host.hasPrefix("/") { socketDirectory = host }
        if let socketDirectory {
            guard !requireTLS else { throw refuse("asks for TLS on a Unix socket") }
            self.init(user: user, database: database, endpoint: .unixSocket(directory: socketDirectory, port: port))
        } else {
            guard !host.isEmpty else { throw refuse("names neither a host nor a socket directory (?host=/run/postgresql)") }
            self.init(user: user, database: database, endpoint: .tcp(host: host, port: port), requireTLS: requireTLS)
        }
    }

    /// A role or database name wpk quotes nowhere: lowercase letters, digits and `_`, at most 63 bytes.
    static func isPlainName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }

    /// The same server and database as another role.
    public func signingIn(as user: String) -> PostgresURL {
        var copy = self
        copy.user = user
        return copy
    }

    /// The same server, another database (the administrator starts in `postgres`).
    public func database(_ name: String) -> PostgresURL {
        var copy = self
        copy.database = name
        return copy
    }

    /// The URL as a person reads it (never with a password, since it never has one).
    public var description: String {
        switch endpoint {
        case .unixSocket(let directory, let port):
            return "postgresql://\(user)@/\(database)?host=\(directory)" + (port == 5432 ? "" : "&port=\(port)")
        case .tcp(let host, let port):
            return "postgresql://\(user)@\(host)" + (port == 5432 ? "" : ":\(port)") + "/\(database)"
                + (requireTLS ? "?sslmode=require" : "")
        }
    }
}

/// Reads the ledger's database password from the file the policy names, refusing a file others
/// could have written or read: owned by root, no access for others, not writable by the group.
public enum PostgresPasswordFile {
    public static func read(_ path: String, trustedOwner: uid_t = 0) throws(LedgerError) -> String {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw LedgerError(.io, "cannot read the ledger password file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw LedgerError(.notRegularFile, "the ledger password file \(path) is not a regular file")
        }
        guard info.st_uid == trustedOwner, info.st_mode & 0o027 == 0 else {
            throw LedgerError(
                .unsafePermissions,
                "the ledger password file \(path) must be owned by root and neither readable by others nor writable by its group (mode \(String(info.st_mode & 0o7777, radix: 8))); fix with: chown root \(path) && chmod 0640 \(path)"
            )
        }
        var bytes = [UInt8](repeating: 0, count: 1025)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        guard n >= 0 else { throw LedgerError(.io, "cannot read the ledger password file \(path): \(String(cString: strerror(errno)))") }
        guard n <= 1024 else { throw LedgerError(.io, "the ledger password file \(path) is longer than 1024 bytes") }
        // One line; a trailing newline is not part of the password.
        let text = String(decoding: bytes[..<n], as: UTF8.self)
        let password = text.hasSuffix("\n") ? String(text.dropLast()) : text
        guard !password.isEmpty, !password.contains("\n") else {
            throw LedgerError(.io, "the ledger password file \(path) must hold the password on one line")
        }
        return password
    }
}
