import ETLCore
import Foundation
import RedisClient

/// One line of the audit log: who, when, from where, what, and whether it worked.
public struct AuditEvent: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        case login, logout, userAdded = "user_added", userDisabled = "user_disabled", userReset = "user_reset"
        case tokenCreated = "token_created", tokenRevoked = "token_revoked"
    }

    /// The Redis stream entry id (time-ordered), empty before it is recorded.
    public var id: String
    public var at: String
    public var action: Action
    public var username: String
    /// The client address of an HTTP action; `etlctl` and the operator's login name for the tool's.
    public var from: String
    public var success: Bool
    /// Why it failed (`wrong_password`, `wrong_code`, `code_reused`, `unknown_or_disabled_account`, `rate_limited`), or nil.
    public var reason: String?

    public init(at: String, action: Action, username: String, from: String, success: Bool, reason: String? = nil) {
        self.id = ""
        self.at = at
        self.action = action
        self.username = username
        self.from = from
        self.success = success
        self.reason = reason
    }
}

/// The audit log: a Redis stream (`etl:audit`), capped near `capacity` entries, read newest
/// first by `etlctl audit`. It never holds a password, a code or a token.
public struct AuditLog: Sendable {
    static let key = "etl:audit"
    let redis: AccessRedis
    let capacity: Int

    public init(redis: AccessRedis, capacity: Int = 100_000) {
        self.redis = redis
        self.capacity = capacity
    }

    public func record(_ event: AuditEvent) async throws(AccessError) {
        var arguments = ["XADD", Self.key, "MAXLEN", "~", String(capacity), "*",
                         "at", event.at, "action", event.action.rawValue, "username", event.username, "from", event.from,
                         "success", event.success ? "true" : "false"]
        if let reason = event.reason { arguments += ["reason", reason] }
        try await redis.command(arguments)
    }

    /// The newest `limit` events, newest first.
    public func recent(limit: Int) async throws(AccessError) -> [AuditEvent] {
        let entries = try await redis.command(["XREVRANGE", Self.key, "+", "-", "COUNT", String(limit)]).array ?? []
        return entries.compactMap(Self.event)
    }

    static func event(_ entry: RedisReply) -> AuditEvent? {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let fields = parts[1].array else { return nil }
        var values: [String: String] = [:]
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            if let name = fields[index].text, let value = fields[index + 1].text { values[name] = value }
        }
        guard let at = values["at"], let action = values["action"].flatMap(AuditEvent.Action.init(rawValue:)),
              let username = values["username"], let from = values["from"]
        else { return nil }
        var event = AuditEvent(at: at, action: action, username: username, from: from, success: values["success"] == "true",
                               reason: values["reason"])
        event.id = id
        return event
    }
}
