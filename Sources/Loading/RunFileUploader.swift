public import ETLCore
public import Foundation
public import Handoff
public import Logging
import Synchronization
import PipelineSchema

/// Where a run's files go once loaded: the seam between the saver and the SFTP server
/// (`SFTPRunFileUploader` in production, fakes in tests).
public protocol RunFileUploader: Sendable {
    /// Uploads `files` (local paths); returns their remote names. Idempotent: uploading the
    /// same files again replaces them, and no partial file ever appears under a final name.
    func upload(files: [URL]) async throws -> [String]
}

/// Runs whose upload is under way in this process, so the inline attempt and the retry
/// service never upload the same run at the same time.
public final class UploadsInFlight: Sendable {
    private let runs = Mutex<Set<RunID>>([])

    public init() {}

    /// False when the run is already being uploaded.
    func begin(_ runID: RunID) -> Bool { runs.withLock { $0.insert(runID).inserted } }
    func end(_ runID: RunID) { _ = runs.withLock { $0.remove(runID) } }
}

/// One upload attempt of a loaded run, shared by `SaverService` (inline, right after the
/// load) and `UploadRetryService` (later, with backoff):
/// upload → announce on `phase3_complete` → record `completed`; any failure records
/// `upload_pending` with the reason, one more attempt and the time of the next one.
public struct RunUploadAttempt: Sendable {
    public let database: PipelineDatabase
    public let uploader: any RunFileUploader
    public let queue: any RunEventQueue
    public let dataDirectory: URL
    public let retry: RetryPolicy
    public let clock: any PipelineClock
    public let inFlight: UploadsInFlight
    public let logger: Logger

    public enum Outcome: Sendable, Equatable {
        case completed(uploadedFiles: [String])
        case pending(attempts: Int, nextAttemptAt: Date, reason: String)
        /// Another task of this process is uploading the run right now.
        case alreadyInFlight
    }

    /// `retry`'s backoff (base × factor^(n-1), jittered) is capped at `maxBackoffSeconds`.
    public init(
        database: PipelineDatabase, uploader: any RunFileUploader, queue: any RunEventQueue, dataDirectory: URL,
        retry: RetryPolicy, maxBackoffSeconds: Double = 300, clock: any PipelineClock, inFlight: UploadsInFlight,
        logger: Logger
    ) {
        self.database = database
        self.uploader = uploader
        self.queue = queue
        self.dataDirectory = dataDirectory
        var retry = retry
        retry.maxDelaySeconds = min(retry.maxDelaySeconds, maxBackoffSeconds)
        self.retry = retry
        self.clock = clock
        self.inFlight = inFlight
        self.logger = logger
    }

    /// Tries once. Throws only when the outcome cannot be recorded (database failure).
    public func attempt(_ runID: RunID) async throws -> Outcome {
        guard inFlight.begin(runID) else { return .alreadyInFlight }
        defer { inFlight.end(runID) }
        let files = RunFiles(dataDirectory: dataDirectory, runID: runID)
        var metadata: Logger.Metadata = ["run_id": "\(runID)"]
        do {
            let names = try await uploader.upload(files: [files.raw, files.processed, files.deadLetter])
            guard var event = try await database.run(runID)?.event else {
                throw UploadAttemptError.unknownRun(runID)
            }
            event.status = .completed
            event.uploadedFiles = names
            event.error = nil
            try await queue.announce(event, at: .phase3)
            try await database.recordUploadSucceeded(runID: runID, uploadedFiles: names, now: clock.now())
            metadata["files"] = "\(names.joined(separator: ","))"
            logger.info("run completed: files uploaded", metadata: metadata)
            return .completed(uploadedFiles: names)
        } catch {
            let reason = "upload failed: \(error)"
            let retry = self.retry
            let (attempts, next) = try await database.recordUploadFailed(runID: runID, error: reason, now: clock.now()) { attempt in
                retry.delay(beforeRetry: attempt, unit: .random(in: 0..<1))
            }
            metadata["attempts"] = "\(attempts)"
            metadata["next_attempt_at"] = "\(ISO8601.string(from: next))"
            metadata["error"] = "\(error)"
            // Never given up on (the SPEC: retried until it succeeds), so say it loudly.
            logger.error("upload failed; will retry", metadata: metadata)
            return .pending(attempts: attempts, nextAttemptAt: next, reason: reason)
        }
    }
}

public enum UploadAttemptError: Error, CustomStringConvertible {
    case unknownRun(RunID)

    public var description: String {
        switch self {
        case .unknownRun(let runID): "run \(runID) is not in etl_runs"
        }
    }
}
