import Foundation

/// Where a Redis server is, from a `redis://[[user]:password@]host[:port][/db]` URL:
/// `redis://:secret@host` authenticates with `AUTH secret` (the `requirepass` password),
/// `redis://etl:secret@host` with `AUTH etl secret` (an ACL user). Percent-escapes in the
/// user and password are decoded.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var user: String?
    public var password: String?

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// The `AUTH` command this endpoint needs after connecting, nil without a password.
    public var authCommand: [String]? {
        guard let password else { return nil }
        if let user { return ["AUTH", user, password] }
        return ["AUTH", password]
    }

    public init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis",
            let host = components.host, !host.isEmpty
        else { throw RedisError.invalidURL(url) }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard path.isEmpty || Int(path) != nil else { throw RedisError.invalidURL(url) }
        let user = components.user.flatMap { $0.isEmpty ? nil : $0 }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 }
        // A user without a password cannot authenticate: refuse rather than connect without.
        if user != nil, password == nil { throw RedisError.invalidURL(url) }
        self.init(host: host, port: components.port ?? 6379, database: Int(path) ?? 0, user: user, password: password)
    }

    /// Never prints the user or the password.
    public var description: String { "\(host):\(port)/\(database)" }
}
