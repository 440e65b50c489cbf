import Foundation

/// Where a Redis server is, from a `redis://[:password@]host[:port][/db]` URL.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var password: String?

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.password = password
    }

    public init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis",
            let host = components.host, !host.isEmpty
        else { throw RedisError.invalidURL(url) }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard path.isEmpty || Int(path) != nil else { throw RedisError.invalidURL(url) }
        self.init(
            host: host, port: components.port ?? 6379, database: Int(path) ?? 0,
            password: components.password.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Never prints the password.
    public var description: String { "\(host):\(port)/\(database)" }
}
