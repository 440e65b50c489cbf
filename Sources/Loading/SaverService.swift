import ETLCore
import Foundation
import Handoff
import Logging
import ServiceLifecycle

/// The saver stage: consumes `phase2_complete` (group `saver`), loads the run's three files
/// into SQLite, records the run in `etl_runs`, then tries the SFTP upload once.
///
/// - The delivery is acknowledged when the database state is durable (the handler
///   returned), not after the upload: an SFTP outage never blocks the queue, and
///   `UploadRetryService` finishes the upload later.
/// - Handling is idempotent (each table is replaced per run in one transaction, the ledger
///   never moves back, uploads replace their files), so a re-delivery is harmless.
/// - On graceful shutdown the run being handled is finished first; the next one is not started.
/// - Every `reconcileIntervalSeconds` it loads the transformed runs (processed and DLQ files
///   older than the interval) that `etl_runs` does not know at all: runs whose `phase2`
///   announcement was lost (Redis killed within its AOF fsync window).
public struct SaverService: Service {
    public static let group = "saver"

    public let database: PipelineDatabase
    public let queue: any RunEventQueue
    public let dataDirectory: URL
    public let retry: RetryPolicy
    public let clock: any PipelineClock
    public let logger: Logger
    public let consumerName: String
    public let waitMilliseconds: Int
    public let maxDeliveries: Int
    public let upload: RunUploadAttempt
    public let reconcileIntervalSeconds: Double
    private let loader: RunLoader

    public init(
        database: PipelineDatabase, queue: any RunEventQueue, uploader: any RunFileUploader, dataDirectory: URL,
        retry: RetryPolicy, maxUploadBackoffSeconds: Double = 300, clock: any PipelineClock = SystemClock(),
        inFlight: UploadsInFlight = UploadsInFlight(), logger: Logger,
        consumerName: String = StageConsumer.defaultConsumerName(), waitMilliseconds: Int = 1000, maxDeliveries: Int = 5,
        reconcileIntervalSeconds: Double = 60
    ) {
        self.reconcileIntervalSeconds = reconcileIntervalSeconds
        self.database = database
        self.queue = queue
        self.dataDirectory = dataDirectory
        self.retry = retry
        self.clock = clock
        self.logger = logger
        self.consumerName = consumerName
        self.waitMilliseconds = waitMilliseconds
        self.maxDeliveries = maxDeliveries
        self.loader = RunLoader(database: database)
        self.upload = RunUploadAttempt(
            database: database, uploader: uploader, queue: queue, dataDirectory: dataDirectory, retry: retry,
            maxBackoffSeconds: maxUploadBackoffSeconds, clock: clock, inFlight: inFlight, logger: logger)
    }

    public func run() async throws {
        let consumer = StageConsumer(
            queue: queue, handoff: .phase2, group: Self.group, consumer: consumerName, maxDeliveries: maxDeliveries,
            retry: retry, clock: clock, logger: logger, waitMilliseconds: waitMilliseconds)
        logger.info("saver listening", metadata: ["stream": "\(HandoffPoint.phase2.stream)", "database": "\(database.path)"])
        let interval = reconcileIntervalSeconds
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await consumer.run(
                        handle: { delivery in
                            // An unstructured task does not inherit cancellation: a shutdown lets the
                            // current run finish (its transaction is not rolled back half-way).
                            try await Task { try await self.handle(delivery.event) }.value
                        },
                        giveUp: { delivery, error in
                            try await Task { try await self.recordGiveUp(delivery.event, error: error) }.value
                        })
                }
                group.addTask {
                    while !Task.isCancelled {
                        // Real time (not the injected clock): file ages are wall-clock too.
                        do { try await Task.sleep(for: .milliseconds(Int64(interval * 1000))) } catch { return }
                        await self.loadUnannouncedRuns(olderThan: interval)
                    }
                }
                await group.waitForAll()
            }
        }
        logger.info("saver stopped")
    }

    /// Transformed runs (processed and DLQ files in place, untouched for `seconds`) that
    /// `etl_runs` does not know: their announcement never reached the saver.
    public func unannouncedRuns(olderThan seconds: Double) async throws -> [RunID] {
        let directory = RunFiles.processedDirectory(dataDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let now = Date()  // compared with file modification times
        var runs: [RunID] = []
        for name in names.sorted() where name.hasPrefix("etl_") && name.hasSuffix(".jsonl") {
            guard let runID = RunID(String(name.dropFirst("etl_".count).dropLast(".jsonl".count))) else { continue }
            let files = RunFiles(dataDirectory: dataDirectory, runID: runID)
            guard FileManager.default.fileExists(atPath: files.deadLetter.path),
                let modified = (try? FileManager.default.attributesOfItem(atPath: files.processed.path))?[.modificationDate] as? Date,
                now.timeIntervalSince(modified) >= seconds
            else { continue }
            if try await database.run(runID) == nil { runs.append(runID) }
        }
        return runs
    }

    func loadUnannouncedRuns(olderThan seconds: Double) async {
        let runs: [RunID]
        do {
            runs = try await unannouncedRuns(olderThan: seconds)
        } catch {
            logger.error("cannot look for unannounced runs", metadata: ["error": "\(error)"])
            return
        }
        for runID in runs {
            if Task.isCancelled { return }
            logger.warning("run transformed \(Int(seconds))s ago but never announced to the saver; loading it", metadata: ["run_id": "\(runID)"])
            let event = RunEvent(runID: runID, status: .transformed)
            do {
                try await Task { try await self.handle(event) }.value
            } catch {
                logger.error("could not load the unannounced run", metadata: ["run_id": "\(runID)", "error": "\(error)"])
            }
        }
    }

    /// Handles one `phase2_complete` event (public for tests and tools).
    public func handle(_ event: RunEvent) async throws {
        if event.status == .failed {
            try await recordFailedRun(event)
            return
        }
        let runID = event.runID
        let files = RunFiles(dataDirectory: dataDirectory, runID: runID)
        var metadata: Logger.Metadata = ["run_id": "\(runID)"]
        logger.info("loading run", metadata: metadata)

        var loading = event
        loading.status = .loading
        loading.rawFile = event.rawFile ?? files.raw.path
        loading.processedFile = event.processedFile ?? files.processed.path
        loading.dlqFile = event.dlqFile ?? files.deadLetter.path
        loading.loadStartedAt = ISO8601.string(from: clock.now())
        loading.loadFinishedAt = nil
        loading.uploadedFiles = nil
        try await database.recordEvent(loading, now: clock.now())

        let raw = try await loader.load(files.raw, into: .raw, runID: runID, now: clock.now())
        let processed = try await loader.load(files.processed, into: .processed, runID: runID, now: clock.now())
        let invalid = try await loader.load(files.deadLetter, into: .invalid, runID: runID, now: clock.now())
        for result in [raw, processed, invalid] {
            logger.info("loaded \(result.table.rawValue)", metadata: [
                "run_id": "\(runID)", "rows": "\(result.rows)", "unparsed_lines": "\(result.unparsedLines)",
                "rows_per_s": "\(Int(result.rowsPerSecond))",
            ])
        }
        for (name, announced, loaded) in [
            ("extracted_count", event.extractedCount, raw.rows), ("valid_count", event.validCount, processed.rows),
            ("invalid_count", event.invalidCount, invalid.rows),
        ] where announced != nil && announced != loaded {
            logger.warning("announced count differs from the file; recording the file's", metadata: [
                "run_id": "\(runID)", "count": "\(name)", "announced": "\(announced!)", "loaded": "\(loaded)",
            ])
        }

        var loaded = RunEvent(runID: runID, status: .uploading)
        loaded.extractedCount = raw.rows
        loaded.validCount = processed.rows
        loaded.invalidCount = invalid.rows
        loaded.loadFinishedAt = ISO8601.string(from: clock.now())
        try await database.recordEvent(loaded, now: clock.now())
        metadata["rows"] = "\(raw.rows + processed.rows + invalid.rows)"
        logger.info("run loaded; uploading", metadata: metadata)

        // One inline attempt; on failure the run is `upload_pending` and the retry service
        // takes over. Only a database failure propagates (the delivery is then retried).
        _ = try await upload.attempt(runID)
    }

    /// A run that failed upstream: recorded as failed with its error; its raw file is loaded
    /// when it exists under its final name (i.e. complete), so what was fetched is kept.
    func recordFailedRun(_ event: RunEvent) async throws {
        var failed = event
        failed.error = event.error ?? "the run failed upstream (no reason given)"
        let raw = RunFiles(dataDirectory: dataDirectory, runID: event.runID).raw
        if FileManager.default.fileExists(atPath: raw.path) {
            let result = try await loader.load(raw, into: .raw, runID: event.runID, now: clock.now())
            failed.extractedCount = result.rows
            failed.rawFile = event.rawFile ?? raw.path
        }
        try await database.recordEvent(failed, now: clock.now())
        logger.error("run failed upstream; recorded", metadata: ["run_id": "\(event.runID)", "error": "\(failed.error!)"])
    }

    /// Called by the consumer after `maxDeliveries` failed handlings: the run is recorded failed.
    func recordGiveUp(_ event: RunEvent, error: any Error) async throws {
        var failed = RunEvent(runID: event.runID, status: .failed)
        failed.error = "saver: \(error)"
        try await database.recordEvent(failed, now: clock.now())
    }
}
