import ArgumentParser
import ETLCommandLine
import ETLCore
import Foundation
import Handoff
import Loading
import Logging
import ServiceLifecycle
import UnixSignals

/// `saver`: loads each transformed run into SQLite and uploads its files over SFTP.
/// Configuration comes from the environment and `.env` (see the SPEC's table).
@main
struct SaverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saver",
        abstract: "Loads each run announced on channel:phase2_complete into SQLite and uploads its files over SFTP.")

    @Option(help: "Seconds between checks for uploads to retry.")
    var uploadPollSeconds: Double = 5

    @Option(name: .customLong("retry"), help: ArgumentHelp(
        "Hand one run (YYYYMMDD_HHMMSS) back to the pipeline through the normal hand-off, then exit: 0 when announced.",
        valueName: "run-id"))
    var retryRunID: String?

    @Flag(help: "Hand every run that etl_runs records as failed back to the pipeline, then exit: 0 when all were announced.")
    var retryFailed = false

    @OptionGroup var configurationOptions: ConfigurationOptions

    func validate() throws {
        guard uploadPollSeconds > 0, uploadPollSeconds.isFinite else {
            throw ValidationError("--upload-poll-seconds must be a positive number")
        }
        if let retryRunID, RunID(retryRunID) == nil {
            throw ValidationError("--retry expects a run id YYYYMMDD_HHMMSS, got '\(retryRunID)'")
        }
        if retryRunID != nil, retryFailed { throw ValidationError("--retry and --retry-failed are exclusive") }
    }

    func run() async throws {
        guard let config = configurationOptions.configurationToRun(SaverConfiguration.self) else { return }
        PipelineLogging.bootstrap(level: config.common.logLevel)
        let logger = Logger(label: "saver")
        if retryRunID != nil || retryFailed {
            try await runRetry(config, logger: logger)
            return
        }

        let database: PipelineDatabase
        do {
            database = try await PipelineDatabase.open(path: config.databasePath)
        } catch {
            logger.critical("cannot open the database", metadata: ["path": "\(config.databasePath)", "error": "\(error)"])
            throw ExitCode(1)
        }
        let queue = RedisRunEventQueue.forStage(config.common, logger: logger)
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

    /// `--retry RUN_ID` / `--retry-failed`: announces, prints one line per run, exits.
    private func runRetry(_ config: SaverConfiguration, logger: Logger) async throws {
        let database = try await PipelineDatabase.open(path: config.databasePath)
        let queue = RedisRunEventQueue.forStage(config.common, logger: logger)
        let retry = RunRetry(database: database, queue: queue, dataDirectory: config.common.dataDirectory, logger: logger)
        var outcomes: [(RunID, Result<HandoffPoint, any Error>)] = []
        if let retryRunID, let runID = RunID(retryRunID) {
            do {
                outcomes = [(runID, .success(try await retry.retry(runID)))]
            } catch {
                outcomes = [(runID, .failure(error))]
            }
        } else {
            outcomes = try await retry.retryFailed()
            if outcomes.isEmpty { print("no failed run in etl_runs") }
        }
        var failures = 0
        for (runID, outcome) in outcomes {
            switch outcome {
            case .success(let handoff): print("\(runID): announced on \(handoff.stream)")
            case .failure(let error):
                failures += 1
                FileHandle.standardError.write(Data("\(runID): not retried: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
