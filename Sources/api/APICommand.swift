import ArgumentParser
import ETLCommandLine
import ETLCore
import Foundation
import Hummingbird
import Logging
import ResultsAPI
import ServiceLifecycle
import UnixSignals

/// `api`: serves the saver's database read-only over HTTP (`API_HOST`, `API_PORT`, `CORS_ORIGINS`,
/// `API_TOKEN`, `CHARTJS_PATH`), and with `API_ADMIN_TOKEN` the routes that create connectors
/// and start their runs.
@main
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Serves the pipeline's results (SQLite, read-only) as a JSON API.")

    @OptionGroup var configurationOptions: ConfigurationOptions

    func run() async throws {
        guard let config = configurationOptions.configurationToRun(APIConfiguration.self) else { return }
        PipelineLogging.bootstrap(level: config.logLevel)
        let logger = Logger(label: "api")
        logger.info("serving", metadata: [
            "address": "\(config.host):\(config.port)", "database": "\(config.databasePath)",
            "cors_origins": "\(config.corsOrigins.joined(separator: ","))",
            // Whether API_TOKEN is set, never the token itself.
            "api_token_set": "\(config.apiToken != nil)",
            "header_timeout_seconds": "\(config.connectionLimits.headerTimeout)",
            "idle_timeout_seconds": "\(config.connectionLimits.idleTimeout)",
            "max_connections": "\(config.connectionLimits.maxConnections)",
            "admin_routes": "\(config.admin != nil)",
        ])
        await logAccessMode(configuration: config, logger: logger)
        let app = try makeAPIApplication(configuration: config, logger: logger,
                                     admin: try AdminBackend.configured(by: config, logger: logger))
        let group = ServiceGroup(configuration: .init(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
