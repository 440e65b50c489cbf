import Logging
import PostgresNIO

extension PostgresServer {
    /// Runs `statements` in order in `database` (`postgres` is always there), as the test
    /// role, on one connection that is closed afterwards.
    public func execute(_ statements: [String], in database: String) async throws {
        let logger = Logger(label: "postgres-test")
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
