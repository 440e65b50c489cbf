import ETLCore
import Extraction
import FixtureSource
import Foundation
import GRDB
import Handoff
import Loading
import Logging
import RedisClient
import PipelineSchema
import ServiceLifecycle
import TestSupport
import Testing
import Transformation

/// The whole pipeline on real components: redis-server, OpenSSH sshd (internal-sftp), the
/// DummyJSON-compatible fixture source over HTTP, SQLite, and the stages' own services.
@Suite("Pipeline end to end", .serialized)
struct PipelineIntegrationTests {
    let logger = Logger(label: "integration")

    struct Stack {
        let redis: RedisServer
        let sshd: SSHDServer
        let data: URL
        let databasePath: String

        static func start() async throws -> Stack {
            let data = try TestEnvironment.temporaryDirectory("pipeline")
            return Stack(redis: try await RedisServer.start(), sshd: try await SSHDServer.started(), data: data,
                         databasePath: data.appendingPathComponent("database/data.db").path)
        }

        func common(retry: RetryPolicy = RetryPolicy(maxRetries: 3, baseSeconds: 0.01, factor: 2)) -> CommonConfiguration {
            CommonConfiguration(dataDirectory: data, redisURL: redis.url, retry: retry, logLevel: .info, eventKey: RedisServer.eventKey)
        }

        var sftp: SFTPConfiguration {
            SFTPConfiguration(host: "127.0.0.1", port: sshd.port, user: sshd.user, privateKeyPath: sshd.clientKeyPath,
                              knownHostsPath: sshd.knownHostsPath, remoteDirectory: sshd.uploadRoot.path)
        }
    }

    @Test func aThousandUsersWithTenPercentInvalidLandInEveryFileTableAndOnSFTP() async throws {
        let stack = try await Stack.start()
        let source = try await RunningFixtureServer.start(options: FixtureOptions(userCount: 1000, invalidRate: 0.1, seed: 7))
        let queue = try RedisRunEventQueue(url: stack.redis.url, eventKey: RedisServer.eventKey, logger: logger)

        // 1. Extract while no transformer or saver is running: the run must wait for them.
        let extractorConfiguration = ExtractorConfiguration(
            common: stack.common(), sourceURL: URL(string: source.usersURL)!, pageSize: 100, httpTimeoutSeconds: 5)
        let clock = SystemClock()
        let fetcher = PageFetcher(http: CurlSource(), sourceURL: extractorConfiguration.sourceURL, timeoutSeconds: 5,
                                  retry: extractorConfiguration.common.retry, clock: clock, logger: logger)
        let outcome = try await Extraction(configuration: extractorConfiguration, fetcher: fetcher, queue: queue,
                                           clock: clock, logger: logger).run()
        await source.stop()
        guard case .completed(let extracted) = outcome else { Issue.record("extraction did not complete"); return }
        let runID = extracted.runID
        let files = RunFiles(dataDirectory: stack.data, runID: runID)
        #expect(try LineReader.countLines(path: files.raw.path) == 1000)

        // 2. Now start the downstream stages; they pick the run up from the stream.
        let transformerConfiguration = TransformerConfiguration(
            common: stack.common(), departmentsCSV: TestEnvironment.packageRoot.appendingPathComponent("config/departments.csv"))
        let transformer = TransformerService(
            configuration: transformerConfiguration,
            departments: try DepartmentLookup(contentsOf: transformerConfiguration.departmentsCSV),
            queue: queue, logger: logger, waitMilliseconds: 200)
        let database = try PipelineDatabase(path: stack.databasePath)
        let saver = SaverService(
            database: database, queue: queue, uploader: SFTPRunFileUploader(configuration: stack.sftp, logger: logger),
            dataDirectory: stack.data, retry: stack.common().retry, logger: logger, waitMilliseconds: 200)
        let group = ServiceGroup(configuration: .init(
            services: [transformer, saver, UploadRetryService(saver: saver, pollSeconds: 0.5)], gracefulShutdownSignals: [], logger: logger))
        let running = Task { try await group.run() }

        let run = try await waitForStatus("completed", of: runID, in: database, timeout: 90)
        // The transformer's start-up scan found the raw file and its consumer got the
        // extractor's announcement of the same run (issue 8's double announcement): once both
        // are done, the run was announced to the saver once, loaded once and uploaded once
        // (one phase3 announcement per successful upload).
        let redis = RedisConnection(endpoint: try RedisEndpoint(url: stack.redis.url))
        #expect(try await eventually { try groupIsDone(redis, stream: HandoffPoint.phase1.stream, group: TransformerService.consumerGroup) })
        #expect(try await eventually { try groupIsDone(redis, stream: HandoffPoint.phase2.stream, group: SaverService.group) })
        #expect(try redis.command(["XLEN", HandoffPoint.phase2.stream]).integer == 1)
        #expect(try redis.command(["XLEN", HandoffPoint.phase3.stream]).integer == 1)
        await group.triggerGracefulShutdown()
        try await running.value

        // 3. Every file, table and remote file has the right counts.
        let invalidIDs = FixtureUsers.invalidIDs(count: 1000, invalidRate: 0.1, seed: 7)
        #expect(invalidIDs.count == 100)
        #expect(try LineReader.countLines(path: files.processed.path) == 900)
        #expect(try LineReader.countLines(path: files.deadLetter.path) == 100)
        #expect(run.extractedCount == 1000 && run.validCount == 900 && run.invalidCount == 100)
        #expect(try await database.rowCount(.raw, runID: runID) == 1000)
        #expect(try await database.rowCount(.processed, runID: runID) == 900)
        #expect(try await database.rowCount(.invalid, runID: runID) == 100)
        let dlqIDs = try await database.pool.read { db in
            try Int.fetchAll(db, sql: "SELECT user_id FROM invalid_users WHERE run_id = ? AND user_id IS NOT NULL", arguments: [runID.timestamp])
        }
        #expect(Set(dlqIDs).isSubset(of: invalidIDs))
        let remote = stack.sshd.uploadRoot
        for file in [files.raw, files.processed, files.deadLetter] {
            let uploaded = remote.appendingPathComponent(file.lastPathComponent).path
            #expect(FileManager.default.contentsEqual(atPath: uploaded, andPath: file.path), "\(uploaded) differs from \(file.path)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: remote.path).filter { $0.contains(".part") }.isEmpty)
        #expect(Set(run.uploadedFiles) == Set([files.raw, files.processed, files.deadLetter].map {
            remote.appendingPathComponent($0.lastPathComponent).path
        }))

        // 4. Announcing the same run again duplicates nothing.
        var again = extracted
        again.status = .extracted
        try await queue.announce(again, at: .phase1)
        let rerun = ServiceGroup(configuration: .init(services: [transformer, saver], gracefulShutdownSignals: [], logger: logger))
        let rerunning = Task { try await rerun.run() }
        try await Task.sleep(for: .seconds(3))
        await rerun.triggerGracefulShutdown()
        try await rerunning.value
        #expect(try await database.rowCount(.raw, runID: runID) == 1000)
        #expect(try await database.rowCount(.processed, runID: runID) == 900)
        #expect(try await database.rowCount(.invalid, runID: runID) == 100)
        #expect(try await database.run(runID)?.status == "completed")
    }

    @Test func aPageFailingEveryRetryExitsNonZeroAndTheNextRunResumesWithEveryUserOnce() async throws {
        let stack = try await Stack.start()
        let extractor = TestEnvironment.packageRoot.appendingPathComponent(".build/debug/extractor").path
        try #require(FileManager.default.isExecutableFile(atPath: extractor), "build the executables first: swift build")
        let broken = try await RunningFixtureServer.start(options: FixtureOptions(userCount: 450, seed: 3, failingSkip: 200))
        var environment = [
            "DATA_DIR": stack.data.path, "REDIS_URL": stack.redis.url, "SOURCE_URL": broken.usersURL,
            "EVENT_HMAC_KEY": RedisServer.eventKey,
            "SOURCE_PAGE_SIZE": "100", "RETRY_BASE_SECONDS": "0.01", "RETRY_FACTOR": "2", "HTTP_TIMEOUT_SECONDS": "5",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin",
        ]
        let failed = try await runToExit(extractor, ["--once"], environment: environment, in: stack.data)
        await broken.stop()
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("skip=200 failed after 4 attempts"))
        #expect(failed.stderr.contains(broken.usersURL + "?limit=100&skip=200"))
        #expect(failed.stderr.contains("HTTP 500"))
        let checkpoint = try #require(try CheckpointStore(dataDirectory: stack.data).load())
        #expect(checkpoint.fetched == 200)

        let healthy = try await RunningFixtureServer.start(options: FixtureOptions(userCount: 450, seed: 3))
        environment["SOURCE_URL"] = healthy.usersURL
        let resumed = try await runToExit(extractor, ["--once"], environment: environment, in: stack.data)
        await healthy.stop()
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try CheckpointStore(dataDirectory: stack.data).load() == nil)
        let raw = RunFiles(dataDirectory: stack.data, runID: checkpoint.runID).raw.path
        var ids: [Int] = []
        try LineReader(path: raw).forEachLine { line in
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            ids.append(object?["id"] as? Int ?? -1)
        }
        #expect(ids == Array(1...450))
    }

    /// Issue 9, finding 3: the operator command hands failed runs back through the hand-off.
    @Test func saverRetryCommandsAnnounceFailedRunsOnTheRightStream() async throws {
        let stack = try await Stack.start()
        let saverBinary = TestEnvironment.packageRoot.appendingPathComponent(".build/debug/saver").path
        try #require(FileManager.default.isExecutableFile(atPath: saverBinary), "build the executables first: swift build")
        let database = try PipelineDatabase(path: stack.databasePath)
        let loadable = RunID("20270115_080000")!
        let rawOnly = RunID("20270115_090000")!
        try RunFiles.createDirectories(under: stack.data)
        let loadableFiles = RunFiles(dataDirectory: stack.data, runID: loadable)
        for url in [loadableFiles.raw, loadableFiles.processed, loadableFiles.deadLetter, RunFiles(dataDirectory: stack.data, runID: rawOnly).raw] {
            try Data("{\"id\":1}\n".utf8).write(to: url)
        }
        for runID in [loadable, rawOnly] {
            var failed = RunEvent(runID: runID, status: .failed)
            failed.error = "saver: database disk image is malformed"
            failed.setFailure(FailureReason(.permanent, "database_corrupt"))
            try await database.recordEvent(failed)
        }
        let environment = [
            "DATA_DIR": stack.data.path, "DATABASE_PATH": stack.databasePath, "REDIS_URL": stack.redis.url,
            "EVENT_HMAC_KEY": RedisServer.eventKey, "SFTP_KEY_PATH": stack.sshd.clientKeyPath,
            "SFTP_KNOWN_HOSTS": stack.sshd.knownHostsPath, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin",
        ]
        let one = try await runToExit(saverBinary, ["--retry", loadable.timestamp], environment: environment, in: stack.data)
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stderr.contains("\(loadable): announced on stream:phase2_complete"))
        let all = try await runToExit(saverBinary, ["--retry-failed"], environment: environment, in: stack.data)
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stderr.contains("\(rawOnly): announced on stream:phase1_complete"))
        let unknown = try await runToExit(saverBinary, ["--retry", "20270101_000000"], environment: environment, in: stack.data)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("nothing to retry"))

        // What they announced is signed and reaches the stages.
        let queue = try RedisRunEventQueue(url: stack.redis.url, eventKey: RedisServer.eventKey, logger: logger)
        let phase1 = try #require(try await queue.next(at: .phase1, group: "transformer", consumer: "t", waitMilliseconds: 100))
        #expect(phase1.event.runID == rawOnly && phase1.event.retryRequest != nil)
        var phase2: [RunID] = []
        while let delivery = try await queue.next(at: .phase2, group: "saver", consumer: "s", waitMilliseconds: 100) {
            phase2.append(delivery.event.runID)
            try await queue.acknowledge(delivery, group: "saver")
        }
        #expect(phase2 == [loadable, loadable])
    }

    @Test func aBadConfigurationValueStopsTheProcessNamingTheVariable() async throws {
        let extractor = TestEnvironment.packageRoot.appendingPathComponent(".build/debug/extractor").path
        try #require(FileManager.default.isExecutableFile(atPath: extractor), "build the executables first: swift build")
        let directory = try TestEnvironment.temporaryDirectory("badconfig")
        let result = try await runToExit(extractor, ["--once"], environment: ["SOURCE_PAGE_SIZE": "lots", "EVENT_HMAC_KEY": RedisServer.eventKey], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("SOURCE_PAGE_SIZE='lots' is invalid"))
    }

    /// What scripts/local-stack.sh asks instead of parsing .env: every executable lists each
    /// variable it reads, set values as `NAME=value`, defaults commented out, secrets hidden.
    @Test func everyExecutablePrintsTheConfigurationItResolves() async throws {
        let directory = try TestEnvironment.temporaryDirectory("printconfig")
        try "API_PORT=9001\nSFTP_KEY_PASSPHRASE='pass phrase'\n"
            .write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        var printed: [String: [String]] = [:]
        for (name, variables) in Settings.executables {
            let executable = TestEnvironment.packageRoot.appendingPathComponent(".build/debug/\(name)").path
            try #require(FileManager.default.isExecutableFile(atPath: executable), "build the executables first: swift build")
            let arguments = ["--print-configuration"] + (name == "saver" ? ["--reveal-secrets"] : [])
            let result = try await runToExit(executable, arguments, environment: ["API_TOKEN": "t0ken"], in: directory)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").map(String.init)
            #expect(lines.filter { !$0.hasPrefix("# ") }.map { $0.drop { $0 == "#" }.prefix { $0 != "=" } }.map(String.init)
                    == variables.map(\.name), "\(name) lists its variables in order")
            printed[name] = lines
        }
        #expect(printed["api"]?.contains("API_PORT=9001") == true)
        #expect(printed["api"]?.contains("#API_HOST=0.0.0.0") == true)
        #expect(printed["api"]?.contains("API_TOKEN=(5 characters, hidden)") == true)
        #expect(printed["saver"]?.contains("SFTP_KEY_PASSPHRASE=pass phrase") == true, "revealed on request")
        #expect(printed["extractor"]?.contains("#EVENT_HMAC_KEY=") == true, "a missing required value is listed, not refused")
    }

    // MARK: - Helpers

    /// Whether `group` has read every entry of `stream` and acknowledged them all.
    func groupIsDone(_ redis: RedisConnection, stream: String, group: String) throws -> Bool {
        let groups = try redis.command(["XINFO", "GROUPS", stream]).array ?? []
        for info in groups {
            let fields = info.array ?? []
            var values: [String: RedisReply] = [:]
            var index = 0
            while index + 1 < fields.count {
                if let key = fields[index].text { values[key] = fields[index + 1] }
                index += 2
            }
            guard values["name"]?.text == group else { continue }
            return values["pending"]?.integer == 0 && values["lag"]?.integer == 0
        }
        return false
    }

    func eventually(timeout: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    func waitForStatus(_ status: String, of runID: RunID, in database: PipelineDatabase, timeout: Double) async throws -> RunRecord {
        let deadline = Date().addingTimeInterval(timeout)
        var last: RunRecord?
        while Date() < deadline {
            last = try await database.run(runID)
            if let last, last.status == status { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("run \(runID) did not reach \(status) in \(timeout)s; last: \(String(describing: last))")
        throw CancellationError()
    }

    /// Runs an executable to completion; returns its exit code and what it printed.
    func runToExit(_ executable: String, _ arguments: [String], environment: [String: String], in directory: URL) async throws
        -> (status: Int32, stderr: String)
    {
        let log = directory.appendingPathComponent("output-\(UUID().uuidString.prefix(6)).log").path
        let process = try ManagedProcess(executable: executable, arguments: arguments, environment: environment,
                                         workingDirectory: directory, logPath: log)
        let status = await process.exitStatus(timeout: 120) ?? -1
        return (status, process.log())
    }
}
