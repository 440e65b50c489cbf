public import ETLCore
import Foundation
public import Handoff
public import Logging

/// How one extraction ended.
public enum ExtractionOutcome: Sendable, Equatable {
    /// Every user is in the raw file, which was renamed to its final name and announced.
    case completed(RunEvent)
    /// A graceful shutdown stopped the run between pages; the checkpoint resumes it.
    case interrupted(RunID, fetched: Int)
}

public struct ExtractionFailure: Error, CustomStringConvertible {
    public let runID: RunID
    public let reason: String
    public var description: String { "extraction of run \(runID) failed: \(reason)" }
}

/// One extraction: pages through the source to `total`, appending users to the run's
/// temporary raw file and checkpointing after every durable page; on success renames the
/// file, announces it, then clears the checkpoint (in that order, so a crash at any point
/// neither loses the run nor leaves a half-written file under the final name).
public struct Extraction: Sendable {
    public let configuration: ExtractorConfiguration
    public let fetcher: PageFetcher
    public let queue: any RunEventQueue
    public let clock: any PipelineClock
    public let logger: Logger
    /// Asked between pages; true stops the run after checkpointing (graceful shutdown).
    public let shouldStop: @Sendable () -> Bool

    public init(
        configuration: ExtractorConfiguration, fetcher: PageFetcher, queue: any RunEventQueue,
        clock: any PipelineClock, logger: Logger, shouldStop: @escaping @Sendable () -> Bool = { false }
    ) {
        self.configuration = configuration
        self.fetcher = fetcher
        self.queue = queue
        self.clock = clock
        self.logger = logger
        self.shouldStop = shouldStop
    }

    /// The run's files (page writes and their fsync, the checkpoint, the rename), off the
    /// cooperative pool: an fsync per page would otherwise hold one of its two threads.
    private let fileQueue = BlockingExecutor(label: "extractor.files")

    private var dataDirectory: URL { configuration.common.dataDirectory }
    private var checkpoints: CheckpointStore { CheckpointStore(dataDirectory: dataDirectory) }

    /// Runs (or resumes) one extraction under the extraction lock. Every failure but a lock
    /// held by another extractor is announced as a failed run with its reason (SPEC §4), and
    /// thrown as an `ExtractionFailure`.
    public func run() async throws -> ExtractionOutcome {
        let lock: ExtractionLock
        do {
            lock = try ExtractionLock.acquire(dataDirectory: dataDirectory)
        } catch .held(let path, let holder) {
            // Not a failure of any run: the other extraction goes on, and its run must not be marked failed.
            throw ExtractionLockError.held(path: path, holder: holder)
        } catch {
            throw await failBeforeARunExists(reason: error.description)
        }
        defer { lock.release() }

        var checkpoint: ExtractionCheckpoint
        do {
            checkpoint = try await fileQueue.run { [self] in
                try RunFiles.createDirectories(under: dataDirectory)
                return try startOrResume()
            }
        } catch {
            throw await failBeforeARunExists(reason: "\(error)")
        }
        lock.record(runID: checkpoint.runID)
        let files = RunFiles(dataDirectory: dataDirectory, runID: checkpoint.runID)
        var duplicates = 0
        do {
            if try await extractPages(&checkpoint, files: files, duplicates: &duplicates) == .stopped {
                return .interrupted(checkpoint.runID, fetched: checkpoint.fetched)
            }
        } catch is CancellationError {
            // A shutdown interrupted a request or a backoff wait: nothing of the page was
            // written or checkpointed, so the checkpoint resumes exactly here.
            logger.notice("stopping run \(checkpoint.runID) at skip=\(checkpoint.fetched); the checkpoint resumes it")
            return .interrupted(checkpoint.runID, fetched: checkpoint.fetched)
        } catch let error as PageFetchError {
            throw await fail(checkpoint, reason: error.description)
        } catch {
            // Disk full, permissions, a file where a directory should be: the run fails like
            // a fetch failure, so the ledger shows it with its reason.
            throw await fail(checkpoint, reason: "\(error)")
        }
        return .completed(try await finish(checkpoint, files: files, duplicates: duplicates))
    }

    private enum Paging { case complete, stopped }

    /// Pages to `total` into the temporary raw file and renames it to its final name
    /// (`.complete`), or stops between pages for a shutdown (`.stopped`, checkpoint saved).
    private func extractPages(
        _ checkpoint: inout ExtractionCheckpoint, files: RunFiles, duplicates: inout Int
    ) async throws -> Paging {
        let temporaryPath = files.raw.path + ".tmp"
        let rawPath = files.raw.path
        let complete = checkpoint.total != nil
        if try await self.fileQueue.run({ complete && !FileManager.default.fileExists(atPath: temporaryPath)
                && FileManager.default.fileExists(atPath: rawPath) }) {
            // Crashed after the rename: the file is complete, only the announcement may be missing.
            logger.info("run \(checkpoint.runID) was complete before a restart; announcing it again")
            duplicates = try await self.fileQueue.run { try DuplicateIDs.count(inFile: rawPath).duplicates }
            return .complete
        }

        let bytesKept = checkpoint.bytes
        let raw = try await self.fileQueue.run { RawFile(try LineWriter(path: temporaryPath, truncatingTo: bytesKept)) }
        // A resumed run counts duplicates over the users it already has.
        var seen = Set<String>()
        var progressReportedAt: Date?
        if checkpoint.bytes > 0 {
            let counted = try await self.fileQueue.run { try DuplicateIDs.count(inFile: temporaryPath) }
            seen = counted.seen
            duplicates = counted.duplicates
        }
        while checkpoint.total.map({ checkpoint.fetched < $0 }) ?? true {
            if shouldStop() {
                logger.notice("stopping run \(checkpoint.runID) at skip=\(checkpoint.fetched); the checkpoint resumes it")
                return .stopped
            }
            let page = try await fetcher.fetch(limit: configuration.pageSize, skip: checkpoint.fetched)
            guard !page.users.isEmpty else {
                // The fetcher verified the page: an empty one means the source's own total
                // ends here (it shrank since the first page), not a lost page.
                logger.notice("source total is now \(page.total): run \(checkpoint.runID) ends with \(checkpoint.fetched) users")
                checkpoint.total = checkpoint.fetched
                break
            }
            let users = page.users
            let bytesWritten = try await self.fileQueue.run { try raw.append(users) }
            noteDuplicates(in: page, seen: &seen, duplicates: &duplicates, skip: checkpoint.fetched)
            noteTooDeep(in: page, skip: checkpoint.fetched)
            checkpoint.fetched += page.users.count
            checkpoint.total = max(page.total, checkpoint.fetched)
            checkpoint.bytes = bytesWritten
            let durable = checkpoint
            try await self.fileQueue.run { [checkpoints] in try checkpoints.save(durable) }
            logProgress(checkpoint, pageUsers: page.users.count)
            await reportProgress(checkpoint, lastReportedAt: &progressReportedAt)
        }
        try await self.fileQueue.run { try AtomicLineFile.rename(temporaryPath, to: rawPath) }
        return .complete
    }

    private func noteDuplicates(in page: SourcePage, seen: inout Set<String>, duplicates: inout Int, skip: Int) {
        var repeated: [String] = []
        for case let id? in page.userIDs where !seen.insert(id).inserted { repeated.append(id) }
        guard !repeated.isEmpty else { return }
        duplicates += repeated.count
        logger.warning(
            "page skip=\(skip): \(repeated.count) user id(s) already seen in this run (first: \(repeated[0])); \(duplicates) so far, reported as duplicate_ids")
    }

    private func noteTooDeep(in page: SourcePage, skip: Int) {
        for index in page.tooDeepUsers {
            logger.warning(
                "user at position \(skip + index) is nested deeper than \(JSONNesting.maximumDepth) levels; written as received, the transformer dead-letters it")
        }
    }

    /// The checkpointed run if there is one (a new attempt of it), else a new run.
    private func startOrResume() throws -> ExtractionCheckpoint {
        if var checkpoint = try checkpoints.load() {
            checkpoint.attempt += 1
            try checkpoints.save(checkpoint)
            logger.notice("resuming run \(checkpoint.runID) at skip=\(checkpoint.fetched) (attempt \(checkpoint.attempt))")
            return checkpoint
        }
        let checkpoint = ExtractionCheckpoint(
            runID: try RunFiles.issueRunID(at: clock.now(), dataDirectory: dataDirectory), fetched: 0, bytes: 0, total: nil, attempt: 1, startedAt: ISO8601.string(from: clock.now()))
        try checkpoints.save(checkpoint)
        logger.info("starting run \(checkpoint.runID) from \(configuration.sourceURL.absoluteString)")
        return checkpoint
    }

    private func finish(_ checkpoint: ExtractionCheckpoint, files: RunFiles, duplicates: Int) async throws -> RunEvent {
        var event = RunEvent(runID: checkpoint.runID, status: .extracted)
        event.attempt = checkpoint.attempt
        event.rawFile = files.raw.path
        event.extractedCount = checkpoint.fetched
        event.duplicateIDs = duplicates
        event.extractStartedAt = checkpoint.startedAt
        event.extractFinishedAt = ISO8601.string(from: clock.now())
        try await announceDurably(event)
        try await self.fileQueue.run { [checkpoints] in try checkpoints.clear() }
        logger.info("run \(checkpoint.runID) extracted: \(checkpoint.fetched) users in \(files.raw.lastPathComponent)")
        return event
    }

    /// Announces the failed run (so it shows in `etl_runs`) and leaves the checkpoint where
    /// it was: the next run resumes from the last durable page.
    private func fail(_ checkpoint: ExtractionCheckpoint, reason: String) async -> ExtractionFailure {
        var recorded = checkpoint
        recorded.lastError = reason
        do {
            try checkpoints.save(recorded)
        } catch {
            // The disk may be what failed: the announcement below must still go out.
            logger.error("could not record the failure of run \(checkpoint.runID) in its checkpoint: \(error)")
        }
        await announceFailure(of: checkpoint, reason: reason)
        return ExtractionFailure(runID: checkpoint.runID, reason: reason)
    }

    /// A failure before a run could be started or resumed (no lock file, no directories, an
    /// unreadable checkpoint): announced under the checkpointed run when there is a readable
    /// one, else under a new run id, so the ledger still shows it.
    private func failBeforeARunExists(reason: String) async -> ExtractionFailure {
        let now = ISO8601.string(from: clock.now())
        let run = (try? checkpoints.load()) ?? nil
            ?? ExtractionCheckpoint(runID: RunID(date: clock.now()), fetched: 0, bytes: 0, total: nil, attempt: 1, startedAt: now)
        logger.error("extraction cannot start: \(reason)")
        await announceFailure(of: run, reason: reason)
        return ExtractionFailure(runID: run.runID, reason: reason)
    }

    private func announceFailure(of checkpoint: ExtractionCheckpoint, reason: String) async {
        var event = RunEvent(runID: checkpoint.runID, status: .failed)
        event.attempt = checkpoint.attempt
        event.extractedCount = checkpoint.fetched
        event.extractStartedAt = checkpoint.startedAt
        event.extractFinishedAt = ISO8601.string(from: clock.now())
        event.error = reason
        do {
            try await queue.announce(event, at: .phase1)
        } catch {
            logger.error("could not announce the failed run \(checkpoint.runID): \(error)")
        }
    }

    /// Announces `event`, retrying with backoff while Redis is unreachable: a complete run is
    /// never left unannounced because of an outage. A shutdown stops the retries; the
    /// checkpoint (not cleared yet) makes the next start announce the run again.
    private func announceDurably(_ event: RunEvent) async throws {
        let retrying = Retrying(policy: configuration.common.retry, maxAttempts: nil, maxWaitSeconds: 30, clock: clock)
        do {
            try await retrying.run({ attempt in
                try await queue.announce(event, at: .phase1)
                if attempt > 1 { logger.info("announced run \(event.runID) after \(attempt - 1) failed attempt(s)") }
            }, shouldRetry: { _ in !shouldStop() && !Task.isCancelled }, willRetry: { error, attempt, wait in
                logger.warning("cannot announce run \(event.runID) (attempt \(attempt)): \(error); retrying in \(String(format: "%.1f", wait))s")
            })
        } catch {
            // Shutting down: the run stays checkpointed and is announced by the next start.
            logger.notice("stopping before run \(event.runID) could be announced (\(error)); the next start announces it")
            throw CancellationError()
        }
    }

    /// `page 3/21 skip=200 users=300/2080 (14%)`
    /// How often, at most, the ledger hears how far a run has got.
    static let progressIntervalSeconds = 1.0

    /// While a run extracts, the ledger shows it `extracting` with the users fetched so far:
    /// an `extracting` event goes to the saver (`progress`) after the first page and then at most once per `progressIntervalSeconds`. Best effort: a lost
    /// report is only a stale count, replaced by the next one or by `extracted`.
    private func reportProgress(_ checkpoint: ExtractionCheckpoint, lastReportedAt: inout Date?) async {
        let now = clock.now()
        if let last = lastReportedAt, now.timeIntervalSince(last) < Self.progressIntervalSeconds { return }
        lastReportedAt = now
        var event = RunEvent(runID: checkpoint.runID, status: .extracting)
        event.attempt = checkpoint.attempt
        event.extractedCount = checkpoint.fetched
        event.extractStartedAt = checkpoint.startedAt
        do {
            try await queue.announce(event, at: .progress)
        } catch {
            logger.debug("could not report the progress of run \(checkpoint.runID)", metadata: ["error": "\(error)"])
        }
    }

    private func logProgress(_ checkpoint: ExtractionCheckpoint, pageUsers: Int) {
        let total = checkpoint.total ?? checkpoint.fetched
        let pageSize = configuration.pageSize
        let page = (checkpoint.fetched - pageUsers) / pageSize + 1
        let pages = max(1, (total + pageSize - 1) / pageSize)
        let percent = total > 0 ? checkpoint.fetched * 100 / total : 100
        logger.info("page \(page)/\(pages) skip=\(checkpoint.fetched - pageUsers) users=\(checkpoint.fetched)/\(total) (\(percent)%)")
    }
}

/// Counts users whose top-level `id` an earlier line of the same raw file already had.
enum DuplicateIDs {
    static func count(inFile path: String) throws -> (seen: Set<String>, duplicates: Int) {
        var seen = Set<String>()
        var duplicates = 0
        try LineReader(path: path).forEachLine { line in
            // Lines were validated when their page was parsed; one that no longer parses has no id to count.
            if let id = try? SourcePageParser.recordSummary(line).id, !seen.insert(id).inserted { duplicates += 1 }
        }
        return (seen, duplicates)
    }
}

/// The run's temporary raw file. Only ever used on `Extraction.fileQueue`, a serial queue, one
/// call at a time: that is what makes handing it to that queue safe.
private final class RawFile: @unchecked Sendable {
    private let writer: LineWriter

    init(_ writer: LineWriter) {
        self.writer = writer
    }

    /// Appends a page's users and makes them durable; returns the file's size.
    func append(_ users: [[UInt8]]) throws -> Int64 {
        for user in users { try writer.writeLine(user) }
        try writer.sync()
        return writer.bytesWritten
    }
}
