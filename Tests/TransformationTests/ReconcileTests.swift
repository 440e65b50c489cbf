import ETLCore
import Foundation
import Handoff
import Logging
import Testing
@testable import Transformation

@Suite("Transformer: runs whose announcement was lost")
struct TransformerReconcileTests {
    func service(_ directory: TemporaryDirectory, queue: InMemoryRunEventQueue, reconcileSeconds: Double = 60) -> TransformerService {
        let configuration = TransformerConfiguration(
            common: CommonConfiguration(
                dataDirectory: directory.url, redisURL: "redis://127.0.0.1:1/0",
                retry: RetryPolicy(maxRetries: 3, baseSeconds: 0, factor: 1, jitter: 0), logLevel: .info,
                reconcileIntervalSeconds: reconcileSeconds),
            departmentsCSV: directory.url.appendingPathComponent("departments.csv"), ageRange: 18...65)
        return TransformerService(
            configuration: configuration, departments: standardDepartments, queue: queue, logger: quietLogger,
            clock: InstantClock(), consumerName: "test", waitMilliseconds: 10)
    }

    func age(_ url: URL, seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-seconds)], ofItemAtPath: url.path)
    }

    /// Bug found by the chaos test: Redis killed with AOF `everysec` can lose the last second of
    /// acknowledged writes, e.g. the extractor's phase1 entry; the raw file then sat untransformed
    /// until the transformer happened to restart. The periodic scan finishes it.
    @Test func aRawFileOlderThanTheIntervalWithoutOutputsIsTransformedAndAnnounced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        try FileManager.default.createDirectory(at: RunFiles.rawDirectory(directory.url), withIntermediateDirectories: true)
        let queue = InMemoryRunEventQueue()
        let old = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_030000")!)
        let fresh = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_040000")!)
        try writeLines([userLine(), userLine(id: "2", age: "99")], to: old.raw)
        try writeLines([userLine()], to: fresh.raw)
        try age(old.raw, seconds: 120)
        let service = service(directory, queue: queue)
        // A fresh raw file is the consumer's business (its announcement is on the way).
        #expect(try service.pendingRuns(olderThan: 60) == [old.runID])
        #expect(try service.pendingRuns() == [old.runID, fresh.runID])
        await service.catchUp(olderThan: 60)
        let announced = queue.announced(at: .phase2)
        #expect(announced.map(\.runID) == [old.runID])
        #expect(announced.first?.validCount == 1)
        #expect(announced.first?.invalidCount == 1)
        #expect(try service.pendingRuns(olderThan: 60).isEmpty)
    }

    @Test func theServiceScansPeriodically() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        try FileManager.default.createDirectory(at: RunFiles.rawDirectory(directory.url), withIntermediateDirectories: true)
        let queue = InMemoryRunEventQueue()
        let service = service(directory, queue: queue, reconcileSeconds: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            try await Task.sleep(for: .milliseconds(200))
            // Appears after the start-up scan, never announced.
            let files = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_050000")!)
            try writeLines([userLine()], to: files.raw)
            try age(files.raw, seconds: 5)
            #expect(try await eventually(timeout: 10) { queue.announced(at: .phase2).count == 1 })
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
