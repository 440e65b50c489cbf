import ETLCore
import Foundation
import Handoff
import Testing
@testable import Loading
import PipelineSchema

/// Every status the ledger names is written when it happens: the saver records what the
/// upstream stages report on `HandoffPoint.progress` (`extracting` with the users fetched so
/// far, `transforming`), never moving a run backwards and never for a run without files.
@Suite struct ProgressTests {
    let runID = RunID("20270115_090000")!

    func makeSaver(_ workspace: Workspace, database: PipelineDatabase, queue: InMemoryRunEventQueue) -> SaverService {
        SaverService(
            database: database, queue: queue, uploader: FakeUploader(), dataDirectory: workspace.dataDirectory,
            retry: RetryPolicy(maxRetries: 3, baseSeconds: 0, factor: 1, jitter: 0), clock: TestClock(), logger: .test,
            consumerName: "test", waitMilliseconds: 10, reconcileIntervalSeconds: 3600)
    }

    private func extracting(_ count: Int) -> RunEvent {
        var event = RunEvent(runID: runID, status: .extracting)
        event.attempt = 1
        event.extractedCount = count
        event.extractStartedAt = "2027-01-15T09:00:00Z"
        return event
    }

    @Test func aRunShowsExtractingWithItsProgressThenTransformingThenWhereItEnds() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let saver = makeSaver(workspace, database: database, queue: InMemoryRunEventQueue())
        let files = workspace.files(runID)
        try workspace.write([Fixtures.user(id: 1)], to: URL(fileURLWithPath: files.raw.path + ".tmp"))

        try await saver.recordProgress(extracting(100))
        #expect(try await database.run(runID)?.status == "extracting")
        #expect(try await database.run(runID)?.extractedCount == 100)
        try await saver.recordProgress(extracting(200))
        #expect(try await database.run(runID)?.extractedCount == 200)

        var transforming = RunEvent(runID: runID, status: .transforming)
        transforming.transformStartedAt = "2027-01-15T09:00:05Z"
        try await saver.recordProgress(transforming)
        #expect(try await database.run(runID)?.status == "transforming")
        #expect(try await database.run(runID)?.transformStartedAt == "2027-01-15T09:00:05Z")

        // A report redelivered late never moves the run back.
        try await saver.recordProgress(extracting(200))
        #expect(try await database.run(runID)?.status == "transforming")

        _ = try workspace.writeRun(runID, valid: 2, invalid: 1)
        try await saver.handle(Fixtures.event(runID, files: files, valid: 2, invalid: 1))
        #expect(try await database.run(runID)?.status == "completed")
        try await saver.recordProgress(extracting(300))
        #expect(try await database.run(runID)?.status == "completed")
    }

    @Test func aReportForARunWithoutFilesOrOfAnotherStatusChangesNothing() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let saver = makeSaver(workspace, database: database, queue: InMemoryRunEventQueue())
        try await saver.recordProgress(extracting(100))  // no file of the run exists: a phantom
        #expect(try await database.run(runID) == nil)

        try workspace.write([Fixtures.user(id: 1)], to: URL(fileURLWithPath: workspace.files(runID).raw.path + ".tmp"))
        var completed = extracting(100)
        completed.status = .completed  // only a stage at work may be reported on this stream
        try await saver.recordProgress(completed)
        #expect(try await database.run(runID) == nil)
    }

    @Test func theSaverConsumesTheProgressStream() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let saver = makeSaver(workspace, database: database, queue: queue)
        try workspace.write([Fixtures.user(id: 1)], to: URL(fileURLWithPath: workspace.files(runID).raw.path + ".tmp"))
        try await queue.announce(extracting(40), at: .progress)
        #expect(try await run(saver) { try await database.run(runID)?.extractedCount == 40 })
        #expect(try await database.run(runID)?.status == "extracting")
    }

    /// Found by the integration test: the saver reads reports and hand-offs side by side, so
    /// the first page's `extracting` report may be taken while the run already loads. It
    /// must not overwrite the count the run's later stages wrote.
    @Test func aLateReportNeverOverwritesWhatLaterStagesWrote() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let saver = makeSaver(workspace, database: database, queue: InMemoryRunEventQueue())
        _ = try workspace.writeRun(runID, valid: 2, invalid: 1)
        var loading = RunEvent(runID: runID, status: .loading)
        loading.attempt = 1
        loading.extractedCount = 1000
        try await database.recordEvent(loading)

        try await saver.recordProgress(extracting(100))
        #expect(try await database.run(runID)?.status == "loading")
        #expect(try await database.run(runID)?.extractedCount == 1000)
    }

    @Test func aFailedRunTakesReportsOnlyFromANewAttempt() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let saver = makeSaver(workspace, database: database, queue: InMemoryRunEventQueue())
        try workspace.write([Fixtures.user(id: 1)], to: URL(fileURLWithPath: workspace.files(runID).raw.path + ".tmp"))
        var failed = RunEvent(runID: runID, status: .failed)
        failed.attempt = 1
        failed.error = "HTTP 503 after 4 attempts"
        failed.setFailure(FailureReason(.transient, "unknown"))
        try await database.recordEvent(failed)

        try await saver.recordProgress(extracting(100))  // attempt 1, taken late
        #expect(try await database.run(runID)?.status == "failed")
        var resumed = extracting(300)
        resumed.attempt = 2
        try await saver.recordProgress(resumed)
        #expect(try await database.run(runID)?.status == "extracting")
        #expect(try await database.run(runID)?.extractedCount == 300)
    }
}
