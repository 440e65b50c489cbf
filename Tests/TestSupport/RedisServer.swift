import Foundation

/// A real `redis-server` on a random loopback port with AOF on (as in every stack this
/// project starts), in its own temp directory. Restartable on the same port and data, so
/// tests can take Redis away and bring it back.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    private let executable: String
    private var process: ManagedProcess?

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    public static func start() throws -> RedisServer {
        let server = try RedisServer()
        try server.launch()
        return server
    }

    private init() throws {
        executable = try TestEnvironment.executable("redis-server")
        port = try Loopback.freePort()
        directory = try TestEnvironment.temporaryDirectory("redis")
    }

    deinit {
        process?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public func launch() throws {
        process = try ManagedProcess(
            executable: executable,
            arguments: ["--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path,
                        "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
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
