public import ETLCore
import RedisClient

/// Failed logins counted per account and per client address in a fixed window
/// (`LOGIN_FAILURE_WINDOW`); past a limit, logins there are refused until the window ends,
/// even with the right password, so guessing costs an attacker the whole window.
public struct LoginThrottle: Sendable {
    let redis: AccessRedis
    let policy: LoginPolicy

    public init(redis: AccessRedis, policy: LoginPolicy) {
        self.redis = redis
        self.policy = policy
    }

    /// Seconds until a login for `username` from `address` may be tried again; nil when it may now.
    public func wait(username: String, address: String) async throws(AccessError) -> Int? {
        var wait: Int?
        for (key, limit) in keys(username: username, address: address) {
            let count = Int(try await redis.command(["GET", key]).text ?? "") ?? 0
            guard count >= limit else { continue }
            let ttl = Int(try await redis.command(["TTL", key]).integer ?? 1)
            wait = max(wait ?? 0, max(ttl, 1))
        }
        return wait
    }

    public func recordFailure(username: String, address: String) async throws(AccessError) {
        for (key, _) in keys(username: username, address: address) {
            let count = try await redis.command(["INCR", key]).integer ?? 0
            // The window starts at the first failure and is not extended by later ones.
            if count == 1 { try await redis.command(["EXPIRE", key, String(policy.failureWindowSeconds)]) }
        }
    }

    /// A successful login clears the account's count (not the address's: one good login
    /// must not reset a spray across many accounts).
    public func recordSuccess(username: String) async throws(AccessError) {
        try await redis.command(["DEL", Self.accountKey(username)])
    }

    private func keys(username: String, address: String) -> [(String, Int)] {
        [(Self.accountKey(username), policy.maxFailuresPerAccount),
         ("etl:login-failures:address:" + address, policy.maxFailuresPerAddress)]
    }

    static func accountKey(_ username: String) -> String { "etl:login-failures:account:" + username }
}
