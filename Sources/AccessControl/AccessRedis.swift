import ETLCore
public import RedisClient

/// The Redis that holds sessions, failure counts and the audit log (`REDIS_URL`, shared by
/// every api replica). hiredis blocks, so every command runs on a queue of its own.
public final class AccessRedis: Sendable {
    private let connection: RedisConnection
    private let executor = BlockingExecutor(label: "access.redis")

    public init(url: String) throws {
        connection = RedisConnection(endpoint: try RedisEndpoint(url: url), connectTimeoutSeconds: 2, commandTimeoutSeconds: 5)
    }

    /// One command; an outage or an error reply becomes `AccessError.sessionStoreUnavailable`.
    @discardableResult
    func command(_ arguments: [String]) async throws(AccessError) -> RedisReply {
        let connection = connection
        do {
            return try await executor.run { try connection.command(arguments) }
        } catch {
            throw .sessionStoreUnavailable("\(error)")
        }
    }
}
