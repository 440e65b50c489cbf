public import ETLCore
import Foundation
public import PipelineSchema
import RedisClient

/// Why a login was refused, as the person is told: never which of the three was wrong.
public enum LoginRefusal: Error, Sendable, Equatable {
    case wrongCredentials
    case rateLimited(retryAfterSeconds: Int)
}

/// A dashboard login: password and current code checked, failures counted and audited, a
/// session started. Reads accounts through `account` (the api's read-only database).
public struct LoginService: Sendable {
    let account: @Sendable (String) async throws -> AccountRecord?
    let hasher: PasswordHasher
    public let sessions: SessionStore
    let throttle: LoginThrottle
    let audit: AuditLog
    let redis: AccessRedis
    let clock: any PipelineClock
    /// bcrypt takes a quarter of a second: never on the cooperative pool.
    private let passwordChecks = BlockingExecutor(label: "access.bcrypt")

    public init(account: @escaping @Sendable (String) async throws -> AccountRecord?, hasher: PasswordHasher = .production,
                redis: AccessRedis, policy: LoginPolicy, clock: any PipelineClock = SystemClock()) {
        self.account = account
        self.hasher = hasher
        self.redis = redis
        self.clock = clock
        sessions = SessionStore(redis: redis, policy: policy, clock: clock)
        throttle = LoginThrottle(redis: redis, policy: policy)
        audit = AuditLog(redis: redis)
    }

    public func logIn(username: String, password: String, code: String, from address: String)
        async throws -> Result<(id: String, session: Session), LoginRefusal> {
        if let wait = try await throttle.wait(username: username, address: address) {
            try await record(.login, username, address, failure: "rate_limited")
            return .failure(.rateLimited(retryAfterSeconds: wait))
        }
        let found = try await account(username)
        let hasher = hasher
        let passwordMatches = try await passwordChecks.run { hasher.verify(password, hash: found?.passwordHash) }
        let step = found.flatMap { OneTimeCode.matchingStep(of: code, secret: $0.totpSecret, at: clock.now()) }
        let failure: String? = switch (found, passwordMatches, step) {
        case (nil, _, _): "unknown_or_disabled_account"
        case (_, false, _): "wrong_password"
        case (_, true, nil): "wrong_code"
        case (_, true, let step?): try await claim(step: step, username: username) ? nil : "code_reused"
        }
        if let failure {
            try await throttle.recordFailure(username: username, address: address)
            try await record(.login, username, address, failure: failure)
            return .failure(.wrongCredentials)
        }
        try await throttle.recordSuccess(username: username)
        let started = try await sessions.start(username: username)
        try await record(.login, username, address, failure: nil)
        return .success(started)
    }

    public func logOut(id: String, from address: String) async throws {
        guard let session = try await sessions.resume(id: id) else { return }
        try await sessions.end(id: id)
        try await record(.logout, session.username, address, failure: nil)
    }

    /// A code opens one session: whoever sees it used (over a shoulder, in a proxy's log)
    /// cannot log in with it again within its validity.
    private func claim(step: Int64, username: String) async throws(AccessError) -> Bool {
        let key = "etl:totp-used:\(username):\(step)"
        let reply = try await redis.command(["SET", key, "1", "NX", "EX", String(OneTimeCode.stepSeconds * 4)])
        return !reply.isNull
    }

    private func record(_ action: AuditEvent.Action, _ username: String, _ address: String, failure: String?) async throws(AccessError) {
        try await audit.record(AuditEvent(at: ISO8601.string(from: clock.now()), action: action, username: username, from: address,
                                          success: failure == nil, reason: failure))
    }
}
