import ETLCore
import Foundation
import GRDB
import Handoff
import Testing
@testable import Loading
import PipelineSchema

/// Issue 9, findings 3 and 10, and issue 8's double announcement, at the saver: what an event
/// may change in `etl_runs`, transient faults that pass, the operator retry, and a run that
/// is announced twice.
@Suite struct LedgerTruthTests {
    let runID = RunID("20270115_080000")!

    func makeSaver(_ workspace: Workspace, database: PipelineDatabase, queue: InMemoryRunEventQueue,
                   uploader: FakeUploader, maxDeliveries: Int = 5) -> SaverService {
        SaverService(
            database: database, queue: queue, uploader: uploader, dataDirectory: workspace.dataDirectory,
            retry: RetryPolicy(maxRetries: 3, baseSeconds: 0, factor: 1, jitter: 0), clock: TestClock(), logger: .test,
            consumerName: "test", waitMilliseconds: 10, maxDeliveries: maxDeliveries, reconcileIntervalSeconds: 3600)
    }

    /// Every table's content for the run, to prove "unchanged".
    func snapshot(_ database: PipelineDatabase) async throws -> [String] {
        try await database.pool.read { db in
            try PipelineDatabase.tables.flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1").map { "\(table): \($0)" }
            }
        }
    }

    // MARK: Finding 10: forged events do not change the ledger

    @Test func forgedEventsAreRejectedAndTheLedgerIsUnchanged() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let files = try workspace.writeRun(runID, valid: 4, invalid: 2)
        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader)
        try await saver.handle(Fixtures.event(runID, files: files, valid: 4, invalid: 2))
        #expect(try await database.run(runID)?.status == "completed")
        let before = try await snapshot(database)

        // A completed run flipped to failed by a message.
        var flip = RunEvent(runID: runID, status: .failed)
        flip.error = "forged failure"
        flip.setFailure(FailureReason(.permanent, "corrupt_input"))
        try await saver.handle(flip)
        // A completed run moved back by a message.
        try await saver.handle(RunEvent(runID: runID, status: .extracted))
        // A phantom run: data announced for a run none of whose files exists.
        let phantom = RunID("20270116_000000")!
        var phantomDone = Fixtures.event(phantom, files: workspace.files(phantom), valid: 1, invalid: 0)
        phantomDone.status = .transformed
        try await saver.handle(phantomDone)

        #expect(try await snapshot(database) == before)
        #expect(try await database.run(phantom) == nil)
        #expect(uploader.attempts == 1)
    }

    /// The extractor can fail before it writes any file (a file where `raw_users/` should be);
    /// its failure report, which carries a reason and no data, still reaches the ledger.
    @Test func aFailureReportedForARunWithNoFileIsRecordedWithItsReason() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let uploader = FakeUploader()
        let saver = makeSaver(workspace, database: database, queue: InMemoryRunEventQueue(), uploader: uploader)
        let early = RunID("20270117_000000")!
        var failed = RunEvent(runID: early, status: .failed)
        failed.error = "cannot create raw_users: a file is in the way"
        failed.setFailure(FailureReason(.transient, "permission_denied"))
        try await saver.handle(failed)

        let record = try #require(try await database.run(early))
        #expect(record.status == "failed")
        #expect(record.error?.contains("raw_users") == true)
        #expect(uploader.attempts == 0)
    }

    @Test func pathsInTheLedgerAreDerivedFromTheRunIDNeverFromTheEvent() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let files = try workspace.writeRun(runID, valid: 2, invalid: 1)
        let saver = makeSaver(workspace, database: database, queue: InMemoryRunEventQueue(), uploader: FakeUploader())
        var event = Fixtures.event(runID, files: files, valid: 2, invalid: 1)
        // Names the run's files, but in another directory: valid, and still not believed.
        event.rawFile = "/etc/records_\(runID).jsonl"
        event.processedFile = "/srv/elsewhere/etl_\(runID).jsonl"
        try event.validate()
        try await saver.handle(event)
        let record = try #require(try await database.run(runID))
        #expect(record.rawFile == files.raw.path)
        #expect(record.processedFile == files.processed.path)
        #expect(record.dlqFile == files.deadLetter.path)
    }

    // MARK: Issue 8: a run announced twice is loaded and uploaded once

    @Test func aRunAnnouncedTwiceIsLoadedAndUploadedOnce() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let files = try workspace.writeRun(runID, valid: 5, invalid: 2)
        let event = Fixtures.event(runID, files: files, valid: 5, invalid: 2)
        try await queue.announce(event, at: .phase2)
        try await queue.announce(event, at: .phase2)
        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader)
        #expect(try await run(saver) {
            queue.deliveredCount(at: .phase2, group: SaverService.group) == 2
                && queue.pendingCount(at: .phase2, group: SaverService.group) == 0
        })
        let record = try #require(try await database.run(runID))
        #expect(record.status == "completed")
        #expect(uploader.attempts == 1)
        #expect(queue.announced(at: .phase3).count == 1)
        #expect(try await database.rowCount(.processed, runID: runID) == 5)
        // Loaded once: the rows carry the first load's time.
        let loads = try await database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT inserted_at) FROM raw_users WHERE run_id = ?", arguments: [runID.timestamp])
        }
        #expect(loads == 1)
    }

    // MARK: Finding 3: a passing fault never leaves a run failed

    /// The database's disk is full (SQLite `max_page_count` makes it answer SQLITE_FULL, "database
    /// or disk is full", as a full disk does) for longer than every delivery: the run is
    /// recorded `failed` with a transient cause. When space comes back the catch-up scan loads
    /// and uploads it, and the ledger says `completed` with the right counts. Before the fix
    /// the scan skipped it (the ledger knew it) and `failed` was final.
    @Test func aRunFailedOnAFullDatabaseCompletesWhenSpaceComesBack() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let files = try workspace.writeRun(runID, valid: 300, invalid: 40)
        try await queue.announce(Fixtures.event(runID, files: files, valid: 300, invalid: 40), at: .phase2)
        let pages = try await database.pool.write { db in
            let used = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
            try db.execute(sql: "PRAGMA max_page_count = \(used + 1)")
            return used
        }
        #expect(pages > 0)

        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader, maxDeliveries: 2)
        #expect(try await run(saver) { try await database.run(runID)?.status == "failed" })
        var state = try #require(try await database.ledgerState(runID))
        #expect(state.failureKind == .transient)
        #expect(state.failureCode == "disk_full")
        #expect(try await database.run(runID)?.error?.contains("full") == true)
        #expect(try await saver.unannouncedRuns(olderThan: 0) == [runID])
        // Still full: the scan's attempt fails and the run stays failed (transient).
        await saver.catchUp(olderThan: 0)
        #expect(try await database.run(runID)?.status == "failed")

        // Space comes back.
        try await database.pool.write { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        await saver.catchUp(olderThan: 0)
        let record = try #require(try await database.run(runID))
        #expect(record.status == "completed")
        #expect(record.error == nil)
        #expect(record.extractedCount == 340)
        #expect(record.validCount == 300)
        #expect(record.invalidCount == 40)
        #expect(record.uploadedFiles.count == 3)
        state = try #require(try await database.ledgerState(runID))
        #expect(state.failureKind == nil)
        #expect(try await database.rowCount(.raw, runID: runID) == 340)
        #expect(try await database.rowCount(.processed, runID: runID) == 300)
        #expect(try await database.rowCount(.invalid, runID: runID) == 40)
        #expect(try await saver.unannouncedRuns(olderThan: 0).isEmpty)
    }

    /// The transformer failed the run for a transient cause, then (space back) transformed
    /// and announced it: the saver loads it and the ledger moves from `failed` to `completed`.
    @Test func aTransformedRunThatFailedTransientlyBeforeMovesToCompleted() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let files = try workspace.writeRun(runID, valid: 3, invalid: 1)
        var failed = RunEvent(runID: runID, status: .failed)
        failed.error = "transformer: cannot write: No space left on device"
        failed.setFailure(FailureReason(.transient, "disk_full"))
        try await queue.announce(failed, at: .phase2)
        try await queue.announce(Fixtures.event(runID, files: files, valid: 3, invalid: 1), at: .phase2)
        let saver = makeSaver(workspace, database: database, queue: queue, uploader: FakeUploader())
        #expect(try await run(saver) { try await database.run(runID)?.status == "completed" })
        let record = try #require(try await database.run(runID))
        #expect(record.validCount == 3)
        #expect(record.error == nil)
    }

    // MARK: Finding 3: the operator retry

    @Test func anOperatorRetryReopensAPermanentlyFailedRunThroughTheHandoff() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let files = try workspace.writeRun(runID, valid: 6, invalid: 2)
        var failed = RunEvent(runID: runID, status: .failed)
        failed.error = "saver: database disk image is malformed"
        failed.setFailure(FailureReason(.permanent, "database_corrupt"))
        try await database.recordEvent(failed)
        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader)

        // A plain announcement does not reopen a run failed for a permanent cause.
        try await saver.handle(Fixtures.event(runID, files: files, valid: 6, invalid: 2))
        #expect(try await database.run(runID)?.status == "failed")
        #expect(try await saver.unannouncedRuns(olderThan: 0).isEmpty)

        // The operator retries: the run is announced on phase2 and the saver finishes it.
        let retry = RunRetry(database: database, queue: queue, dataDirectory: workspace.dataDirectory, logger: .test)
        let outcomes = try await retry.retryFailed()
        #expect(outcomes.count == 1)
        #expect(try outcomes.first?.1.get() == .phase2)
        #expect(queue.announced(at: .phase2).last?.retryRequest != nil)
        #expect(try await run(saver) { try await database.run(runID)?.status == "completed" })
        let record = try #require(try await database.run(runID))
        #expect(record.validCount == 6)
        #expect(record.error == nil)
        #expect(uploader.attempts == 1)

        // The same retry delivered again changes nothing; a completed run is not retried by --retry-failed.
        let again = try #require(queue.announced(at: .phase2).last)
        try await saver.handle(again)
        #expect(uploader.attempts == 1)
        #expect(try await retry.retryFailed().isEmpty)
    }

    @Test func aRetryOfARunWithOnlyItsRawFileGoesToTheTransformer() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let files = workspace.files(runID)
        try workspace.write([Fixtures.user(id: 1)], to: files.raw)
        let retry = RunRetry(database: database, queue: queue, dataDirectory: workspace.dataDirectory, logger: .test)
        #expect(try await retry.retry(runID) == .phase1)
        let event = try #require(queue.announced(at: .phase1).first)
        #expect(event.status == .extracted)
        #expect(event.retryRequest?.hasPrefix("retry-") == true)

        let unfinished = RunID("20270115_090000")!
        try workspace.write([Fixtures.user(id: 1)], to: URL(fileURLWithPath: workspace.files(unfinished).raw.path + ".tmp"))
        await #expect(throws: RunRetry.RetryError.extractionUnfinished(unfinished)) { try await retry.retry(unfinished) }
        let nothing = RunID("20270115_100000")!
        await #expect(throws: RunRetry.RetryError.noFiles(nothing)) { try await retry.retry(nothing) }
    }
}
