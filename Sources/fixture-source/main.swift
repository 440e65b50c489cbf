import ArgumentParser
import FixtureSource
import Foundation
import Hummingbird
import UnixSignals

/// A DummyJSON-compatible `/users` source for tests and the offline local stack.
struct FixtureSourceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixture-source",
        abstract: "Serve DummyJSON-compatible GET /users?limit=L&skip=S with deterministic users and injectable faults."
    )

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0 picks a free one; the log line tells which).")
    var port = 8090

    @Option(help: "Number of generated users (ids 1...N).")
    var users = 1000

    @Option(name: .customLong("invalid-rate"), help: "Fraction of users that fail validation, in [0, 1].")
    var invalidRate = 0.0

    @Option(help: "Seed of every random choice (same seed, same bytes).")
    var seed: UInt64 = 42

    @Option(name: .customLong("fault-rate"), help: "Fraction of requests answered with an injected fault (500, 429, truncated 200, 503), in [0, 1].")
    var faultRate = 0.0

    @Option(name: .customLong("retry-after"), help: "Retry-After seconds on injected 429/503.")
    var retryAfter = 1

    @Option(name: .customLong("slow-ms"), help: "Delay before every answer, in milliseconds.")
    var slowMs = 0

    @Option(name: .customLong("failing-skip"), help: "Every request with this skip gets a 500.")
    var failingSkip: Int?

    @Option(name: .customLong("fail-first"), help: "The first N requests get a 500.")
    var failFirst = 0

    @Option(name: .customLong("fixture"), help: "Serve the users of this JSON file (an array, or {\"users\":[...]}) instead of generating.")
    var fixture: String?

    @Option(name: .customLong("empty-page-skip"), help: "Every request with this skip gets an empty users array (a lost page).")
    var emptyPageSkip: Int?

    @Flag(name: .customLong("ignore-skip"), help: "Answer every request as if skip were 0 (a cache that strips query strings).")
    var ignoreSkip = false

    @Option(name: .customLong("redirect-to"), help: "Answer /users with 302 to this base URL plus the request's query.")
    var redirectTo: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535 (got \(port))") }
        guard !host.isEmpty else { throw ValidationError("--host must not be empty") }
        guard users >= 0 else { throw ValidationError("--users must be >= 0 (got \(users))") }
        guard invalidRate.isFinite, (0...1).contains(invalidRate) else { throw ValidationError("--invalid-rate must be in [0, 1] (got \(invalidRate))") }
        guard faultRate.isFinite, (0...1).contains(faultRate) else { throw ValidationError("--fault-rate must be in [0, 1] (got \(faultRate))") }
        guard retryAfter >= 0 else { throw ValidationError("--retry-after must be >= 0 (got \(retryAfter))") }
        guard slowMs >= 0 else { throw ValidationError("--slow-ms must be >= 0 (got \(slowMs))") }
        if let failingSkip, failingSkip < 0 { throw ValidationError("--failing-skip must be >= 0 (got \(failingSkip))") }
        guard failFirst >= 0 else { throw ValidationError("--fail-first must be >= 0 (got \(failFirst))") }
        if let fixture, !FileManager.default.isReadableFile(atPath: fixture) {
            throw ValidationError("--fixture \(fixture): no such readable file")
        }
    }

    func serve() async throws {
        let options = FixtureOptions(
            userCount: users, invalidRate: invalidRate, seed: seed, faultRate: faultRate,
            retryAfterSeconds: retryAfter, slowMilliseconds: slowMs, failingSkip: failingSkip,
            failFirstRequests: failFirst, fixtureFile: fixture,
            emptyPageSkip: emptyPageSkip, ignoreSkip: ignoreSkip, redirectTo: redirectTo
        )
        try options.validate()
        let catalog: FixtureCatalog
        do {
            catalog = try FixtureCatalog(options: options)
        } catch {
            throw ValidationError("--fixture: \(error)")
        }
        let host = self.host
        let app = makeFixtureApplication(catalog: catalog, options: options, host: host, port: port) { boundPort in
            let source = options.fixtureFile.map { "fixture \($0)" } ?? "seed \(options.seed), invalid rate \(options.invalidRate)"
            let line = "fixture source listening on http://\(host):\(boundPort)/users (\(catalog.count) users, \(source))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        // Hummingbird runs the app in a ServiceGroup that shuts down gracefully on SIGTERM/SIGINT.
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

// Parsed (and validated) synchronously, then served from top-level async code: `await Command.main()`
// in a main.swift would pick ArgumentParser's synchronous entry point.
let command: FixtureSourceCommand
do {
    command = try FixtureSourceCommand.parse()
} catch {
    FixtureSourceCommand.exit(withError: error)
}
do {
    try await command.serve()
} catch {
    FixtureSourceCommand.exit(withError: error)
}
