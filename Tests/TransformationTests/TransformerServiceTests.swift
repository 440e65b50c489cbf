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
    }

    @Test func aFailedRunIsForwardedUnchanged() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        var event = RunEvent(runID: RunID("20261122_030000")!, status: .failed)
        event.error = "GET https://dummyjson.com/users?limit=100&skip=200: HTTP 503 after 4 attempts"
        event.extractStartedAt = "2026-11-22T03:00:00Z"
        try await queue.announce(event, at: .phase1)

        #expect(try await run(makeService(directory, queue: queue)) { !queue.announced(at: .phase2).isEmpty })
        #expect(queue.announced(at: .phase2) == [event])
        #expect(listDirectory(RunFiles.processedDirectory(directory.url)).isEmpty)
    }

    @Test func aRedeliveredRunIsReannouncedWithoutRewriting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_030000")!
        let files = RunFiles(dataDirectory: directory.url, runID: runID)
        try writeLines([userLine(), "[]"], to: files.raw)
        try await queue.announce(RunEvent(runID: runID, status: .extracted), at: .phase1)
        try await queue.announce(RunEvent(runID: runID, status: .extracted), at: .phase1)

        // Three announcements: the start-up scan finds the untransformed raw file, then both
        // deliveries of the (re-delivered) event re-announce the same counts.
        #expect(try await run(makeService(directory, queue: queue)) { queue.announced(at: .phase2).count == 3 })
        let announced = queue.announced(at: .phase2)
        #expect(announced.map(\.validCount) == [1, 1, 1])
        #expect(announced.map(\.invalidCount) == [1, 1, 1])
        #expect(announced.map(\.status) == [.transformed, .transformed, .transformed])
        #expect(try readLines(files.processed).count == 1)
        #expect(try readLines(files.deadLetter).count == 1)
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

    @Test func aRunThatKeepsFailingIsAnnouncedAsFailed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let queue = InMemoryRunEventQueue()
        let runID = RunID("20261122_030000")!
        var event = RunEvent(runID: runID, status: .extracted)
        event.extractedCount = 10
        try await queue.announce(event, at: .phase1)  // no raw file exists

        #expect(try await run(makeService(directory, queue: queue, maxDeliveries: 2)) { !queue.announced(at: .phase2).isEmpty })
        let failed = try #require(queue.announced(at: .phase2).first)
        #expect(queue.announced(at: .phase2).count == 1)
        #expect(failed.runID == runID)
        #expect(failed.status == .failed)
        #expect(failed.extractedCount == 10)
        let expectedPath = RunFiles(dataDirectory: directory.url, runID: runID).raw.path
        #expect(failed.error == "transformer: run 20261122_030000: raw file \(expectedPath) does not exist; nothing to transform")
        // Acknowledged: it is not delivered again.
        #expect(try await queue.next(at: .phase1, group: TransformerService.consumerGroup, consumer: "test", waitMilliseconds: 0) == nil)
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
