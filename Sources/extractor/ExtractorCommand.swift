import ArgumentParser
import ETLCommandLine
import ETLCore
import ConnectorRuns
import ConnectorSources
import Connectors
import Extraction
import Loading
import Foundation
import Handoff
import Logging
import ServiceLifecycle
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
        let service = ExtractorService(
            mode: once ? .once : .daily, configuration: configuration, clock: clock, logger: logger, makeExtraction: makeExtraction)
        // `--once`: the group ends when the run does; its failure is the command's exit status.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if !once {
            services.append(.init(service: try await connectorRuns(configuration, queue: queue, breaker: breaker, clock: clock, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as ExtractionLockError {
            FileHandle.standardError.write(Data("extractor: \(error)\n".utf8))
            throw ExitCode(3)
        } catch is CancellationError {
            return  // stopped by SIGTERM/SIGINT; the checkpoint resumes the run
        } catch {
            FileHandle.standardError.write(Data("extractor: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The registered connectors' runs, requested by `etlctl`, the api or their schedules.
    private func connectorRuns(
        _ configuration: ExtractorConfiguration, queue: any RunEventQueue, breaker: CircuitBreaker, clock: any PipelineClock, logger: Logger
    ) async throws -> ConnectorRunService {
        let database: PipelineDatabase
        do {
            database = try await PipelineDatabase.open(path: configuration.databasePath)
        } catch {
            logger.critical("cannot open the connector registry", metadata: ["path": "\(configuration.databasePath)", "error": "\(error)"])
            throw ExitCode(1)
        }
        let http = CurlSource()
        let context = SourceContext(http: http, downloads: http, retry: configuration.common.retry,
                                    timeoutSeconds: configuration.httpTimeoutSeconds, clock: clock, logger: logger, breaker: breaker)
        let runner = ConnectorRunner(
            catalog: .product, registry: ConnectorRegistry(database: database.pool, clock: clock), queue: queue, context: context,
            dataDirectory: configuration.common.dataDirectory, clock: clock, logger: logger)
        let requests = requireValid(Settings.redisURL, configuration.common.redisURL, expected: "a URL the Redis client accepts") {
            try RedisRunRequestQueue(url: configuration.common.redisURL, eventKey: configuration.common.eventKey, logger: logger)
        }
        return ConnectorRunService(runner: runner, requests: requests, clock: clock, logger: logger)
    }
}
