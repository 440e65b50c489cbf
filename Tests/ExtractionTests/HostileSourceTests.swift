import CurlHTTP
import ETLCore
import Extraction
import FixtureSource
import Foundation
import Handoff
import Logging
import TestSupport
import Testing

/// The extractor against a source that lies and a disk that refuses, over real HTTP (the
/// fixture source and libcurl): issue 9, findings 2, 4, 5, 7, 9 and 11.
@Suite("Extraction against a hostile source and disk")
struct HostileSourceTests {
    let logger = Logger(label: "test")

    struct Harness {
        let directory: URL
        let clock = TestClock()
        let queue = InMemoryRunEventQueue()
        let configuration: ExtractorConfiguration

        init(sourceURL: String, pageSize: Int = 100, allowedRedirectHosts: Set<String> = []) throws {
            directory = try TestEnvironment.temporaryDirectory("hostile")
            configuration = ExtractorConfiguration(
                common: CommonConfiguration(
                    dataDirectory: directory, redisURL: "redis://unused",
                    retry: RetryPolicy(maxRetries: 2, baseSeconds: 0.01, factor: 2, jitter: 0), logLevel: .info),
                sourceURL: URL(string: sourceURL)!, pageSize: pageSize, allowedRedirectHosts: allowedRedirectHosts)
        }

        func extraction(shouldStop: @escaping @Sendable () -> Bool = { false }) -> Extraction {
            let fetcher = PageFetcher(
                http: CurlSource(allowedRedirectHosts: configuration.allowedRedirectHosts), sourceURL: configuration.sourceURL,
                timeoutSeconds: 5, retry: configuration.common.retry, clock: clock, randomUnit: { 0.5 }, logger: Logger(label: "test"))
            return Extraction(configuration: configuration, fetcher: fetcher, queue: queue, clock: clock,
                              logger: Logger(label: "test"), shouldStop: shouldStop)
        }

        var checkpoint: ExtractionCheckpoint? { try? CheckpointStore(dataDirectory: directory).load() }
        var failures: [RunEvent] { queue.announced(at: .phase1).filter { $0.status == .failed } }
        /// The id the next new run gets (the test clock does not move unless a retry sleeps).
        var nextRunID: RunID { RunID(date: clock.now()) }
    }


    func rawIDs(_ event: RunEvent) throws -> [Int] {
        var ids: [Int] = []
        try LineReader(path: event.rawFile!).forEachLine { line in
            ids.append((try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["id"] as? Int ?? -1)
        }
        return ids
    }

    // MARK: Finding 4: an empty page before `total`

    @Test func anEmptyPageBeforeTotalIsRetriedThenFailsTheRunInsteadOfCompletingIt() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 208, emptyPageSkip: 100)) { source in
            let harness = try Harness(sourceURL: source.usersURL)
            await #expect(throws: ExtractionFailure.self) { try await harness.extraction().run() }
            // One request for skip=0, then skip=100 three times (RETRY_MAX=2).
            #expect(source.state.requestCount == 4)
            let checkpoint = try #require(harness.checkpoint)
            #expect(checkpoint.fetched == 100)
            let failure = try #require(harness.failures.last)
            #expect(failure.error?.contains("0 users at skip=100 where total=208") == true)
            #expect(harness.queue.announced(at: .phase1).allSatisfy { $0.status == .failed })
            #expect(!FileManager.default.fileExists(atPath: RunFiles(dataDirectory: harness.directory, runID: checkpoint.runID).raw.path))
        }
    }

    // MARK: Finding 5: a source that ignores `skip`; duplicate ids

    @Test func aSourceThatIgnoresSkipFailsTheRunInsteadOfRepeatingItsFirstPage() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 250, ignoreSkip: true)) { source in
            let harness = try Harness(sourceURL: source.usersURL)
            await #expect(throws: ExtractionFailure.self) { try await harness.extraction().run() }
            #expect(harness.checkpoint?.fetched == 100)
            let failure = try #require(harness.failures.last)
            #expect(failure.error?.contains("skip=0 for a request with skip=100") == true)
        }
    }

    @Test func duplicateIDsAreCountedAcrossPagesAndAResumeAndReportedInTheEvent() async throws {
        let file = try TestEnvironment.temporaryDirectory("dupes").appendingPathComponent("users.json")
        let ids = [1, 2, 3, 2, 4, 1, 5, 3, 6]  // three repeats
        try Data(("[" + ids.map { #"{"id":\#($0),"firstName":"U\#($0)"}"# }.joined(separator: ",") + "]").utf8).write(to: file)
        try await withFixtureServer(FixtureOptions(fixtureFile: file.path)) { source in
            let harness = try Harness(sourceURL: source.usersURL, pageSize: 2)
            // Stop after two pages, as if killed: the resumed run must still count the repeats of those pages.
            let state = source.state
            guard case .interrupted = try await harness.extraction(shouldStop: { state.requestCount >= 2 }).run() else {
                Issue.record("expected an interrupted run"); return
            }
            guard case .completed(let event) = try await harness.extraction().run() else {
                Issue.record("expected a completed run"); return
            }
            #expect(try rawIDs(event) == ids)
            #expect(event.duplicateIDs == 3)
            #expect(event.jsonString().contains(#""duplicate_ids":3"#))
        }
    }

    // MARK: Finding 9: a record beyond the nesting limit

    @Test func aRecordNestedBeyondTheLimitIsWrittenAsReceivedWithoutFailingItsPage() async throws {
        let deep = String(repeating: #"{"a":"#, count: 300) + "1" + String(repeating: "}", count: 300)
        let record = #"{"id":2,"deep":"# + deep + "}"
        let file = try TestEnvironment.temporaryDirectory("deep").appendingPathComponent("users.json")
        try Data((#"{"users":[{"id":1},"# + record + #",{"id":3}]}"#).utf8).write(to: file)
        try await withFixtureServer(FixtureOptions(fixtureFile: file.path)) { source in
            let harness = try Harness(sourceURL: source.usersURL)
            guard case .completed(let event) = try await harness.extraction().run() else {
                Issue.record("expected a completed run"); return
            }
            let lines = try String(contentsOfFile: event.rawFile!, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines == [#"{"id":1}"#, record, #"{"id":3}"#])
            #expect(event.extractedCount == 3)
        }
    }

    // MARK: Finding 7: failures other than fetch errors reach the ledger

    @Test func aRawFileThatCannotBeWrittenFailsTheRunWithItsReason() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 20)) { source in
            let harness = try Harness(sourceURL: source.usersURL)
            // A directory where the run's temporary raw file must go: opening it fails like a full or read-only disk.
            let temporary = RunFiles(dataDirectory: harness.directory, runID: harness.nextRunID).raw.path + ".tmp"
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            await #expect(throws: ExtractionFailure.self) { try await harness.extraction().run() }
            let failure = try #require(harness.failures.last)
            #expect(failure.runID == harness.nextRunID)
            #expect(failure.error?.contains(temporary) == true)
            #expect(harness.checkpoint?.lastError == failure.error)
        }
    }

    @Test(arguments: ["raw_users", "state"])
    func aFileWhereADataDirectoryShouldBeFailsTheRunWithItsReason(directory: String) async throws {
        try await withFixtureServer(FixtureOptions(userCount: 20)) { source in
            let harness = try Harness(sourceURL: source.usersURL)
            try Data("not a directory".utf8).write(to: harness.directory.appendingPathComponent(directory))
            await #expect(throws: ExtractionFailure.self) { try await harness.extraction().run() }
            let failure = try #require(harness.failures.last)
            #expect(failure.error?.contains(directory) == true)
            #expect(source.state.requestCount == 0)
        }
    }

    // MARK: Finding 2: one extraction at a time

    @Test func aSecondExtractionWhileOneRunsIsRefusedNamingTheRunThatHoldsTheLock() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 500, slowMilliseconds: 150)) { source in
            let harness = try Harness(sourceURL: source.usersURL)
            let first = Task { try await harness.extraction().run() }
            // Wait until the first run is under way (it has asked for a page).
            let deadline = Date().addingTimeInterval(20)
            while source.state.requestCount == 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let runID = try #require(harness.checkpoint?.runID)

            let second = await #expect(throws: ExtractionLockError.self) { try await harness.extraction().run() }
            #expect(second?.description.contains("run \(runID)") == true)
            #expect(harness.failures.isEmpty, "a refused second extraction must not fail the running one")

            guard case .completed(let event) = try await first.value else { Issue.record("expected a completed run"); return }
            #expect(event.runID == runID)
            #expect(try rawIDs(event) == Array(1...500))
            // The lock is free again once the run is over.
            guard case .completed = try await harness.extraction().run() else { Issue.record("expected a completed run"); return }
        }
    }

    // MARK: Finding 11: redirects to another host

    @Test func aRedirectToAnotherHostIsRefusedUnlessThatHostIsAllowed() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 30)) { real in
            // Same address, another port: another host:port, so another origin.
            try await withFixtureServer(FixtureOptions(userCount: 0, redirectTo: real.usersURL)) { redirecting in
                let refused = try Harness(sourceURL: redirecting.usersURL)
                await #expect(throws: ExtractionFailure.self) { try await refused.extraction().run() }
                #expect(refused.failures.last?.error?.contains("another host: refused") == true)
                #expect(real.state.requestCount == 0, "the other host must never be contacted")

                let allowed = try Harness(sourceURL: redirecting.usersURL, allowedRedirectHosts: ["127.0.0.1:\(real.port)"])
                guard case .completed(let event) = try await allowed.extraction().run() else {
                    Issue.record("expected a completed run"); return
                }
                #expect(try rawIDs(event) == Array(1...30))
            }
        }
    }
}
