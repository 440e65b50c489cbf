/// A decoded RESP2 reply. Bulk strings stay bytes; callers decide what they mean.
public enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case null
    case array([RedisReply])
    case error(String)

    public var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }
}

public enum RedisError: Error, CustomStringConvertible, Sendable {
    case invalidURL(String)
    case connectionFailed(endpoint: String, reason: String)
    case connectionLost(endpoint: String, reason: String)
    case server(command: String, message: String)
    case unexpectedReply(command: String, reply: String)

    public var description: String {
        switch self {
        case .invalidURL:
            "REDIS_URL is not redis://[[user]:password@]host[:port][/db] (a user needs a password)"
        case .connectionFailed(let endpoint, let reason):
            "cannot connect to Redis at \(endpoint): \(reason) (is redis-server running? check REDIS_URL)"
        case .connectionLost(let endpoint, let reason):
            "lost the connection to Redis at \(endpoint): \(reason)"
        case .server(let command, let message):
            "Redis refused \(command): \(message)"
        case .unexpectedReply(let command, let reply):
            "unexpected Redis reply to \(command): \(reply)"
        }
    }
}
