import Foundation
import PostgresNIO
import WPKCore

#if canImport(Glibc)
    import Glibc
#endif

/// One blocking connection to PostgreSQL. wpk's ledger calls are synchronous (the run, the CLI
/// and the TUI call them from their own threads), so each query waits for its result here.
final class PostgresSession: @unchecked Sendable {
    let connection: PostgresConnection
    let url: PostgresURL

    /// Quiet: wpk reports failures itself, in its own words.
    static let logger: Logger = {
        var logger = Logger(label: "wpk.postgres")
        logger.logLevel = .critical
        return logger
    }()

    private init(connection: PostgresConnection, url: PostgresURL) {
        self.connection = connection
        self.url = url
    }

    deinit {
        try? connection.close().wait()
    }

    /// Connects and signs in. `account` (root only) connects with that OS account's effective ids,
    /// so the server's peer authentication sees the local `postgres` administrator.
    static func connect(
        _ url: PostgresURL, password: String?, account: (uid: uid_t, gid: gid_t)? = nil,
        timeoutSeconds: Int64 = 10
    ) throws(PostgresFailure) -> PostgresSession {
        var configuration: PostgresConnection.Configuration
        switch url.endpoint {
        case .unixSocket(let directory, let port):
            configuration = .init(
                unixSocketPath: "\(directory)/.s.PGSQL.\(port)", username: url.user, password: password, database: url.database)
        case .tcp(let host, let port):
            var tls = PostgresConnection.Configuration.TLS.disable
            if url.requireTLS {
                do {
                    tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                } catch {
                    throw PostgresFailure(.connection, "cannot set up TLS for \(url): \(error)")
                }
            }
            configuration = .init(host: host, port: port, username: url.user, password: password, database: url.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(timeoutSeconds)
        let connect = {
            try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                id: 1, logger: logger
            ).wait()
        }
        do {
            if let account {
                // Peer authentication reads the credentials the socket had when it connected.
                guard setegid(account.gid) == 0, seteuid(account.uid) == 0 else {
                    let code = errno
                    _ = seteuid(0)
                    _ = setegid(0)
                    throw PostgresFailure(
                        .connection,
                        "cannot act as uid \(account.uid) to sign in by peer authentication: \(String(cString: strerror(code)))")
                }
                defer {
                    _ = seteuid(0)
                    _ = setegid(0)
                }
                return PostgresSession(connection: try connect(), url: url)
            }
            return PostgresSession(connection: try connect(), url: url)
        } catch let failure as PostgresFailure {
            throw failure
        } catch {
            throw PostgresFailure(error, doing: "connect to \(url)")
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ query: PostgresQuery, _ what: @autoclosure () -> String) throws(PostgresFailure) -> [PostgresRow] {
        do {
            return try connection.query(query, logger: PostgresSession.logger).wait().rows
        } catch {
            throw PostgresFailure(error, doing: what())
        }
    }

    /// Runs one statement, handing each row to `onRow` as it arrives (no array of 100,000 rows).
    func forEachRow(
        _ query: PostgresQuery, _ what: @autoclosure () -> String,
        _ onRow: @escaping @Sendable (PostgresRow) throws -> Void
    ) throws(PostgresFailure) {
        do {
            _ = try connection.query(query, logger: PostgresSession.logger, onRow).wait()
        } catch let failure as PostgresFailure {
            throw failure
        } catch {
            throw PostgresFailure(error, doing: what())
        }
    }

    var isClosed: Bool { connection.isClosed }
}

/// Why a PostgreSQL call failed, sorted by what wpk can do about it.
struct PostgresFailure: Error, CustomStringConvertible {
    enum Kind {
        /// The connection could not be made or was lost: reconnect and try again.
        case connection
        /// A serialization failure, deadlock or unique-key race: run the transaction again.
        case conflict
        /// The server refused: the schema is missing, privileges, a trigger. Not retried.
        case refused
        /// The ledger's content is refused (damaged, rolled back): reported as it is, not retried.
        case ledger(LedgerError)
    }

    var kind: Kind
    var message: String
    /// The SQLSTATE the server sent, if it sent one.
    var sqlState: String?

    init(_ kind: Kind, _ message: String, sqlState: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
    }

    init(_ error: any Error, doing what: String) {
        guard let psql = error as? PSQLError else {
            self.init(.connection, "cannot \(what): \(error)")
            return
        }
        if let server = psql.serverInfo, let state = server[.sqlState] {
            let text = DisplaySanitizer.sanitize(server[.message] ?? "error \(state)")
            switch state {
            case "40001", "40P01", "23505":
                self.init(.conflict, "cannot \(what): \(text)", sqlState: state)
            case _ where state.hasPrefix("08") || state.hasPrefix("57"):
                // Connection exceptions and operator intervention (a server shutting down or restarting).
                self.init(.connection, "cannot \(what): \(text)", sqlState: state)
            default:
                self.init(.refused, "cannot \(what): the server refused: \(text) (SQLSTATE \(state))", sqlState: state)
            }
            return
        }
        switch psql.code {
        case .authMechanismRequiresPassword:
            self.init(.refused, "cannot \(what): the server asks for a password; name a ledger_password_file in the policy")
        case .unsupportedAuthMechanism, .saslError:
            self.init(.refused, "cannot \(what): authentication failed (\(psql.code))")
        default:
            self.init(.connection, "cannot \(what): \(psql.code)\(psql.underlying.map { " (\($0))" } ?? "")")
        }
    }

    var description: String { message }

    init(_ error: LedgerError) {
        self.init(.ledger(error), error.message)
    }

    var ledgerError: LedgerError {
        if case .ledger(let error) = kind { return error }
        return LedgerError(.io, message)
    }
}
