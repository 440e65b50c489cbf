import ETLCore
import Extraction
import Foundation
import Handoff
import Logging
import Synchronization
import TestSupport
import Testing

struct QueueDown: Error {}

/// A queue whose first `failures` announcements fail as if Redis were down.
final class FlakyQueue: RunEventQueue {
    let inner = InMemoryRunEventQueue()
    private let remaining: Mutex<Int>

    init(failures: Int) { remaining = Mutex(failures) }

    /// Redis is down from the moment the run completes: the progress reports sent while the
    /// pages came in got through, the first `failures` announcements of the run do not.
    func announce(_ event: RunEvent, at handoff: HandoffPoint) async throws {
        let fail = remaining.withLock { value -> Bool in
            guard value > 0, handoff != .progress else { return false }
            value -= 1
            return true
        }
        if fail { throw QueueDown() }
        try await inner.announce(event, at: handoff)
    }

    func next(at handoff: HandoffPoint, group: String, consumer: String, waitMilliseconds: Int) async throws -> Delivery? {
        try await inner.next(at: handoff, group: group, consumer: consumer, waitMilliseconds: waitMilliseconds)
    }

    func acknowledge(_ delivery: Delivery, group: String) async throws {
        try await inner.acknowledge(delivery, group: group)
    }
}

@Suite("Extraction under outages")
struct ExtractionResilienceTests {
    let logger = Logger(label: "test")

    func extraction(_ directory: URL, queue: any RunEventQueue, clock: TestClock, source: ScriptedSource,
                    shouldStop: @escaping @Sendable () -> Bool = { false }) -> Extraction {
        let configuration = ExtractorConfiguration(
            common: CommonConfiguration(dataDirectory: directory, redisURL: "redis://unused",
                                        retry: RetryPolicy(maxRetries: 3, baseSeconds: 1, factor: 2, jitter: 0), logLevel: .info),
            sourceURL: URL(string: "http://source.test/users")!, pageSize: 10)
        let fetcher = PageFetcher(http: source, sourceURL: configuration.sourceURL, timeoutSeconds: 1, retry: configuration.common.retry,
                                  clock: clock, randomUnit: { 0.5 }, logger: logger)
        return Extraction(configuration: configuration, fetcher: fetcher, queue: queue, clock: clock, logger: logger, shouldStop: shouldStop)
    }

    /// Bug found by the chaos test: Redis down at the moment a run completed made the run
    /// throw, and the service then slept until the next day's schedule with the run unannounced.
    @Test func aCompleteRunIsAnnouncedOnceRedisIsBack() async throws {
        let directory = try TestEnvironment.temporaryDirectory("extract")
        let clock = TestClock()
        let queue = FlakyQueue(failures: 4)
        let outcome = try await extraction(directory, queue: queue, clock: clock, source: ScriptedSource(userCount: 25)).run()
        guard case .completed(let event) = outcome else {
            Issue.record("not completed: \(outcome)")
            return
        }
        #expect(queue.inner.announced(at: .phase1) == [event])
        #expect(clock.sleeps == [1, 2, 4, 8])
        #expect(try CheckpointStore(dataDirectory: directory).load() == nil)
    }

    @Test func aShutdownDuringTheOutageKeepsTheCheckpointForTheNextStart() async throws {
        let directory = try TestEnvironment.temporaryDirectory("extract")
        let clock = TestClock()
        let queue = FlakyQueue(failures: 1_000)
        let stop = Mutex(false)
        let source = ScriptedSource(userCount: 25)
        let first = extraction(directory, queue: queue, clock: clock, source: source, shouldStop: {
            // Stop only once every page is in (so the outage is what is interrupted).
            source.requests.count >= 3 && stop.withLock { value in defer { value = true }; return value }
        })
        // Stopped while Redis is still down: a shutdown (exit 0), not a failed run.
        await #expect(throws: CancellationError.self) { try await first.run() }
        let checkpoint = try #require(try CheckpointStore(dataDirectory: directory).load())
        #expect(checkpoint.fetched == 25)
        // Redis is back: the next start only announces the complete run.
        let healthy = InMemoryRunEventQueue()
        let outcome = try await extraction(directory, queue: healthy, clock: clock, source: source).run()
        guard case .completed(let event) = outcome else {
            Issue.record("not completed: \(outcome)")
            return
        }
        #expect(event.runID == checkpoint.runID)
        #expect(healthy.announced(at: .phase1).count == 1)
        #expect(source.requests.count == 3)
        #expect(try String(contentsOfFile: event.rawFile!, encoding: .utf8).split(separator: "\n").map(String.init) == source.users)
    }

    /// A restart in the same second as the previous run's end must not reuse its id (the
    /// new run would rename its raw file over the previous run's).
    @Test func aNewRunNeverTakesTheIdOfAnExistingRawFile() async throws {
        let directory = try TestEnvironment.temporaryDirectory("extract")
        let clock = TestClock()
        let queue = InMemoryRunEventQueue()
        let source = ScriptedSource(userCount: 5)
        guard case .completed(let first) = try await extraction(directory, queue: queue, clock: clock, source: source).run(),
            case .completed(let second) = try await extraction(directory, queue: queue, clock: clock, source: source).run()
        else {
            Issue.record("runs did not complete")
            return
        }
        #expect(first.runID != second.runID)
        #expect(second.runID.date == first.runID.date.addingTimeInterval(1))
        #expect(FileManager.default.fileExists(atPath: first.rawFile!))
        #expect(FileManager.default.fileExists(atPath: second.rawFile!))
    }

    @Test func cancellationDuringABackoffInterruptsWithTheCheckpointKept() async throws {
        let directory = try TestEnvironment.temporaryDirectory("extract")
        let source = ScriptedSource(userCount: 30, faults: [1: .status(500)])
        let configuration = ExtractorConfiguration(
            common: CommonConfiguration(dataDirectory: directory, redisURL: "redis://unused",
                                        retry: RetryPolicy(maxRetries: 3, baseSeconds: 3600, factor: 1, jitter: 0), logLevel: .info),
            sourceURL: URL(string: "http://source.test/users")!, pageSize: 10)
        let clock = SystemClock()
        let fetcher = PageFetcher(http: source, sourceURL: configuration.sourceURL, timeoutSeconds: 1, retry: configuration.common.retry,
                                  clock: clock, logger: logger)
        let extraction = Extraction(configuration: configuration, fetcher: fetcher, queue: InMemoryRunEventQueue(), clock: clock, logger: logger)
        let task = Task { try await extraction.run() }
        while source.requests.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        let outcome = try await task.value
        guard case .interrupted(_, let fetched) = outcome else {
            Issue.record("not interrupted: \(outcome)")
            return
        }
        #expect(fetched == 10)
        #expect(try CheckpointStore(dataDirectory: directory).load()?.fetched == 10)
    }
}
