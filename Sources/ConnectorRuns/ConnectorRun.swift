public import ConnectorSources
public import Connectors
public import Contracts
public import ETLCore
import Extraction
public import Foundation
public import Handoff
public import Logging
import PipelineSchema

/// How a requested run ended.
public enum ConnectorRunOutcome: Sendable, Equatable {
    /// The raw file is complete and announced; the connector's state is saved.
    case extracted(RunID, records: Int)
    /// The run failed with `reason`; the connector is in `error` and its state unchanged, so
    /// the next run starts where the last good one ended.
    case failed(RunID?, reason: String)
    /// The connector was deleted after the request was made.
    case connectorGone
}

/// Runs connectors for the extractor: one request at a time, under the extraction lock the
/// built-in source also takes, so two runs never share a second's run id or a disk.
///
/// Order of writes, so that a crash neither loses nor repeats records: the manifest, the raw
/// file under a temporary name, its rename, a completion note (`state/connector-<id>.json`
/// with the run's event and its new incremental state), the announcement, then the saved
/// state; the note goes last. A restart that finds a note finishes that run (announces it
/// again, idempotently, and saves its state) before anything else of the connector.
public struct ConnectorRunner: Sendable {
    public let catalog: ConnectorCatalog
    public let registry: ConnectorRegistry
    public let queue: any RunEventQueue
    public let context: SourceContext
    public let dataDirectory: URL
    public let clock: any PipelineClock
    public let logger: Logger
    private let files = BlockingExecutor(label: "extractor.connector-files")

    public init(catalog: ConnectorCatalog, registry: ConnectorRegistry, queue: any RunEventQueue, context: SourceContext,
                dataDirectory: URL, clock: any PipelineClock, logger: Logger) {
        self.catalog = catalog
        self.registry = registry
        self.queue = queue
        self.context = context
        self.dataDirectory = dataDirectory
        self.clock = clock
        self.logger = logger
    }

    /// A completed run whose announcement or state may not have happened yet.
    struct CompletionNote: Codable {
        var taskID: String
        var event: RunEvent
        var state: IncrementalState?
    }

    func notePath(_ sourceID: Int64) -> URL {
        RunFiles.stateDirectory(dataDirectory).appendingPathComponent("connector-\(sourceID).json")
    }

    public func run(_ request: RunRequest) async throws -> ConnectorRunOutcome {
        guard let record = try await registry.connector(id: request.sourceID) else {
            logger.warning("connector \(request.connector) (id \(request.sourceID)) no longer exists; its run request \(request.taskID) is dropped")
            return .connectorGone
        }
        if let finished = try await finishNotedRun(of: request.sourceID), finished.taskID == request.taskID {
            return .extracted(finished.event.runID, records: finished.event.extractedCount ?? 0)
        }
        let connector: ValidatedConnector
        do {
            connector = try catalog.validate(try ConnectorRegistry.definition(of: record))
        } catch {
            try await registry.markFailed(request.sourceID, reason: "\(error)")
            return .failed(nil, reason: "\(error)")
        }
        let lock = try await acquireLock()
        defer { lock.release() }
        return try await extract(connector, record: record, request: request, lock: lock)
    }

    private func extract(_ connector: ValidatedConnector, record: DataSourceRecord, request: RunRequest, lock: ExtractionLock) async throws -> ConnectorRunOutcome {
        let sourceID = request.sourceID
        let definition = connector.definition
        let startedAt = ISO8601.string(from: clock.now())
        let runFiles = try await files.run { [dataDirectory, clock] in
            try RunFiles.createDirectories(under: dataDirectory)
            let files = RunFiles(dataDirectory: dataDirectory, runID: try RunFiles.issueRunID(at: clock.now(), dataDirectory: dataDirectory))
            let manifest = RunManifest(sourceID: sourceID, connector: definition.name, dataset: definition.dataset,
                                       contract: Self.manifestContract(definition.contract))
            try manifest.write(to: files)
            return files
        }
        let runID = runFiles.runID
        lock.record(runID: runID)
        try await registry.markProcessing(sourceID, runID: runID)
        logger.info("connector \(definition.name): run \(runID) started (task \(request.taskID), asked by \(request.requestedBy))")
        await reportExtracting(runID, sourceID: sourceID, startedAt: startedAt)

        let sink = try await RawFileSink(finalPath: runFiles.raw.path, executor: files)
        let newState: IncrementalState?
        do {
            let source = try catalog.source(for: connector, context: context)
            newState = try await source.read(after: record.stateJSON.map(IncrementalState.init(json:)), into: sink)
            try await sink.commit()
        } catch {
            await sink.discard()
            _ = try? await files.run { try FileManager.default.removeItem(at: runFiles.manifest) }
            guard Task.isCancelled else {
                return try await fail(runID, sourceID: sourceID, connector: definition.name, startedAt: startedAt, reason: "\(error)")
            }
            // A shutdown: the run is recorded as interrupted and the request stays pending
            // (not acknowledged), so the next start runs it again from the saved state.
            _ = try await fail(runID, sourceID: sourceID, connector: definition.name, startedAt: startedAt,
                               reason: "interrupted by a shutdown; the request runs again at the next start")
            throw CancellationError()
        }

        var event = RunEvent(runID: runID, status: .extracted)
        event.attempt = 1
        event.sourceID = sourceID
        event.rawFile = runFiles.raw.path
        event.extractedCount = await sink.count
        event.extractStartedAt = startedAt
        event.extractFinishedAt = ISO8601.string(from: clock.now())
        try await complete(CompletionNote(taskID: request.taskID, event: event, state: newState), sourceID: sourceID)
        logger.info("connector \(definition.name): run \(runID) extracted \(event.extractedCount ?? 0) records")
        return .extracted(runID, records: event.extractedCount ?? 0)
    }

    /// The note first, then the announcement and the state, then the note goes.
    private func complete(_ note: CompletionNote, sourceID: Int64) async throws {
        let path = notePath(sourceID)
        try await files.run {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(note).write(to: path, options: .atomic)
        }
        try await announceDurably(note.event)
        try await registry.saveState(sourceID, note.state)
        try await files.run { try FileManager.default.removeItem(at: path) }
    }

    /// Finishes a run a crash interrupted after its raw file was complete.
    private func finishNotedRun(of sourceID: Int64) async throws -> CompletionNote? {
        let path = notePath(sourceID)
        guard let data = try await files.run({ FileManager.default.contents(atPath: path.path) }) else { return nil }
        let note = try JSONDecoder().decode(CompletionNote.self, from: data)
        logger.notice("run \(note.event.runID) of connector \(sourceID) was complete before a restart; announcing it again and saving its state")
        try await complete(note, sourceID: sourceID)
        return note
    }

    private func fail(_ runID: RunID, sourceID: Int64, connector: String, startedAt: String, reason: String) async throws -> ConnectorRunOutcome {
        logger.error("connector \(connector): run \(runID) failed: \(reason)")
        try await registry.markFailed(sourceID, reason: reason)
        var event = RunEvent(runID: runID, status: .failed)
        event.attempt = 1
        event.sourceID = sourceID
        event.extractStartedAt = startedAt
        event.extractFinishedAt = ISO8601.string(from: clock.now())
        event.error = String(reason.prefix(RunEvent.Limits.errorBytes - 100))
        do {
            try await queue.announce(event, at: .phase1)
        } catch {
            logger.error("could not announce the failed run \(runID): \(error)")
        }
        return .failed(runID, reason: reason)
    }

    /// The manifest names the users contract only: its rules are the transformer's configuration.
    static func manifestContract(_ choice: ConnectorDefinition.ContractChoice?) -> Contract? {
        switch choice {
        case .users: Contract(name: Contract.usersName, fields: [])
        case .declared(let contract): contract
        case nil: nil
        }
    }

    /// Waits while the built-in extraction (or another connector run) holds the lock.
    private func acquireLock() async throws -> ExtractionLock {
        while true {
            let attempt = Result { () throws(ExtractionLockError) in try ExtractionLock.acquire(dataDirectory: dataDirectory) }
            switch attempt {
            case .success(let lock): return lock
            case .failure(.held): try await clock.sleep(seconds: 1)
            case .failure(let error): throw error
            }
        }
    }

    private func reportExtracting(_ runID: RunID, sourceID: Int64, startedAt: String) async {
        var event = RunEvent(runID: runID, status: .extracting)
        event.attempt = 1
        event.sourceID = sourceID
        event.extractedCount = 0
        event.extractStartedAt = startedAt
        try? await queue.announce(event, at: .progress)
    }

    private func announceDurably(_ event: RunEvent) async throws {
        let retrying = Retrying(policy: context.retry, maxAttempts: nil, maxWaitSeconds: 30, clock: clock)
        try await retrying.run({ _ in try await queue.announce(event, at: .phase1) }, shouldRetry: { _ in !Task.isCancelled },
                               willRetry: { error, attempt, wait in
            logger.warning("cannot announce run \(event.runID) (attempt \(attempt)): \(error); retrying in \(String(format: "%.1f", wait))s")
        })
    }
}
