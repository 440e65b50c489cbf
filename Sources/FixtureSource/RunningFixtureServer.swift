import Foundation
import Hummingbird
public import Logging
import ServiceLifecycle

/// The fixture source running in-process (for tests): started on a free port, stopped by `stop()`.
///
/// ```swift
/// let server = try await RunningFixtureServer.start(options: FixtureOptions(userCount: 250))
/// defer { Task { await server.stop() } }  // or: await server.stop() at the end of the test
/// fetch(server.usersURL + "?limit=100&skip=0")
/// ```
public final class RunningFixtureServer: Sendable {
    public let host: String
    public let port: Int
    public let state: FixtureState
    public let options: FixtureOptions
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// `http://host:port/users`
    public var usersURL: String { "http://\(host):\(port)/users" }
    /// `http://host:port`
    public var baseURL: String { "http://\(host):\(port)" }

    private init(host: String, port: Int, state: FixtureState, options: FixtureOptions, group: ServiceGroup, task: Task<Void, any Error>) {
        self.group = group
        self.host = host
        self.port = port
        self.state = state
        self.options = options
        self.task = task
    }

    /// Starts the server and returns once it accepts connections. Throws if the options or the
    /// fixture file are bad, or the address cannot be bound. Logs at `warning` unless LOG_LEVEL says otherwise.
    public static func start(
        options: FixtureOptions,
        host: String = "127.0.0.1",
        port: Int = 0,
        state: FixtureState = FixtureState(),
        logger: Logger? = nil
    ) async throws -> RunningFixtureServer {
        try options.validate()
        let catalog = try FixtureCatalog(options: options)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = makeFixtureApplication(
            catalog: catalog, options: options, state: state, host: host, port: port,
            logger: logger ?? Self.quietLogger()
        ) { boundPort in
            continuation.yield(boundPort)
            continuation.finish()
        }
        let serviceLogger = logger ?? Self.quietLogger()
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: serviceLogger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let boundPort = await iterator.next() else {
            // The server stopped before it was running (bind failure...): surface its error.
            try await task.value
            throw FixtureOptionsError(option: "host/port", message: "server stopped before listening on \(host):\(port)")
        }
        return RunningFixtureServer(host: host, port: boundPort, state: state, options: options, group: group, task: task)
    }

    /// Stops the server gracefully (stops listening, lets in-flight requests finish, closes idle
    /// connections) and waits until it has; cancels it if that takes longer than `grace` seconds.
    public func stop(grace: Double = 10) async {
        await group.triggerGracefulShutdown()
        let task = self.task
        let watchdog = Task {
            try await Task.sleep(for: .milliseconds(Int(grace * 1000)))
            task.cancel()
        }
        _ = await task.result
        watchdog.cancel()
    }

    private static func quietLogger() -> Logger {
        var logger = Logger(label: "fixture-source")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        return logger
    }
}

/// Runs `body` against a fixture server started on a free port, and always stops it.
public func withFixtureServer<T>(
    _ options: FixtureOptions,
    _ body: (RunningFixtureServer) async throws -> T
) async throws -> T {
    let server = try await RunningFixtureServer.start(options: options)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
