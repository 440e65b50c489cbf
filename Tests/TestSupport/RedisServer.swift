public import Foundation

/// A real `redis-server` on a random loopback port with AOF on and a password
/// (`--requirepass`, as in every stack this project starts), in its own temp directory.
/// Restartable on the same port, password and data, so tests can take Redis away and bring
/// it back.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    /// The `requirepass` password (random per server).
    public let password: String
    private let executable: String
    private var process: ManagedProcess?

    /// With the password: what every stage is configured with.
    public var url: String { "redis://:\(password)@127.0.0.1:\(port)/0" }
    /// Without credentials: what a client that does not know the password uses.
    public var urlWithoutPassword: String { "redis://127.0.0.1:\(port)/0" }

    /// The `EVENT_HMAC_KEY` tests configure the stages with.
    public static let eventKey = "test-event-key-0123456789abcdef0123456789abcdef"

    public static func start() throws -> RedisServer {
        let server = try RedisServer()
        try server.launch()
        return server
    }

    private init() throws {
        executable = try TestEnvironment.executable("redis-server")
        port = try Loopback.freePort()
        directory = try TestEnvironment.temporaryDirectory("redis")
        password = "pw-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    deinit {
        process?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public func launch() throws {
        process = try ManagedProcess(
            executable: executable,
            arguments: ["--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path,
                        "--appendonly", "yes", "--save", "", "--protected-mode", "no", "--requirepass", password],
            logPath: directory.appendingPathComponent("redis-\(UUID().uuidString.prefix(4)).log").path)
        try Loopback.waitUntilAccepting(port: port)
    }

    public func stop() { process?.stop() }
    public func killHard() { process?.killHard() }

    public func restart() throws {
        stop()
        try launch()
    }
}
