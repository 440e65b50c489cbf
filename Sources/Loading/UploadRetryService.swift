public import ETLCore
import Foundation
public import Logging
public import ServiceLifecycle

/// Finishes uploads that failed: every `pollSeconds` it picks the runs in `upload_pending`
/// (or `uploading` with a due retry time) whose `next_upload_at` has passed and tries again,
/// with the backoff recorded by each failure. It never gives up (the SPEC: the upload is
/// retried until it succeeds); every failed attempt is logged as an error with its count.
public struct UploadRetryService: Service {
    public let database: PipelineDatabase
    public let upload: RunUploadAttempt
    public let clock: any PipelineClock
    public let pollSeconds: Double
    public let logger: Logger

    public init(upload: RunUploadAttempt, pollSeconds: Double = 5) {
        self.database = upload.database
        self.upload = upload
        self.clock = upload.clock
        self.pollSeconds = pollSeconds
        self.logger = upload.logger
    }

    /// Shares `saver`'s uploader, queue, clock and in-flight set.
    public init(saver: SaverService, pollSeconds: Double = 5) {
        self.init(upload: saver.upload, pollSeconds: pollSeconds)
    }

    public func run() async throws {
        logger.info("upload retry service started", metadata: ["poll_s": "\(pollSeconds)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await clock.sleep(seconds: pollSeconds)
                } catch {
                    return
                }
                // Not cancelled half-way: an attempt in progress is finished and recorded.
                _ = await Task { await self.retryDueUploads() }.value
            }
        }
        logger.info("upload retry service stopped")
    }

    /// One pass: retries every due run once. Returns the outcomes (for tests and logs).
    @discardableResult
    public func retryDueUploads() async -> [RunID: RunUploadAttempt.Outcome] {
        let due: [RunID]
        do {
            due = try await database.runsDueForUpload(at: clock.now())
        } catch {
            logger.error("cannot read runs waiting for upload", metadata: ["error": "\(error)"])
            return [:]
        }
        var outcomes: [RunID: RunUploadAttempt.Outcome] = [:]
        for runID in due {
            logger.info("retrying upload", metadata: ["run_id": "\(runID)"])
            do {
                outcomes[runID] = try await upload.attempt(runID)
            } catch {
                logger.error("cannot record the upload attempt", metadata: ["run_id": "\(runID)", "error": "\(error)"])
            }
        }
        return outcomes
    }
}
