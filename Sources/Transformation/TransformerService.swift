public import ETLCore
import Contracts
import Foundation
public import Handoff
public import Logging
public import ServiceLifecycle

/// The transformer stage as a long-running service.
///
/// 1. At start, every complete raw file (`raw_users/records_<ts>.jsonl`, never `.tmp`) whose
///    outputs do not exist yet is transformed and announced on `phase2`, oldest first: runs
///    announced while the stage was down, or whose announcement was lost, still complete.
/// 2. Then it consumes `phase1` as group `transformer`:
///    - a `.failed` event (the extractor failed) is forwarded unchanged to `phase2`, so the
///      saver records the failed run;
///    - any other event: the run's raw file is transformed (idempotently) and a copy of the
///      event is announced on `phase2` with status `.transformed`, the output paths, counts
///      and transform times. The run's files are derived from the run id, never from paths
///      in the event.
///    - after `maxDeliveries` failed attempts the run is announced on `phase2` as `.failed`
///      with the reason.
/// 3. Every `RECONCILE_INTERVAL_SECONDS` it repeats the scan of step 1 for raw files older
///    than that interval: a run whose `phase1` announcement was lost (Redis killed within
///    its AOF fsync window) is still transformed and announced.
/// At start it also deletes the temporary output files of writers that died (see
/// `AtomicLineFile.removeStaleTemporaries`). Replicas may run side by side: the consumer
/// group gives each run to one of them, and when two ever transform the same run (a claim
/// of a slow consumer, two start-up scans) each writes its own temporary files and renames
/// identical complete files.
/// File work runs on a `BlockingExecutor`, off the cooperative pool. A graceful shutdown
/// (SIGTERM) lets the run in progress finish and be announced, then the service returns.
public final class TransformerService: Service, RunHandler {
    public static let consumerGroup = "transformer"

    private let configuration: TransformerConfiguration
    private let queue: any RunEventQueue
    private let transformer: RunTransformer
    private let logger: Logger
    private let clock: any PipelineClock
    private let consumerName: String
    private let maxDeliveries: Int
    private let departments: DepartmentLookup
    private let waitMilliseconds: Int
    private let executor = BlockingExecutor(label: "transformer.files")
    /// The scan and the consumer of this process never transform the same run at once.
    private let runsInProgress = RunsInProgress()

    public init(
        configuration: TransformerConfiguration, departments: DepartmentLookup, queue: any RunEventQueue, logger: Logger,
        clock: any PipelineClock = SystemClock(), consumerName: String = StageConsumer.defaultConsumerName(),
        maxDeliveries: Int = 5, waitMilliseconds: Int = 1000
    ) {
        self.configuration = configuration
        self.queue = queue
        self.departments = departments
        self.transformer = RunTransformer(
            validator: RecordValidator(ageRange: configuration.ageRange, departments: departments))
        self.logger = logger
        self.clock = clock
        self.consumerName = consumerName
        self.maxDeliveries = maxDeliveries
        self.waitMilliseconds = waitMilliseconds
    }

    public func run() async throws {
        let dataDirectory = configuration.common.dataDirectory
        try await executor.run { try RunFiles.createDirectories(under: dataDirectory) }
        logger.info("transformer started", metadata: [
            "data_dir": "\(dataDirectory.path)", "departments": "\(departments.count)",
            "age_range": "\(RecordValidator.format(configuration.ageRange.lowerBound))...\(RecordValidator.format(configuration.ageRange.upperBound))",
        ])
        await removeStaleTemporaries()

        let consumer = StageConsumer(
            queue: queue, handoff: .phase1, group: Self.consumerGroup, consumer: consumerName, maxDeliveries: maxDeliveries,
            retry: configuration.common.retry, clock: clock, logger: logger, waitMilliseconds: waitMilliseconds)
        await StageRuntime(consumer: consumer, reconcileIntervalSeconds: configuration.common.reconcileIntervalSeconds,
                           catchUpAtStart: true).run(self)
        logger.info("transformer stopped")
    }

    private func removeStaleTemporaries() async {
        let dataDirectory = configuration.common.dataDirectory
        let removed = (try? await executor.run {
            [RunFiles.processedDirectory(dataDirectory), RunFiles.deadLetterDirectory(dataDirectory)]
                .flatMap { AtomicLineFile.removeStaleTemporaries(in: $0.path) }
        }) ?? []
        for path in removed { logger.notice("removed a temporary file left by a writer that died", metadata: ["path": "\(path)"]) }
    }

    // MARK: Start-up scan

    /// Runs whose raw file is complete but which have no outputs yet, oldest first; with
    /// `olderThan`, only raw files not modified for that many seconds (the consumer gets
    /// fresh ones through the queue).
    public func pendingRuns(olderThan seconds: Double? = nil) throws -> [RunID] {
        let dataDirectory = configuration.common.dataDirectory
        let rawDirectory = RunFiles.rawDirectory(dataDirectory)
        let names = try FileManager.default.contentsOfDirectory(atPath: rawDirectory.path)
        let now = Date()  // compared with file modification times
        return names.compactMap(RunFiles.runID(ofRawFileNamed:))
            .filter { !RunTransformer.isTransformed(RunFiles(dataDirectory: dataDirectory, runID: $0)) }
            .filter { runID in
                guard let seconds else { return true }
                let path = RunFiles(dataDirectory: dataDirectory, runID: runID).raw.path
                let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
                return modified.map { now.timeIntervalSince($0) >= seconds } ?? false
            }
            .sorted()
    }

    public func catchUp(olderThan seconds: Double?) async {
        let runs: [RunID]
        do {
            runs = try await executor.run { try self.pendingRuns(olderThan: seconds) }
        } catch {
            logger.error("cannot list raw files", metadata: ["error": "\(error)"])
            return
        }
        if !runs.isEmpty {
            logger.info(seconds == nil ? "found \(runs.count) raw file(s) not transformed yet"
                : "found \(runs.count) raw file(s) not transformed \(Int(seconds!))s after they appeared; their announcement was lost")
        }
        for runID in runs {
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            // The consumer is on it right now; it announces it.
            if runsInProgress.contains(runID) { continue }
            do {
                var event = RunEvent(runID: runID, status: .extracted)
                event.rawFile = RunFiles(dataDirectory: configuration.common.dataDirectory, runID: runID).raw.path
                let shielded = event
                // Like the runtime does for the consumer: a shutdown lets this run finish.
                try await finishingThroughShutdown { try await self.handle(shielded) }
            } catch {
                // The run's phase1 announcement (if any) gets the usual retries and failure record.
                logger.error("run \(runID) could not be transformed at start", metadata: ["run_id": "\(runID)", "error": "\(error)"])
            }
        }
    }

    // MARK: Handling

    /// Transforms the run of `event` and announces it on phase2 (or forwards a failed run).
    ///
    /// An event is checked before anything is done with it: a run to transform with no file on
    /// disk is a phantom (logged and dropped, never announced). The transform output is announced once
    /// per output (`announce(_:at:onceFor:)` keyed by the run, its output fingerprint and any
    /// operator retry), so when the catch-up scan and the stream consumer both come to the
    /// same run (every start races the extractor's announcement) the saver gets it once.
    public func handle(_ event: RunEvent) async throws {
        let files = RunFiles(dataDirectory: configuration.common.dataDirectory, runID: event.runID)
        // A failure report needs no file (see SaverService.handle): it is forwarded as is.
        let hasRaw = try await executor.run {
            FileManager.default.fileExists(atPath: files.raw.path) || RunTransformer.isTransformed(files)
        }
        guard event.status == .failed || hasRaw else {
            logger.error("rejected an event: \(EventRejection.phantomRun(event.runID))",
                         metadata: ["run_id": "\(event.runID)", "status": "\(event.status.rawValue)"])
            return
        }
        if event.status == .failed {
            try await queue.announce(event, at: .phase2)
            logger.info("run \(event.runID) failed upstream; forwarded", metadata: ["run_id": "\(event.runID)"])
            return
        }
        try await runsInProgress.exclusively(event.runID) {
            try await self.transformAndAnnounce(event, files: files)
        }
    }

    private func transformAndAnnounce(_ event: RunEvent, files: RunFiles) async throws {
        let started = clock.now()
        if try await !executor.run({ RunTransformer.isTransformed(files) }) {
            await reportTransforming(event, startedAt: started)
        }
        let transformer = try await executor.run { [self] in try self.transformer(for: files) }
        let (result, fingerprint) = try await executor.run { (try transformer.transform(files), files.outputFingerprint()) }
        let finished = clock.now()

        var output = event
        output.status = .transformed
        output.rawFile = files.raw.path
        output.processedFile = files.processed.path
        output.dlqFile = files.deadLetter.path
        output.validCount = result.validCount
        output.invalidCount = result.invalidCount
        if output.extractedCount == nil { output.extractedCount = result.lineCount }
        output.error = nil
        output.failureKind = nil
        output.failureCode = nil
        if !result.alreadyTransformed || output.transformStartedAt == nil {
            output.transformStartedAt = ISO8601.string(from: started)
            output.transformFinishedAt = ISO8601.string(from: finished)
        }
        let announced: Bool
        if let fingerprint {
            announced = try await queue.announce(
                output, at: .phase2, onceFor: "\(event.runID)/\(fingerprint)/\(event.retryRequest ?? "-")")
        } else {
            try await queue.announce(output, at: .phase2)
            announced = true
        }

        let counts = "\(result.validCount) valid, \(result.invalidCount) invalid (\(result.lineCount) lines)"
        let metadata: Logger.Metadata = ["run_id": "\(event.runID)"]
        switch (result.alreadyTransformed, announced) {
        case (false, _):
            let seconds = String(format: "%.1f", finished.timeIntervalSince(started))
            logger.info("run \(event.runID) transformed: \(counts) in \(seconds)s", metadata: metadata)
        case (true, true):
            logger.info("run \(event.runID) already transformed: \(counts); its announcement was missing, announced", metadata: metadata)
        case (true, false):
            logger.info("run \(event.runID) already transformed and announced: \(counts); nothing to do", metadata: metadata)
        }
    }

    /// The users transformer for a run of the built-in source or of a connector under the users
    /// contract; for any other connector's run, one for the contract in its manifest, with the lookups that contract names (relative files
    /// next to `DEPARTMENTS_CSV`), read now so a bad reference file fails the run at once.
    func transformer(for files: RunFiles) throws -> RunTransformer {
        guard let manifest = try RunManifest.read(files) else { return transformer }
        guard let contract = manifest.contract else {
            return RunTransformer(validator: RecordValidator(contract: Contract(name: manifest.dataset, fields: []), lookups: [:]))
        }
        // The users contract's age range and departments are this stage's configuration.
        if contract.name == Contract.usersName { return transformer }
        let lookups = try LookupTables.load(for: contract, relativeTo: configuration.departmentsCSV.deletingLastPathComponent())
        return RunTransformer(validator: RecordValidator(contract: contract, lookups: lookups))
    }

    /// The ledger shows the run `transforming` while it is (the saver records what comes on
    /// `progress`). Best effort: without it the run goes from `extracted` to `transformed`.
    private func reportTransforming(_ event: RunEvent, startedAt: Date) async {
        var progress = RunEvent(runID: event.runID, status: .transforming)
        progress.attempt = event.attempt
        progress.retryRequest = event.retryRequest
        progress.transformStartedAt = ISO8601.string(from: startedAt)
        do {
            try await queue.announce(progress, at: .progress)
        } catch {
            logger.debug("could not report that run \(event.runID) is transforming", metadata: ["error": "\(error)"])
        }
    }

    public func giveUp(_ event: RunEvent, error: any Error) async throws {
        var failed = event
        failed.status = .failed
        failed.error = "transformer: \(error)"
        failed.setFailure(FailureReason.classify(error))
        if failed.transformFinishedAt == nil { failed.transformFinishedAt = ISO8601.string(from: clock.now()) }
        try await queue.announce(failed, at: .phase2)
        logger.error("run \(event.runID) failed (\(failed.failureKind!.rawValue), \(failed.failureCode!)): \(error)", metadata: ["run_id": "\(event.runID)"])
    }

}
