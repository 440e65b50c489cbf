import ETLCore
import Extraction
import FixtureSource
import Foundation
import GRDB
import Handoff
import Loading
import Logging
import TestSupport
import Testing
import Transformation

#if canImport(Glibc)
import Glibc
#endif

/// Issue 9 across stages and processes: a record nested beyond the product's limit travels
/// from the source to the DLQ table without stalling anything, and two real extractor
/// processes never extract at once, even when one of them is killed with `kill -9`.
@Suite("A hostile world, end to end", .serialized)
struct HostileWorldTests {
    let logger = Logger(label: "hostile")

    @Test func aRecordNested300DeepIsDeadLetteredWithItsCodeAndTheRestOfTheRunGoesThrough() async throws {
        let data = try TestEnvironment.temporaryDirectory("deep")
        let users = FixtureUsers.generate(count: 5, invalidRate: 0, seed: 11).map { String(decoding: $0, as: UTF8.self) }
        let deep = #"{"id":99,"nested":"# + String(repeating: #"{"a":"#, count: 299) + "1" + String(repeating: "}", count: 299) + "}"
        let file = data.appendingPathComponent("users.json")
        try Data(("[" + (users[0..<2] + [deep] + users[2...]).joined(separator: ",") + "]").utf8).write(to: file)
        let source = try await RunningFixtureServer.start(options: FixtureOptions(fixtureFile: file.path))

        let configuration = ExtractorConfiguration(
            common: CommonConfiguration(dataDirectory: data, redisURL: "redis://unused", retry: RetryPolicy(maxRetries: 1, baseSeconds: 0.01, factor: 2), logLevel: .info),
            sourceURL: URL(string: source.usersURL)!, pageSize: 4)
        let fetcher = PageFetcher(http: CurlSource(), sourceURL: configuration.sourceURL, timeoutSeconds: 5,
                                  retry: configuration.common.retry, clock: SystemClock(), logger: logger)
        let outcome = try await Extraction(configuration: configuration, fetcher: fetcher, queue: InMemoryRunEventQueue(),
                                           clock: SystemClock(), logger: logger).run()
        await source.stop()
        guard case .completed(let event) = outcome else { Issue.record("the run did not complete: \(outcome)"); return }
        #expect(event.extractedCount == 6)

        let files = RunFiles(dataDirectory: data, runID: event.runID)
        let departments = try DepartmentLookup(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("config/departments.csv"))
        let result = try RunTransformer(validator: RecordValidator(ageRange: 0...200, departments: departments)).transform(files)
        #expect(result.validCount == 5 && result.invalidCount == 1)

        let database = try PipelineDatabase(path: data.appendingPathComponent("data.db").path)
        let loader = RunLoader(database: database)
        for (path, table) in [(files.raw, LoadTable.raw), (files.processed, .processed), (files.deadLetter, .invalid)] {
            _ = try await loader.load(path, into: table, runID: event.runID)
        }
        let (processed, codes) = try await database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM processed_users") ?? 0,
             try String.fetchAll(db, sql: "SELECT error_codes FROM invalid_users"))
        }
        #expect(processed == 5)
        #expect(codes == [#"["nesting_too_deep"]"#])
    }

    @Test func twoExtractorProcessesNeverExtractAtOnceAndAKilledOneLeavesNoStuckLock() async throws {
        let extractor = TestEnvironment.packageRoot.appendingPathComponent(".build/debug/extractor").path
        try #require(FileManager.default.isExecutableFile(atPath: extractor), "build the executables first: swift build")
        let redis = try await RedisServer.start()
        let data = try TestEnvironment.temporaryDirectory("twoextractors")
        let source = try await RunningFixtureServer.start(options: FixtureOptions(userCount: 2000, seed: 5, slowMilliseconds: 200))
        let environment = [
            "DATA_DIR": data.path, "REDIS_URL": redis.url, "EVENT_HMAC_KEY": RedisServer.eventKey,
            "SOURCE_URL": source.usersURL, "SOURCE_PAGE_SIZE": "100",
            "RETRY_BASE_SECONDS": "0.01", "HTTP_TIMEOUT_SECONDS": "5", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin",
        ]
        // 1. The first extractor starts a run (20 slow pages)...
        let first = try ManagedProcess(executable: extractor, arguments: ["--once"], environment: environment, workingDirectory: data,
                                       logPath: data.appendingPathComponent("first.log").path)
        let checkpoints = CheckpointStore(dataDirectory: data)
        let runID = try await waitFor("the first run's first page") { try? checkpoints.load().flatMap { $0.fetched > 0 ? $0.runID : nil } }

        // 2. ...a second one started beside it exits 3 naming that run, and touches nothing.
        let second = try await runToExit(extractor, environment: environment, in: data)
        #expect(second.status == 3, "\(second.output)")
        #expect(second.output.contains("another extraction is running"))
        #expect(second.output.contains("run \(runID)"))

        // 3. kill -9 of the first one: the kernel drops its lock, the next extractor resumes its run.
        first.killHard()
        _ = await first.exitStatus(timeout: 10)
        let third = try await runToExit(extractor, environment: environment, in: data)
        await source.stop()
        #expect(third.status == 0, "\(third.output)")
        var ids: [Int] = []
        try LineReader(path: RunFiles(dataDirectory: data, runID: runID).raw.path).forEachLine { line in
            ids.append((try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["id"] as? Int ?? -1)
        }
        #expect(ids == Array(1...2000))
    }

    // MARK: - Helpers

    func waitFor<T>(_ what: String, timeout: Double = 60, _ probe: () -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = probe() { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    func runToExit(_ executable: String, environment: [String: String], in directory: URL) async throws -> (status: Int32, output: String) {
        let log = directory.appendingPathComponent("output-\(UUID().uuidString.prefix(6)).log").path
        let process = try ManagedProcess(executable: executable, arguments: ["--once"], environment: environment,
                                         workingDirectory: directory, logPath: log)
        let status = await process.exitStatus(timeout: 120) ?? -1
        return (status, process.log())
    }
}
