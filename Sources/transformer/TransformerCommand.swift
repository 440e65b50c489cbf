import ArgumentParser
import ETLCore
import Foundation
import Handoff
import Logging
import ServiceLifecycle
import Transformation

/// The transformer stage: validates and enriches each run announced on
/// `channel:phase1_complete`, then announces it on `channel:phase2_complete`.
/// Configuration comes from the environment and `.env` (see SPEC §6).
@main
struct Transformer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transformer",
        abstract: "Validate and enrich raw user files into processed and dead-letter files.",
        discussion: """
            Reads DATA_DIR, REDIS_URL, DEPARTMENTS_CSV, AGE_MIN, AGE_MAX, RETRY_*, LOG_LEVEL from the \
            environment and .env. On start it transforms any raw file not transformed yet, then \
            handles every run announced by the extractor. SIGTERM/SIGINT finish the current run and exit 0.
            """)

    func run() async throws {
        let configuration = loadConfigurationOrExit(TransformerConfiguration.init)
        let departments: DepartmentLookup
        do {
            departments = try DepartmentLookup(contentsOf: configuration.departmentsCSV)
        } catch {
            Self.fail("configuration error: DEPARTMENTS_CSV='\(configuration.departmentsCSV.path)' is invalid: \(error)")
        }

        PipelineLogging.bootstrap(level: configuration.common.logLevel)
        let logger = Logger(label: "transformer")

        let queue: RedisRunEventQueue
        do {
            queue = try RedisRunEventQueue(
                url: configuration.common.redisURL, eventKey: configuration.common.eventKey, logger: logger,
                claimIdleMilliseconds: Int(configuration.common.claimIdleSeconds * 1000))
        } catch {
            // The URL is not printed: it may hold the Redis password.
            Self.fail("configuration error: \(error)")
        }

        let service = TransformerService(
            configuration: configuration, departments: departments, queue: queue, logger: logger)
        let group = ServiceGroup(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    /// Prints a start-up error to stderr and exits 2 (a bad configuration).
    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(2)
    }
}
