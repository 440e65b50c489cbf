import Connectors
import Contracts
public import ETLCore
public import Foundation
public import Handoff
public import Logging
public import ServiceLifecycle

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
public struct SaverService: Service, RunHandler {
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
    /// Connectors whose runs complete or fail get their status and `last_run_at` here.
    private let registry: ConnectorRegistry
    /// Directory listings for the catch-up scan, off the cooperative pool.
    private let fileScans = BlockingExecutor(label: "saver.files")

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
        self.registry = ConnectorRegistry(database: database.pool, clock: clock)
        self.upload = RunUploadAttempt(
            database: database, uploader: uploader, queue: queue, dataDirectory: dataDirectory, retry: retry,
            maxBackoffSeconds: maxUploadBackoffSeconds, clock: clock, inFlight: inFlight, logger: logger)
    }

    public func run() async throws {
        let consumer = StageConsumer(
            queue: queue, handoff: .phase2, group: Self.group, consumer: consumerName, maxDeliveries: maxDeliveries,
            retry: retry, clock: clock, logger: logger, waitMilliseconds: waitMilliseconds)
        logger.info("saver listening", metadata: ["stream": "\(HandoffPoint.phase2.stream)", "database": "\(database.path)"])
        // No scan at start: the transformer's start-up scan announces what it finds, and the
        // periodic scan takes whatever announcement is lost.
        let progress = StageConsumer(
            queue: queue, handoff: .progress, group: Self.group, consumer: consumerName, maxDeliveries: maxDeliveries,
            retry: retry, clock: clock, logger: logger, waitMilliseconds: waitMilliseconds)
        await StageRuntime(consumer: consumer, reconcileIntervalSeconds: reconcileIntervalSeconds, catchUpAtStart: false,
                           progressConsumer: progress).run(self)
        logger.info("saver stopped")
    }

    /// Transformed runs (processed and DLQ files in place, untouched for `seconds`) that
    /// `etl_runs` does not know, or knows only from progress reports (`extracting`,
    /// `transforming`: their announcement never reached the saver), or knows as
    /// `failed` for a transient cause (a full disk, the database unavailable): both are loaded
    /// again by the catch-up scan, so a passing fault never leaves a run failed for good.
    public func unannouncedRuns(olderThan seconds: Double) async throws -> [RunID] {
        let dataDirectory = self.dataDirectory
        let transformed = try await fileScans.run { Self.transformedRuns(in: dataDirectory, untouchedFor: seconds) }
        let failedTransiently = try await database.runsFailedTransiently()
        var runs: [RunID] = []
        for runID in transformed {
            if failedTransiently.contains(runID) {
                runs.append(runID)
            } else if Self.announcementNeverArrived(try await database.ledgerState(runID)) {
                runs.append(runID)
            }
        }
        return runs
    }

    /// With its outputs on disk, a run the ledger does not know, or knows only as still before
    /// `transformed`, was transformed without the saver hearing of it (found by the chaos
    /// test: a Redis power loss lost the `phase2` entry of a run whose progress was recorded).
    private static func announcementNeverArrived(_ state: LedgerState?) -> Bool {
        guard let state else { return true }
        return state.status.rank < RunStatus.transformed.rank
    }

    /// Runs with both transform outputs in place, the processed file untouched for `seconds`.
    private static func transformedRuns(in dataDirectory: URL, untouchedFor seconds: Double) -> [RunID] {
        let directory = RunFiles.processedDirectory(dataDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let now = Date()  // compared with file modification times
        return names.sorted().compactMap { name -> RunID? in
            guard name.hasPrefix("etl_"), name.hasSuffix(".jsonl"),
                  let runID = RunID(String(name.dropFirst("etl_".count).dropLast(".jsonl".count))) else { return nil }
            let files = RunFiles(dataDirectory: dataDirectory, runID: runID)
            guard FileManager.default.fileExists(atPath: files.deadLetter.path),
                  let modified = (try? FileManager.default.attributesOfItem(atPath: files.processed.path))?[.modificationDate] as? Date,
                  now.timeIntervalSince(modified) >= seconds
            else { return nil }
            return runID
        }
    }

    public func catchUp(olderThan seconds: Double?) async {
        let seconds = seconds ?? 0
        let runs: [RunID]
        do {
            runs = try await unannouncedRuns(olderThan: seconds)
        } catch {
            logger.error("cannot look for unannounced runs", metadata: ["error": "\(error)"])
            return
        }
        for runID in runs {
            if Task.isCancelled { return }
            let known = (try? await database.ledgerState(runID)) ?? nil
            if let known {
                logger.warning("run failed for a transient cause (\(known.failureCode ?? "unknown")); retrying it", metadata: ["run_id": "\(runID)"])
            } else {
                logger.warning("run transformed \(Int(seconds))s ago but never announced to the saver; loading it", metadata: ["run_id": "\(runID)"])
            }
            let event = RunEvent(runID: runID, status: .transformed)
            do {
                try await finishingThroughShutdown { try await self.handle(event) }
            } catch {
                logger.error("could not load the run; the next scan retries it", metadata: ["run_id": "\(runID)", "error": "\(error)"])
                await recordFailureQuietly(event, error: error)
            }
        }
    }

    /// Handles one `phase2_complete` event (public for tests and tools).
    ///
    /// Nothing in the event is believed beyond what it asks for: the run's files are derived
    /// from its id (the event's paths are never opened nor recorded), a run with no file on
    /// disk is refused (a phantom), and the ledger decides what the event may change
    /// (`LedgerState.admission`: a completed run is never failed or reloaded by a message).
    /// A run whose ledger row already shows this very output loaded and uploaded is
    /// acknowledged without loading or uploading it again.
    public func handle(_ event: RunEvent) async throws {
        let runID = event.runID
        let files = RunFiles(dataDirectory: dataDirectory, runID: runID)
        var metadata: Logger.Metadata = ["run_id": "\(runID)", "status": "\(event.status.rawValue)"]
        // A failure report carries a reason and no data: the extractor may fail before it can
        // write any file (a full disk, a file where a data folder should be), and that failure
        // must still reach the ledger (the event is signed; the ledger never lets a failure
        // overwrite a completed run). Any other status needs the run's files on disk.
        let (anyFileExists, fingerprint) = try await fileScans.run { (files.anyExists, files.outputFingerprint()) }
        guard event.status == .failed || anyFileExists else {
            logger.error("rejected an event: \(EventRejection.phantomRun(runID))", metadata: metadata)
            return
        }
        let state = try await database.ledgerState(runID)
        if case .refuse(let rejection) = LedgerState.admission(of: event, given: state) {
            if let state, state.status == .completed, event.status != .failed, state.loadedFingerprint != nil,
                state.loadedFingerprint == fingerprint {
                logger.info("run already loaded and uploaded with this output; acknowledged without loading it again", metadata: metadata)
            } else {
                logger.error("rejected an event: \(rejection)", metadata: metadata)
            }
            return
        }
        if event.status == .failed {
            try await recordFailedRun(event)
            return
        }
        logger.info("loading run", metadata: metadata)

        var loading = event
        loading.status = .loading
        loading.rawFile = files.raw.path
        loading.processedFile = files.processed.path
        loading.dlqFile = files.deadLetter.path
        loading.loadStartedAt = ISO8601.string(from: clock.now())
        loading.loadFinishedAt = nil
        loading.uploadedFiles = nil
        loading.error = nil
        loading.failureKind = nil
        loading.failureCode = nil
        guard try await database.recordEvent(loading, now: clock.now()) else {
            logger.warning("the ledger refused the run meanwhile; not loaded", metadata: metadata)
            return
        }

        let manifest = try await fileScans.run { try RunManifest.read(files) }
        let counts: (extracted: Int, valid: Int, invalid: Int)
        if let manifest, manifest.dataset != RunManifest.usersDataset {
            counts = try await loadDataset(files, manifest: manifest)
        } else {
            counts = try await loadUsers(files)
        }
        for (name, announced, loaded) in [
            ("extracted_count", event.extractedCount, counts.extracted), ("valid_count", event.validCount, counts.valid),
            ("invalid_count", event.invalidCount, counts.invalid),
        ] where announced != nil && announced != loaded {
            logger.warning("announced count differs from the file; recording the file's", metadata: [
                "run_id": "\(runID)", "count": "\(name)", "announced": "\(announced!)", "loaded": "\(loaded)",
            ])
        }

        var loaded = RunEvent(runID: runID, status: .uploading)
        loaded.extractedCount = counts.extracted
        loaded.validCount = counts.valid
        loaded.invalidCount = counts.invalid
        loaded.loadFinishedAt = ISO8601.string(from: clock.now())
        try await database.recordEvent(loaded, now: clock.now(), loadedFingerprint: fingerprint)
        metadata["rows"] = "\(counts.extracted + counts.valid + counts.invalid)"
        logger.info("run loaded; uploading", metadata: metadata)
        if let sourceID = event.sourceID {
            try await registry.markSucceeded(sourceID, runID: runID, at: loaded.loadFinishedAt!)
        }

        // One inline attempt; on failure the run is `upload_pending` and the retry service
        // takes over. Only a database failure propagates (the delivery is then retried).
        _ = try await upload.attempt(runID)
    }

    /// The built-in source's run (or a connector's under the users contract): its three files
    /// into `raw_users`, `processed_users` and `invalid_users`.
    private func loadUsers(_ files: RunFiles) async throws -> (extracted: Int, valid: Int, invalid: Int) {
        let runID = files.runID
        let raw = try await loader.load(files.raw, into: .raw, runID: runID, now: clock.now())
        let processed = try await loader.load(files.processed, into: .processed, runID: runID, now: clock.now())
        let invalid = try await loader.load(files.deadLetter, into: .invalid, runID: runID, now: clock.now())
        for result in [raw, processed, invalid] {
            logger.info("loaded \(result.table.rawValue)", metadata: [
                "run_id": "\(runID)", "rows": "\(result.rows)", "unparsed_lines": "\(result.unparsedLines)",
                "rows_per_s": "\(Int(result.rowsPerSecond))",
            ])
        }
        return (raw.rows, processed.rows, invalid.rows)
    }

    /// A connector's run of another dataset: its valid records into the dataset's table
    /// (derived from the run's contract); the raw file and the DLQ stay files, uploaded and counted.
    private func loadDataset(_ files: RunFiles, manifest: RunManifest) async throws -> (extracted: Int, valid: Int, invalid: Int) {
        let table = DatasetTable(dataset: manifest.dataset, contract: manifest.contract)
        let valid = try await loader.load(files.processed, into: table, runID: files.runID, now: clock.now())
        let (extracted, invalid) = try await fileScans.run {
            (try LineReader.countLines(path: files.raw.path), try LineReader.countLines(path: files.deadLetter.path))
        }
        logger.info("loaded \(table.name)", metadata: ["run_id": "\(files.runID)", "rows": "\(valid)", "connector": "\(manifest.connector)"])
        return (extracted, valid, invalid)
    }

    /// An upstream stage at work (`extracting` with the users fetched so far, `transforming`):
    /// only the ledger row changes, and never backwards. A report that comes late (redelivered
    /// after the run moved on) is dropped quietly: it is stale, not hostile.
    public func recordProgress(_ event: RunEvent) async throws {
        let files = RunFiles(dataDirectory: dataDirectory, runID: event.runID)
        let metadata: Logger.Metadata = ["run_id": "\(event.runID)", "status": "\(event.status.rawValue)"]
        guard event.status.isProgress, try await fileScans.run({ files.anyExists }) else {
            logger.error("rejected a progress report: not a stage at work on a run with files", metadata: metadata)
            return
        }
        var progress = event
        // Paths are the run's own, derived from its id, and recorded by the stage's result.
        progress.rawFile = nil
        progress.processedFile = nil
        progress.dlqFile = nil
        if try await !database.recordProgress(progress, now: clock.now()) {
            logger.debug("dropped a stale progress report", metadata: metadata)
        }
    }

    /// A run that failed upstream: recorded as failed with its error; its raw file is loaded
    /// when it exists under its final name (i.e. complete), so what was fetched is kept.
    func recordFailedRun(_ event: RunEvent) async throws {
        var failed = event
        failed.error = event.error ?? "the run failed upstream (no reason given)"
        let files = RunFiles(dataDirectory: dataDirectory, runID: event.runID)
        // Paths are the run's own, whatever the event says (or does not say).
        failed.rawFile = nil
        failed.processedFile = nil
        failed.dlqFile = nil
        if FileManager.default.fileExists(atPath: files.raw.path) {
            let result = try await loader.load(files.raw, into: .raw, runID: event.runID, now: clock.now())
            failed.extractedCount = result.rows
            failed.rawFile = files.raw.path
        }
        try await database.recordEvent(failed, now: clock.now())
        if let sourceID = event.sourceID { try await registry.markFailed(sourceID, reason: failed.error!) }
        logger.error("run failed upstream; recorded", metadata: ["run_id": "\(event.runID)", "error": "\(failed.error!)"])
    }

    /// Called by the consumer after `maxDeliveries` failed handlings: the run is recorded
    /// failed with the kind of its cause; a transient one is retried by the catch-up scan.
    public func giveUp(_ event: RunEvent, error: any Error) async throws {
        var failed = RunEvent(runID: event.runID, status: .failed)
        failed.error = "saver: \(error)"
        failed.setFailure(SaverFailures.classify(error))
        failed.retryRequest = event.retryRequest
        failed.sourceID = event.sourceID
        try await database.recordEvent(failed, now: clock.now())
        if let sourceID = event.sourceID { try await registry.markFailed(sourceID, reason: failed.error!) }
        logger.error("run failed: \(failed.failureKind!.rawValue) cause (\(failed.failureCode!))", metadata: [
            "run_id": "\(event.runID)", "error": "\(error)",
        ])
    }

    /// After a failed catch-up attempt: records the failure if it can (the database may be
    /// the very thing that is failing); the next scan tries again either way.
    private func recordFailureQuietly(_ event: RunEvent, error: any Error) async {
        do {
            try await giveUp(event, error: error)
        } catch {
            logger.debug("could not record the failure", metadata: ["run_id": "\(event.runID)", "error": "\(error)"])
        }
    }
}
