public import ETLCore
public import Foundation
public import Handoff
public import Logging

/// The operator's retry (`saver --retry RUN_ID`, `saver --retry-failed`): hands a run back to
/// the pipeline through the normal hand-off, never by editing files or the ledger.
///
/// - Processed and DLQ files in place: the run is announced on `phase2` (the saver loads and
///   uploads it again).
/// - Only the raw file: announced on `phase1` (the transformer transforms it again).
/// - Anything else cannot be retried from here, and the error says what to do.
///
/// Each retry carries a new `retry_request`: it lets a run failed for a permanent cause (or a
/// completed one) start over once, and its announcements are never mistaken for duplicates.
public struct RunRetry: Sendable {
    public let database: PipelineDatabase
    public let queue: any RunEventQueue
    public let dataDirectory: URL
    public let logger: Logger

    public init(database: PipelineDatabase, queue: any RunEventQueue, dataDirectory: URL, logger: Logger) {
        self.database = database
        self.queue = queue
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    public enum RetryError: Error, Equatable, CustomStringConvertible {
        case extractionUnfinished(RunID)
        case noFiles(RunID)

        public var description: String {
            switch self {
            case .extractionUnfinished(let runID):
                "run \(runID) did not finish extracting; the extractor resumes it at its next run (or now: `extractor --once`)"
            case .noFiles(let runID):
                "run \(runID) has no raw, processed or DLQ file under DATA_DIR; there is nothing to retry"
            }
        }
    }

    /// Announces `runID` again; returns where.
    @discardableResult
    public func retry(_ runID: RunID, request: String = RunRetry.newRequestID()) async throws -> HandoffPoint {
        let files = RunFiles(dataDirectory: dataDirectory, runID: runID)
        let exists = { (url: URL) in FileManager.default.fileExists(atPath: url.path) }
        var event: RunEvent
        let handoff: HandoffPoint
        if exists(files.processed), exists(files.deadLetter) {
            event = RunEvent(runID: runID, status: .transformed)
            event.processedFile = files.processed.path
            event.dlqFile = files.deadLetter.path
            handoff = .phase2
        } else if exists(files.raw) {
            event = RunEvent(runID: runID, status: .extracted)
            handoff = .phase1
        } else if files.anyExists {
            throw RetryError.extractionUnfinished(runID)
        } else {
            throw RetryError.noFiles(runID)
        }
        event.rawFile = files.raw.path
        event.retryRequest = request
        try await queue.announce(event, at: handoff)
        logger.notice("run \(runID) handed back to the pipeline on \(handoff.stream)", metadata: ["run_id": "\(runID)", "retry_request": "\(request)"])
        return handoff
    }

    /// Retries every run the ledger records as `failed`; returns each run's outcome.
    public func retryFailed() async throws -> [(RunID, Result<HandoffPoint, any Error>)] {
        let request = Self.newRequestID()
        var outcomes: [(RunID, Result<HandoffPoint, any Error>)] = []
        for runID in try await database.failedRuns() {
            do {
                outcomes.append((runID, .success(try await retry(runID, request: request))))
            } catch {
                outcomes.append((runID, .failure(error)))
            }
        }
        return outcomes
    }

    /// `retry-<UTC time>-<random>`: unique per operator action.
    public static func newRequestID() -> String {
        let time = RunID(date: Date()).timestamp
        let random = String(UInt32.random(in: .min ... .max), radix: 16)
        return "retry-\(time)-\(random)"
    }
}
