public import ETLCore
public import Foundation
import RedisClient

/// A logged-in person's session as the api knows it.
public struct Session: Sendable, Equatable {
    public var username: String
    public var createdAt: Date
    /// Moves forward with every request; the session ends when it passes.
    public var idleExpiresAt: Date
    /// Fixed at login; the session ends then, however active.
    public var expiresAt: Date
}

/// Sessions in Redis, so every api replica knows them. The cookie carries a random id; Redis
/// holds it only as its SHA-256 (`etl:session:<hash>`), so reading Redis gives no usable
/// cookie. Expiry is decided on the clock against the stored times; Redis's own expiry only
/// removes what has ended.
public struct SessionStore: Sendable {
    let redis: AccessRedis
    let policy: LoginPolicy
    let clock: any PipelineClock

    public init(redis: AccessRedis, policy: LoginPolicy, clock: any PipelineClock = SystemClock()) {
        self.redis = redis
        self.policy = policy
        self.clock = clock
    }

    /// A new session for `username`: its id (for the cookie) and its times.
    public func start(username: String) async throws(AccessError) -> (id: String, session: Session) {
        let id = BearerToken.generate()
        let now = clock.now()
        let session = Session(username: username, createdAt: now,
                              idleExpiresAt: now.addingTimeInterval(Double(policy.sessionIdleSeconds)),
                              expiresAt: now.addingTimeInterval(Double(policy.sessionMaxAgeSeconds)))
        let key = Self.key(id)
        try await redis.command(["HSET", key, "username", username, "created_at", Self.seconds(session.createdAt),
                                 "idle_expires_at", Self.seconds(session.idleExpiresAt), "expires_at", Self.seconds(session.expiresAt)])
        try await expire(key, session)
        let index = Self.indexKey(username)
        try await redis.command(["SADD", index, key])
        try await redis.command(["EXPIRE", index, String(policy.sessionMaxAgeSeconds + 60)])
        return (id, session)
    }

    /// The session the cookie `id` names, its idle expiry moved on; nil when it has ended or never was.
    public func resume(id: String) async throws(AccessError) -> Session? {
        let key = Self.key(id)
        guard let fields = try await redis.command(["HGETALL", key]).array, !fields.isEmpty,
              var session = Self.session(fields)
        else { return nil }
        let now = clock.now()
        guard now < session.idleExpiresAt, now < session.expiresAt else {
            try await redis.command(["DEL", key])
            return nil
        }
        session.idleExpiresAt = min(now.addingTimeInterval(Double(policy.sessionIdleSeconds)), session.expiresAt)
        try await redis.command(["HSET", key, "idle_expires_at", Self.seconds(session.idleExpiresAt)])
        try await expire(key, session)
        return session
    }

    /// Logout: the session is gone for every replica at once.
    public func end(id: String) async throws(AccessError) {
        try await redis.command(["DEL", Self.key(id)])
    }

    /// Ends every session of `username` (the account was disabled or reset); how many there were.
    @discardableResult
    public func endAll(of username: String) async throws(AccessError) -> Int {
        let index = Self.indexKey(username)
        let keys = try await redis.command(["SMEMBERS", index]).array?.compactMap(\.text) ?? []
        var ended = 0
        for key in keys {
            ended += Int(try await redis.command(["DEL", key]).integer ?? 0)
        }
        try await redis.command(["DEL", index])
        return ended
    }

    private func expire(_ key: String, _ session: Session) async throws(AccessError) {
        let remaining = min(session.idleExpiresAt, session.expiresAt).timeIntervalSince(clock.now())
        try await redis.command(["EXPIRE", key, String(max(1, Int(remaining.rounded(.up)) + 1))])
    }

    static func key(_ id: String) -> String { "etl:session:" + BearerToken.hash(id.utf8) }
    static func indexKey(_ username: String) -> String { "etl:sessions-of:" + username }
    static func seconds(_ date: Date) -> String { String(date.timeIntervalSince1970) }

    static func session(_ fields: [RedisReply]) -> Session? {
        var values: [String: String] = [:]
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            if let name = fields[index].text, let value = fields[index + 1].text { values[name] = value }
        }
        func date(_ name: String) -> Date? { values[name].flatMap(Double.init).map(Date.init(timeIntervalSince1970:)) }
        guard let username = values["username"], let created = date("created_at"), let idle = date("idle_expires_at"),
              let expires = date("expires_at")
        else { return nil }
        return Session(username: username, createdAt: created, idleExpiresAt: idle, expiresAt: expires)
    }
}
