import ETLCore
import Foundation
import Handoff
import Testing
@testable import Loading
import PipelineSchema

@Suite struct SaverReconcileTests {
    func age(_ url: URL, seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-seconds)], ofItemAtPath: url.path)
    }

    /// Bug found by the chaos test: Redis killed (AOF `everysec`) right after the transformer's
    /// phase2 XADD lost that entry; the run's files were complete but the saver never heard of
    /// it, so the run never reached `etl_runs`. The periodic scan loads it.
    @Test func aTransformedRunUnknownToTheLedgerIsLoadedAndUploaded() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let queue = InMemoryRunEventQueue()
        let uploader = FakeUploader()
        let lost = RunID("20270115_080000")!
        let known = RunID("20270115_090000")!
        let fresh = RunID("20270115_100000")!
        let lostFiles = try workspace.writeRun(lost, valid: 4, invalid: 2)
        let knownFiles = try workspace.writeRun(known, valid: 1, invalid: 1)
        _ = try workspace.writeRun(fresh, valid: 1, invalid: 1)
        try age(lostFiles.processed, seconds: 120)
        try age(knownFiles.processed, seconds: 120)
        try await database.recordEvent(RunEvent(runID: known, status: .loading))
        let saver = SaverService(
            database: database, queue: queue, uploader: uploader, dataDirectory: workspace.dataDirectory,
            retry: RetryPolicy(maxRetries: 3, baseSeconds: 5, factor: 3, jitter: 0), clock: TestClock(), logger: .test,
            consumerName: "test", waitMilliseconds: 10, reconcileIntervalSeconds: 60)

        #expect(try await saver.unannouncedRuns(olderThan: 60) == [lost])
        await saver.catchUp(olderThan: 60)
        let record = try #require(try await database.run(lost))
        #expect(record.status == "completed")
        #expect(try await database.rowCount(.raw, runID: lost) == 6)
        #expect(try await database.rowCount(.processed, runID: lost) == 4)
        #expect(try await database.rowCount(.invalid, runID: lost) == 2)
        #expect(try await saver.unannouncedRuns(olderThan: 60).isEmpty)
        #expect(try await database.run(fresh) == nil)
    }

    /// Found by the chaos test after progress reports came in: a Redis power loss lost the
    /// `phase2` entry of a run the ledger knew only as `extracting`. A run known only from
    /// progress reports, with its outputs on disk, was transformed unannounced: it is loaded.
    @Test(arguments: [RunStatus.extracting, .transforming])
    func aTransformedRunKnownOnlyFromProgressReportsIsLoaded(_ reported: RunStatus) async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let lost = RunID("20270115_080000")!
        let files = try workspace.writeRun(lost, valid: 3, invalid: 1)
        try age(files.processed, seconds: 120)
        var progress = RunEvent(runID: lost, status: reported)
        progress.extractedCount = 2
        try await database.recordEvent(progress)
        let saver = SaverService(
            database: database, queue: InMemoryRunEventQueue(), uploader: FakeUploader(), dataDirectory: workspace.dataDirectory,
            retry: RetryPolicy(maxRetries: 3, baseSeconds: 5, factor: 3, jitter: 0), clock: TestClock(), logger: .test,
            consumerName: "test", waitMilliseconds: 10, reconcileIntervalSeconds: 60)

        #expect(try await saver.unannouncedRuns(olderThan: 60) == [lost])
        await saver.catchUp(olderThan: 60)
        #expect(try await database.run(lost)?.status == "completed")
        #expect(try await database.rowCount(.processed, runID: lost) == 3)
        #expect(try await saver.unannouncedRuns(olderThan: 60).isEmpty)
    }
}
