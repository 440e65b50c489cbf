import ArgumentParser
import ETLCore
import Foundation
import Handoff
import Loading
import Logging
import ServiceLifecycle

/// `saver`: loads each transformed run into SQLite and uploads its files over SFTP.
/// Configuration comes from the environment and `.env` (see the SPEC's table).
@main
struct SaverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saver",
        abstract: "Loads each run announced on channel:phase2_complete into SQLite and uploads its files over SFTP.")

    @Option(help: "Seconds between checks for uploads to retry.")
    var uploadPollSeconds: Double = 5

    func validate() throws {
        guard uploadPollSeconds > 0, uploadPollSeconds.isFinite else {
            throw ValidationError("--upload-poll-seconds must be a positive number")
        }
    }

    func run() async throws {
        let config = loadConfigurationOrExit(SaverConfiguration.init)
        PipelineLogging.bootstrap(level: config.common.logLevel)
        let logger = Logger(label: "saver")

        let database: PipelineDatabase
        do {
            database = try PipelineDatabase(path: config.databasePath)
        } catch {
            logger.critical("cannot open the database", metadata: ["path": "\(config.databasePath)", "error": "\(error)"])
            throw ExitCode(1)
        }
        let queue = try RedisRunEventQueue(
            url: config.common.redisURL, logger: logger, claimIdleMilliseconds: Int(config.common.claimIdleSeconds * 1000))
        let uploader = SFTPRunFileUploader(configuration: config.sftp, logger: logger)
        let saver = SaverService(
            database: database, queue: queue, uploader: uploader, dataDirectory: config.common.dataDirectory,
            retry: config.common.retry, logger: logger, reconcileIntervalSeconds: config.common.reconcileIntervalSeconds)
        let retrier = UploadRetryService(saver: saver, pollSeconds: uploadPollSeconds)

        let group = ServiceGroup(configuration: .init(
            services: [.init(service: saver), .init(service: retrier)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
