import ArgumentParser
import ETLCommandLine
import ETLCore
import Foundation
import Handoff
import Logging
import ServiceLifecycle
import Transformation
import UnixSignals

/// The transformer stage: validates and enriches each run announced on
/// `channel:phase1_complete`, then announces it on `channel:phase2_complete`.
/// Configuration comes from the environment and `.env` (see SPEC §6).
@main
struct Transformer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transformer",
        abstract: "Validate and enrich raw user files into processed and dead-letter files.",
        discussion: """
            Configured by the environment and .env (--print-configuration lists the variables). \
            On start it transforms any raw file not transformed yet, then \
            handles every run announced by the extractor. SIGTERM/SIGINT finish the current run and exit 0.
            """)

    @OptionGroup var configurationOptions: ConfigurationOptions

    func run() async throws {
        guard let configuration = configurationOptions.configurationToRun(TransformerConfiguration.self) else { return }
        let departments = requireValid(Settings.departmentsCSV, configuration.departmentsCSV.path,
                                       expected: "a readable CSV with columns department,department_code") {
            try DepartmentLookup(contentsOf: configuration.departmentsCSV)
        }

        PipelineLogging.bootstrap(level: configuration.common.logLevel)
        let logger = Logger(label: "transformer")

        let queue = RedisRunEventQueue.forStage(configuration.common, logger: logger)

        let service = TransformerService(
            configuration: configuration, departments: departments, queue: queue, logger: logger)
        let group = ServiceGroup(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
