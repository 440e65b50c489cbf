public import Foundation

/// A real `redis-server` on a random loopback port with AOF on and a password, in its own
/// temp directory, as `scripts/stack.py` defines it for every stack this project starts.
/// Restartable on the same port, password and data, so tests can take Redis away and bring
/// it back.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    /// With the password: what every stage is configured with.
    public let url: String
    private let definition: StackDefinition
    private var process: ManagedProcess?

    /// Without credentials: what a client that does not know the password uses.
    public var urlWithoutPassword: String { "redis://127.0.0.1:\(port)/0" }

    /// The `EVENT_HMAC_KEY` tests configure the stages with.
    public static let eventKey = "test-event-key-0123456789abcdef0123456789abcdef"

    /// Starts one on a thread of its own: preparing (a `stack.py` process), spawning and
    /// waiting for the port take a while, and on the cooperative pool that would stall the
    /// tests running beside this one (their claim refreshes, their timeouts).
    public static func start() async throws -> RedisServer {
        try await TestEnvironment.onOwnThread {
            let server = try RedisServer()
            try server.launch()
            return server
        }
    }

    private init() throws {
        directory = try TestEnvironment.temporaryDirectory("redis")
        do {
            definition = try StackDefinition(component: "redis", root: directory)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        port = definition.port("redis")
        url = definition.endpoints.env["REDIS_URL"] ?? ""
    }

    deinit {
        process?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public func launch() throws {
        let arguments = try definition.execArguments("redis")
        process = try ManagedProcess(
            executable: arguments[0], arguments: Array(arguments.dropFirst()),
            logPath: directory.appendingPathComponent("redis-\(UUID().uuidString.prefix(4)).log").path)
        try definition.waitUntilReady("redis")
    }

    public func stop() { process?.stop() }
    public func killHard() { process?.killHard() }

    public func restart() throws {
        stop()
        try launch()
    }
}
