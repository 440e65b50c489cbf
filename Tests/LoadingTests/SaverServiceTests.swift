import ETLCore
import Foundation
import GRDB
import Handoff
import Testing
@testable import Loading
import PipelineSchema

@Suite struct SaverServiceTests {
    let runID = RunID("20270115_080000")!

    func makeSaver(_ workspace: Workspace, database: PipelineDatabase, queue: InMemoryRunEventQueue,
                   uploader: FakeUploader, clock: TestClock) -> SaverService {
        SaverService(
            database: database, queue: queue, uploader: uploader, dataDirectory: workspace.dataDirectory,
            retry: RetryPolicy(maxRetries: 3, baseSeconds: 5, factor: 3, jitter: 0), maxUploadBackoffSeconds: 300,
            clock: clock, logger: .test, consumerName: "test", waitMilliseconds: 10)
    }

    @Test func completedPathLoadsUploadsAndAnnouncesPhase3() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let clock = TestClock()
        let files = try workspace.writeRun(runID, valid: 12, invalid: 3)
        try await queue.announce(Fixtures.event(runID, files: files, valid: 12, invalid: 3), at: .phase2)

        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader, clock: clock)
        let done = try await run(saver) { !queue.announced(at: .phase3).isEmpty }
        #expect(done)

        let record = try #require(try await database.run(runID))
        #expect(record.status == "completed")
        #expect(record.extractedCount == 15)
        #expect(record.validCount == 12)
        #expect(record.invalidCount == 3)
        #expect(record.rawFile == files.raw.path)
        #expect(record.extractStartedAt == "2027-01-15T08:00:00Z")
        #expect(record.transformFinishedAt == "2027-01-15T08:00:07Z")
        #expect(record.loadStartedAt != nil)
        #expect(record.loadFinishedAt != nil)
        #expect(record.uploadFinishedAt != nil)
        #expect(record.uploadedFiles == [
            "upload/records_20270115_080000.jsonl", "upload/etl_20270115_080000.jsonl",
            "upload/invalid_users_20270115_080000.jsonl",
        ])
        #expect(record.error == nil)
        #expect(try await database.rowCount(.raw, runID: runID) == 15)
        #expect(try await database.rowCount(.processed, runID: runID) == 12)
        #expect(try await database.rowCount(.invalid, runID: runID) == 3)

        let announced = queue.announced(at: .phase3)
        #expect(announced.count == 1)
        #expect(announced.first?.runID == runID)
        #expect(announced.first?.status == .completed)
        #expect(announced.first?.validCount == 12)
        #expect(announced.first?.uploadedFiles?.count == 3)
        // Acknowledged: nothing is delivered again to the saver group.
        let redelivery = try await queue.next(at: .phase2, group: SaverService.group, consumer: "test", waitMilliseconds: 0)
        #expect(redelivery == nil)
    }

    @Test func redeliveryOfACompletedRunDuplicatesNothing() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let files = try workspace.writeRun(runID, valid: 5, invalid: 2)
        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader, clock: TestClock())
        let event = Fixtures.event(runID, files: files, valid: 5, invalid: 2)
        try await saver.handle(event)
        try await saver.handle(event)
        #expect(try await database.rowCount(.raw, runID: runID) == 7)
        #expect(try await database.rowCount(.processed, runID: runID) == 5)
        #expect(try await database.rowCount(.invalid, runID: runID) == 2)
        #expect(try await database.run(runID)?.status == "completed")
        let runs = try await database.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM etl_runs") }
        #expect(runs == 1)
    }

    @Test func sftpDownLeavesTheRunPendingThenTheRetryServiceCompletesIt() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader(failures: 2)
        let clock = TestClock()
        let files = try workspace.writeRun(runID, valid: 8, invalid: 2)
        try await queue.announce(Fixtures.event(runID, files: files, valid: 8, invalid: 2), at: .phase2)
        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader, clock: clock)

        // The load completes and the delivery is acknowledged although SFTP is down.
        let pending = try await run(saver) { try await database.run(runID)?.status == "upload_pending" }
        #expect(pending)
        var record = try #require(try await database.run(runID))
        #expect(record.uploadAttempts == 1)
        #expect(record.error?.contains("connection refused (fake)") == true)
        #expect(record.loadFinishedAt != nil)
        #expect(record.nextUploadAt == ISO8601.string(from: clock.now().addingTimeInterval(5)))  // base 5 s, no jitter
        #expect(try await database.rowCount(.processed, runID: runID) == 8)
        #expect(try await database.rowCount(.invalid, runID: runID) == 2)
        #expect(queue.announced(at: .phase3).isEmpty)
        #expect(try await queue.next(at: .phase2, group: SaverService.group, consumer: "test", waitMilliseconds: 0) == nil)

        let retrier = UploadRetryService(saver: saver, pollSeconds: 2)
        // Not due yet: nothing is attempted.
        #expect(await retrier.retryDueUploads().isEmpty)
        #expect(uploader.attempts == 1)

        // Due: the second attempt fails too, with a longer backoff (15 s).
        clock.advance(by: 5)
        let second = await retrier.retryDueUploads()
        guard case .pending(let attempts, let next, _) = second[runID] else {
            Issue.record("expected a pending outcome, got \(second)")
            return
        }
        #expect(attempts == 2)
        #expect(next == clock.now().addingTimeInterval(15))
        record = try #require(try await database.run(runID))
        #expect(record.status == "upload_pending")
        #expect(record.uploadAttempts == 2)

        // The service loop (with the test clock) finishes it once SFTP is back.
        let task = Task { try await retrier.run() }
        let completed = try await eventually { try await database.run(runID)?.status == "completed" }
        task.cancel()
        _ = await task.result
        #expect(completed)
        record = try #require(try await database.run(runID))
        #expect(record.uploadAttempts == 2)
        #expect(record.error == nil)
        #expect(record.uploadedFiles.count == 3)
        #expect(uploader.attempts == 3)
        #expect(queue.announced(at: .phase3).map(\.runID) == [runID])
    }

    @Test func backoffIsCapped() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let uploader = FakeUploader(failures: 100)
        let clock = TestClock()
        try workspace.writeRun(runID, valid: 1, invalid: 1)
        let saver = makeSaver(workspace, database: database, queue: InMemoryRunEventQueue(), uploader: uploader, clock: clock)
        try await database.recordEvent(RunEvent(runID: runID, status: .uploading))
        var last: Date?
        for _ in 0..<8 {
            if case .pending(_, let next, _) = try await saver.upload.attempt(runID) { last = next }
        }
        #expect(last == clock.now().addingTimeInterval(300))
    }

    @Test func aFailedEventIsRecordedWithItsErrorAndItsCompleteRawFile() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let files = workspace.files(runID)
        try workspace.write([Fixtures.user(id: 1), Fixtures.user(id: 2)], to: files.raw)
        var failed = RunEvent(runID: runID, status: .failed)
        failed.error = "GET https://dummyjson.com/users?limit=100&skip=200 failed: HTTP 500 after 4 attempts"
        failed.extractStartedAt = "2027-01-15T08:00:00Z"
        try await queue.announce(failed, at: .phase2)
        let other = try #require(RunID("20270115_090000"))
        // Failed during extraction: only the extractor's temporary raw file exists.
        try workspace.write([Fixtures.user(id: 1)], to: URL(fileURLWithPath: workspace.files(other).raw.path + ".tmp"))
        var noRaw = RunEvent(runID: other, status: .failed)
        noRaw.error = "transformer crashed"
        try await queue.announce(noRaw, at: .phase2)

        let saver = makeSaver(workspace, database: database, queue: queue, uploader: uploader, clock: TestClock())
        let recorded = try await run(saver) { try await database.run(other) != nil }
        #expect(recorded)

        let record = try #require(try await database.run(runID))
        #expect(record.status == "failed")
        #expect(record.error == failed.error)
        #expect(record.extractStartedAt == "2027-01-15T08:00:00Z")
        #expect(record.extractedCount == 2)
        #expect(try await database.rowCount(.raw, runID: runID) == 2)
        let second = try #require(try await database.run(other))
        #expect(second.status == "failed")
        #expect(second.error == "transformer crashed")
        #expect(try await database.rowCount(.raw, runID: other) == 0)
        #expect(uploader.attempts == 0)
        #expect(queue.announced(at: .phase3).isEmpty)
    }

    @Test func aRunWhoseFilesAreMissingIsRetriedThenRecordedFailed() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let files = workspace.files(runID)
        try workspace.write([Fixtures.user(id: 1)], to: files.raw)  // processed and dlq are missing
        try await queue.announce(Fixtures.event(runID, files: files, valid: 1, invalid: 0), at: .phase2)
        let saver = SaverService(
            database: database, queue: queue, uploader: FakeUploader(), dataDirectory: workspace.dataDirectory,
            retry: RetryPolicy(maxRetries: 3, baseSeconds: 0, factor: 1, jitter: 0), clock: TestClock(), logger: .test,
            consumerName: "test", waitMilliseconds: 10, maxDeliveries: 2)
        let failed = try await run(saver) { try await database.run(runID)?.status == "failed" }
        #expect(failed)
        let record = try #require(try await database.run(runID))
        #expect(record.error?.contains("etl_20270115_080000.jsonl does not exist") == true)
    }
}
