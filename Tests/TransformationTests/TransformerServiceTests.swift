import ETLCore
import Foundation
import Handoff
import Logging
import ServiceLifecycle
import Testing
@testable import Transformation

@Suite("Transformer service")
struct TransformerServiceTests {
    func configuration(_ directory: TemporaryDirectory) -> TransformerConfiguration {
        TransformerConfiguration(
            common: CommonConfiguration(
                dataDirectory: directory.url, redisURL: "redis://127.0.0.1:1/0",
                retry: RetryPolicy(maxRetries: 3, baseSeconds: 0, factor: 1, jitter: 0), logLevel: .info),
            departmentsCSV: directory.url.appendingPathComponent("departments.csv"), ageRange: 18...65)
    }

    func makeService(_ directory: TemporaryDirectory, queue: InMemoryRunEventQueue, maxDeliveries: Int = 5) -> TransformerService {
        TransformerService(
            configuration: configuration(directory), departments: standardDepartments, queue: queue, logger: quietLogger,
            clock: InstantClock(), consumerName: "test", maxDeliveries: maxDeliveries, waitMilliseconds: 10)
    }

    /// Runs the service until `done` holds (or a timeout), then cancels it.
    func run(_ service: TransformerService, until done: @escaping @Sendable () -> Bool) async throws -> Bool {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            let finished = try await eventually(done)
            group.cancelAll()
            try await group.waitForAll()
            return finished
        }
    }

    @Test func anAnnouncedRunIsTransformedAndAnnounced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_030000")!
        let files = RunFiles(dataDirectory: directory.url, runID: runID)
        var event = RunEvent(runID: runID, status: .extracted)
        event.rawFile = "/somewhere/else/records_20261122_030000.jsonl"  // the run id decides, not this path
        event.extractedCount = 4
        event.extractStartedAt = "2026-11-22T03:00:00Z"
        event.extractFinishedAt = "2026-11-22T03:00:05Z"
        // The raw file appears once the service is consuming, so the start-up scan does not see it:
        // a failed run of another id goes first, and its forwarding proves the consumer runs.
        let marker = RunEvent(runID: RunID("20261121_030000")!, status: .failed)
        // A run that failed during extraction: only its temporary raw file exists.
        let markerFiles = RunFiles(dataDirectory: directory.url, runID: marker.runID)
        try writeLines([userLine()], to: URL(fileURLWithPath: markerFiles.raw.path + ".tmp"))
        try await queue.announce(marker, at: .phase1)
        let rawLines = [userLine(), userLine(id: "2", age: "80"), "oops", userLine(id: "3")]
        let service = makeService(directory, queue: queue)
        let extracted = event
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            #expect(try await eventually { queue.announced(at: .phase2) == [marker] })
            try writeLines(rawLines, to: files.raw)
            try await queue.announce(extracted, at: .phase1)
            #expect(try await eventually { queue.announced(at: .phase2).count == 2 })
            group.cancelAll()
            try await group.waitForAll()
        }

        let announced = queue.announced(at: .phase2)
        #expect(announced.count == 2)
        let output = try #require(announced.last)
        #expect(output.runID == runID)
        #expect(output.status == .transformed)
        #expect(output.rawFile == files.raw.path)
        #expect(output.processedFile == files.processed.path)
        #expect(output.dlqFile == files.deadLetter.path)
        #expect(output.validCount == 2)
        #expect(output.invalidCount == 2)
        #expect(output.extractedCount == 4)
        #expect(output.extractStartedAt == "2026-11-22T03:00:00Z")
        #expect(output.extractFinishedAt == "2026-11-22T03:00:05Z")
        #expect(output.error == nil)
        let started = try #require(output.transformStartedAt)
        let finished = try #require(output.transformFinishedAt)
        #expect(started.count == 20 && started.hasSuffix("Z") && started <= finished)
        #expect(try readLines(files.processed).count == 2)
        #expect(try readLines(files.deadLetter).count == 2)
        // While it worked, the ledger was told the run is transforming.
        let reports = queue.announced(at: .progress)
        #expect(reports.map(\.status) == [.transforming])
        #expect(reports.last?.runID == runID)
        #expect(reports.last.flatMap(\.transformStartedAt).map { $0 <= started } == true)
    }

    @Test func aFailedRunIsForwardedUnchanged() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        var event = RunEvent(runID: RunID("20261122_030000")!, status: .failed)
        event.error = "GET https://dummyjson.com/users?limit=100&skip=200: HTTP 503 after 4 attempts"
        event.extractStartedAt = "2026-11-22T03:00:00Z"
        let files = RunFiles(dataDirectory: directory.url, runID: event.runID)
        try writeLines([userLine()], to: URL(fileURLWithPath: files.raw.path + ".tmp"))
        try await queue.announce(event, at: .phase1)

        #expect(try await run(makeService(directory, queue: queue)) { !queue.announced(at: .phase2).isEmpty })
        #expect(queue.announced(at: .phase2) == [event])
        #expect(listDirectory(RunFiles.processedDirectory(directory.url)).isEmpty)
    }

    /// Issue 8 (double announcement): at start the catch-up scan finds the raw file the
    /// extractor has just renamed, and the stream consumer then gets the extractor's
    /// announcement of the same run (here twice: a re-delivery). Before the fix each of the
    /// three re-announced the run and the saver loaded and uploaded it three times.
    @Test func aRunFoundByTheScanAndDeliveredTwiceIsAnnouncedOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_030000")!
        let files = RunFiles(dataDirectory: directory.url, runID: runID)
        try writeLines([userLine(), "[]"], to: files.raw)
        try await queue.announce(RunEvent(runID: runID, status: .extracted), at: .phase1)
        try await queue.announce(RunEvent(runID: runID, status: .extracted), at: .phase1)

        let service = makeService(directory, queue: queue)
        #expect(try await run(service) {
            // Both phase1 deliveries handled and acknowledged.
            queue.pendingCount(at: .phase1, group: TransformerService.consumerGroup) == 0
                && queue.deliveredCount(at: .phase1, group: TransformerService.consumerGroup) == 2
        })
        let announced = queue.announced(at: .phase2)
        #expect(announced.count == 1)
        #expect(announced.first?.validCount == 1)
        #expect(announced.first?.invalidCount == 1)
        #expect(announced.first?.status == .transformed)
        #expect(try readLines(files.processed).count == 1)
        #expect(try readLines(files.deadLetter).count == 1)
    }

    /// A crash between the rename of the outputs and the announcement: the re-delivery finds
    /// the run transformed but never announced, and announces it.
    @Test func aTransformedRunWhoseAnnouncementIsMissingIsAnnounced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_030000")!
        let files = RunFiles(dataDirectory: directory.url, runID: runID)
        try writeLines([userLine()], to: files.raw)
        try writeLines([userLine()], to: files.processed)
        try writeLines([], to: files.deadLetter)
        try await queue.announce(RunEvent(runID: runID, status: .extracted), at: .phase1)
        #expect(try await run(makeService(directory, queue: queue)) { queue.announced(at: .phase2).count == 1 })
        #expect(queue.announced(at: .phase2).first?.validCount == 1)
    }

    /// Issue 9, finding 10: an event for a run with no file on disk is dropped (acknowledged,
    /// never announced): no phantom run reaches the ledger.
    @Test func anEventForARunWithNoFileIsRejected() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let phantom = RunID("20261122_030000")!
        var extracted = RunEvent(runID: phantom, status: .extracted)
        extracted.extractedCount = 10
        try await queue.announce(extracted, at: .phase1)
        #expect(try await run(makeService(directory, queue: queue)) {
            queue.deliveredCount(at: .phase1, group: TransformerService.consumerGroup) == 1
                && queue.pendingCount(at: .phase1, group: TransformerService.consumerGroup) == 0
        })
        #expect(queue.announced(at: .phase2).isEmpty)
    }

    /// The extractor may fail before it writes any file; its failure report (a reason, no
    /// data) is forwarded so that it reaches the ledger.
    @Test func aFailureReportForARunWithNoFileIsForwarded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_040000")!
        var failed = RunEvent(runID: runID, status: .failed)
        failed.error = "cannot create raw_users"
        try await queue.announce(failed, at: .phase1)
        #expect(try await run(makeService(directory, queue: queue)) {
            queue.announced(at: .phase2).map(\.runID) == [runID]
        })
    }

    @Test func rawFilesLeftFromBeforeAreProcessedAtStartOldestFirst() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let newer = RunFiles(dataDirectory: directory.url, runID: RunID("20261123_030000")!)
        let older = RunFiles(dataDirectory: directory.url, runID: RunID("20261121_030000")!)
        let done = RunFiles(dataDirectory: directory.url, runID: RunID("20261120_030000")!)
        try writeLines([userLine(), userLine(id: "2")], to: newer.raw)
        try writeLines([userLine(), "{}", "[]"], to: older.raw)
        try writeLines([userLine()], to: done.raw)
        try writeLines([userLine()], to: done.processed)
        try writeLines([], to: done.deadLetter)
        // An extraction still in progress and unrelated files are ignored.
        try writeLines([userLine()], to: RunFiles.rawDirectory(directory.url).appendingPathComponent("records_20261124_030000.jsonl.tmp"))
        try writeLines([userLine()], to: RunFiles.rawDirectory(directory.url).appendingPathComponent("notes.txt"))

        let service = makeService(directory, queue: queue)
        #expect(try service.pendingRuns() == [older.runID, newer.runID])
        #expect(try await run(service) { queue.announced(at: .phase2).count >= 2 })
        try await Task.sleep(for: .milliseconds(50))

        let announced = queue.announced(at: .phase2)
        #expect(announced.map(\.runID) == [older.runID, newer.runID])
        #expect(announced.map(\.validCount) == [1, 2])
        #expect(announced.map(\.invalidCount) == [2, 0])
        #expect(announced.map(\.extractedCount) == [3, 2])
        #expect(announced.allSatisfy { $0.status == .transformed })
        #expect(!FileManager.default.fileExists(atPath: RunFiles(dataDirectory: directory.url, runID: RunID("20261124_030000")!).processed.path))
    }

    /// Issue 9, finding 3: the output cannot be written for longer than every delivery (here a
    /// directory stands where the DLQ file goes, so its rename fails; a full disk fails the
    /// same write path): the run is announced `failed` with a transient cause, and once the
    /// cause is gone the catch-up scan transforms and announces it.
    @Test func aRunFailedForATransientCauseIsTransformedWhenTheCauseClears() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_030000")!
        let files = RunFiles(dataDirectory: directory.url, runID: runID)
        try writeLines([userLine(), userLine(id: "2", age: "80")], to: files.raw)
        try FileManager.default.createDirectory(at: files.deadLetter, withIntermediateDirectories: true)
        var event = RunEvent(runID: runID, status: .extracted)
        event.extractedCount = 2
        try await queue.announce(event, at: .phase1)
        // The start-up scan fails too (logged); the consumer gives up after two deliveries.
        let service = makeService(directory, queue: queue, maxDeliveries: 2)
        #expect(try await run(service) { !queue.announced(at: .phase2).isEmpty })
        let failed = try #require(queue.announced(at: .phase2).first)
        #expect(failed.status == .failed)
        #expect(failed.failureKind == .transient)
        #expect(failed.failureCode == "io_error")
        #expect(failed.extractedCount == 2)
        #expect(try await queue.next(at: .phase1, group: TransformerService.consumerGroup, consumer: "test", waitMilliseconds: 0) == nil)

        // The cause clears: the periodic scan (raw file older than the interval) finishes the run.
        try FileManager.default.removeItem(at: files.deadLetter)
        await service.catchUp(olderThan: 0)
        let announced = queue.announced(at: .phase2)
        #expect(announced.map(\.status) == [.failed, .transformed])
        #expect(announced.last?.validCount == 1)
        #expect(announced.last?.invalidCount == 1)
    }

    @Test func gracefulShutdownStopsTheService() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_030000")!
        try writeLines([userLine()], to: RunFiles(dataDirectory: directory.url, runID: runID).raw)
        try await queue.announce(RunEvent(runID: runID, status: .extracted), at: .phase1)

        let group = ServiceGroup(services: [makeService(directory, queue: queue)], logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(try await eventually { !queue.announced(at: .phase2).isEmpty })
            await group.triggerGracefulShutdown()
            // Returns by itself (no cancellation needed).
            try await tasks.waitForAll()
        }
        #expect(queue.announced(at: .phase2).first?.validCount == 1)
    }
}
