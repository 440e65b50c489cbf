import Connectors
import Logging
import PostgresNIO

/// One connection per `check`, `discover` or `read`, and every postgres-nio failure turned
/// into a `ConnectorError` an operator can act on. Only calls into postgres-nio are mapped:
/// the sink's errors and `CancellationError` pass through as they are.
extension PostgresSource {
    /// Runs `body` on a fresh connection and closes it however `body` ends.
    func withConnection<Value>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        let connection = try await connect()
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func connect() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw mapped(error, object: nil, position: nil)
        }
    }

    /// Starts `query`; its rows follow through `next`.
    func run(_ query: PostgresQuery, on connection: PostgresConnection, object: PostgresObject? = nil, rowsRead: Int?) async throws -> PostgresRowSequence {
        do {
            return try await connection.query(query, logger: logger)
        } catch {
            throw mapped(error, object: object ?? self.object, position: rowsRead.map { "after row \($0)" })
        }
    }

    func next(_ rows: inout PostgresRowSequence.AsyncIterator, object: PostgresObject? = nil, rowsRead: Int?) async throws -> PostgresRow? {
        do {
            return try await rows.next()
        } catch {
            throw mapped(error, object: object ?? self.object, position: rowsRead.map { "after row \($0)" })
        }
    }

    // MARK: - Mapping

    private var endpoint: String { "\(configuration.host ?? "?"):\(configuration.port ?? 5432)" }

    private func mapped(_ error: any Error, object: PostgresObject?, position: String?) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        guard let error = error as? PSQLError else {
            return ConnectorError(.connection, connector: connector, object: endpoint, "cannot connect: \(error)")
        }
        if error.code == .server, let server = error.serverInfo {
            return serverError(server, object: object, position: position)
        }
        return clientError(error, object: object, position: position)
    }

    /// A server's ErrorResponse, by SQLSTATE class. The server's messages name roles,
    /// databases and tables, never a password.
    private func serverError(_ server: PSQLError.ServerInfo, object: PostgresObject?, position: String?) -> ConnectorError {
        let state = server[.sqlState] ?? "?????"
        let message = server[.message] ?? "the server reported an error"
        let detail = [server[.detail], server[.hint].map { "hint: \($0)" }].compactMap { $0 }.joined(separator: "; ")
        let full = "\(message) (SQLSTATE \(state))" + (detail.isEmpty ? "" : "; \(detail)")
        let user = configuration.username
        let database = configuration.database ?? user
        switch state {
        case "28P01":
            return ConnectorError(.authentication, connector: connector, object: endpoint,
                                  "password authentication failed for user \"\(user)\"; check user and password")
        case "28000":
            return ConnectorError(.authentication, connector: connector, object: endpoint, "\(full); check user, password and the server's pg_hba.conf")
        case "3D000":
            return ConnectorError(.notFound, connector: connector, object: "database \(database)", "\(full); check database")
        case "42P01":
            return ConnectorError(.notFound, connector: connector, object: object?.label, position: position, "\(full); check table")
        case "42501":
            return ConnectorError(.authentication, connector: connector, object: object?.label, position: position,
                                  "\(full); grant user \"\(user)\" the privileges it needs")
        case _ where state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P"):
            return ConnectorError(.connection, connector: connector, object: object?.label ?? endpoint, position: position, full)
        default:
            return ConnectorError(.fetch, connector: connector, object: object?.label ?? endpoint, position: position, full)
        }
    }

    /// A failure on this side of the wire: the connection, TLS, or an authentication method
    /// the client cannot answer.
    private func clientError(_ error: PSQLError, object: PostgresObject?, position: String?) -> ConnectorError {
        let reason = error.underlying.map { "\($0)" } ?? "\(error.code)"
        switch error.code {
        case .sslUnsupported:
            return ConnectorError(.connection, connector: connector, object: endpoint, "the server does not offer TLS and sslmode is require; use sslmode prefer or disable, or enable ssl on the server")
        case .authMechanismRequiresPassword:
            return ConnectorError(.authentication, connector: connector, object: endpoint, "the server asks user \"\(configuration.username)\" for a password and none is configured; set password")
        case .unsupportedAuthMechanism, .saslError:
            return ConnectorError(.authentication, connector: connector, object: endpoint, "authentication of user \"\(configuration.username)\" failed: \(error.code)")
        case .connectionError, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return ConnectorError(.connection, connector: connector, object: endpoint, "cannot connect: \(reason)")
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return ConnectorError(.connection, connector: connector, object: object.map(\.label) ?? endpoint, position: position, "the connection was lost: \(reason)")
        default:
            return ConnectorError(.fetch, connector: connector, object: object.map(\.label) ?? endpoint, position: position, "\(error.code): \(reason)")
        }
    }
}
