import ArgumentParser
import ETLCommandLine
import ETLCore
import Extraction
import Foundation
import Handoff
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

@main
struct ExtractorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extractor",
        abstract: "Pages users out of the source API into DATA_DIR/raw_users and announces each run.",
        discussion: "Configured by environment variables (and .env): --print-configuration lists them, the README explains them.")

    @Flag(help: "Run one extraction and exit: 0 on success, 1 on a failed run (reason on stderr), 2 on bad configuration, 3 when another extraction holds DATA_DIR (its run named on stderr).")
    var once = false

    @OptionGroup var configurationOptions: ConfigurationOptions

    func run() async throws {
        guard let configuration = configurationOptions.configurationToRun(ExtractorConfiguration.self) else { return }
        PipelineLogging.bootstrap(level: configuration.common.logLevel)
        let logger = Logger(label: "extractor")
        let queue = RedisRunEventQueue.forStage(configuration.common, logger: logger)
        let clock = SystemClock()
        // One breaker for the process: failures count across pages and runs.
        let breaker = CircuitBreaker(
            threshold: configuration.circuitBreakerThreshold, cooldownSeconds: configuration.circuitBreakerCooldownSeconds,
            clock: clock, logger: logger)
        let makeExtraction: @Sendable (@escaping @Sendable () -> Bool) -> Extraction = { shouldStop in
            let fetcher = PageFetcher(
                http: CurlSource(allowedRedirectHosts: configuration.allowedRedirectHosts), sourceURL: configuration.sourceURL, timeoutSeconds: configuration.httpTimeoutSeconds,
                retry: configuration.common.retry, clock: clock, logger: logger, breaker: breaker)
            return Extraction(configuration: configuration, fetcher: fetcher, queue: queue, clock: clock, logger: logger, shouldStop: shouldStop)
        }
        if once {
            try await runOnce(makeExtraction(isShuttingDown), logger: logger)
        } else {
            let service = ExtractorService(configuration: configuration, clock: clock, logger: logger, makeExtraction: makeExtraction)
            try await ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        }
    }

    /// One extraction under signal handling: SIGTERM stops it between pages (checkpoint
    /// kept, exit 0); a failed run exits 1 with its reason on stderr.
    private func runOnce(_ extraction: Extraction, logger: Logger) async throws {
        let outcome = Mutex<Result<ExtractionOutcome, any Error>?>(nil)
        let job = OneShot {
            let result = await Result(catching: { try await cancelWhenGracefulShutdown { try await extraction.run() } })
            outcome.withLock { $0 = result }
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: job, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        switch outcome.withLock({ $0 }) {
        case .failure(is CancellationError):
            return  // stopped by SIGTERM/SIGINT; the checkpoint resumes the run
        case .failure(let error as ExtractionLockError):
            FileHandle.standardError.write(Data("extractor: \(error)\n".utf8))
            throw ExitCode(3)
        case .failure(let error):
            FileHandle.standardError.write(Data("extractor: \(error)\n".utf8))
            throw ExitCode(1)
        case .success, .none:
            return
        }
    }
}

private let isShuttingDown: @Sendable () -> Bool = { Task.isShuttingDownGracefully }

/// A unit of work run as a service, so it gets the group's signal handling.
private struct OneShot: Service {
    let work: @Sendable () async -> Void
    init(_ work: @escaping @Sendable () async -> Void) { self.work = work }
    func run() async throws { await work() }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
