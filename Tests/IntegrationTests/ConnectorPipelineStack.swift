import ConnectorRuns
import ConnectorSources
import Connectors
import Contracts
import ETLCore
import Extraction
import Foundation
import GRDB
import Handoff
import Loading
import Logging
import PipelineSchema
import ServiceLifecycle
import TestSupport
import Testing
import Transformation

/// One pipeline for a whole suite of connector runs: a real redis-server, sshd and PostgreSQL,
/// one SQLite file, and the stages as the executables compose them (the extractor's
/// connector runs, the transformer, the saver and its upload retries), running until the
/// suite ends. Connectors are registered and runs requested as `etlctl` does it (`Etlctl`).
final class ConnectorPipelineStack: Sendable {
    let redis: RedisServer
    let sshd: SSHDServer
    let postgres: PostgresServer
    /// `DATA_DIR` of every stage.
    let data: URL
    /// Folders and files the connectors read (local files, CSV files).
    let inputs: URL
    let database: PipelineDatabase
    let etlctl: Etlctl
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// The environment variable the PostgreSQL connectors' `password: ${…}` names; only the
    /// extractor's source context can resolve it.
    static let postgresPasswordVariable = "ETL_TEST_PG_PASSWORD"

    private init(redis: RedisServer, sshd: SSHDServer, postgres: PostgresServer, data: URL, inputs: URL, database: PipelineDatabase,
                 etlctl: Etlctl, group: ServiceGroup, running: Task<Void, any Error>) {
        self.redis = redis
        self.sshd = sshd
        self.postgres = postgres
        self.data = data
        self.inputs = inputs
        self.database = database
        self.etlctl = etlctl
        self.group = group
        self.running = running
    }

    static func start() async throws -> ConnectorPipelineStack {
        let data = try TestEnvironment.temporaryDirectory("connector-pipeline")
        let inputs = data.appendingPathComponent("inputs")
        var started: (RedisServer?, SSHDServer?, PostgresServer?) = (nil, nil, nil)
        do {
            try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
            // initdb takes the longest: the three start side by side, each on a thread of its own.
            async let postgres = PostgresServer.start()
            async let redis = RedisServer.start()
            async let sshd = TestEnvironment.onOwnThread { try SSHDServer.start() }
            started.0 = try await redis
            started.1 = try await sshd
            started.2 = try await postgres
            return try await compose(redis: started.0!, sshd: started.1!, postgres: started.2!, data: data, inputs: inputs)
        } catch {
            let (redis, sshd, postgres) = started
            _ = try? await TestEnvironment.onOwnThread { redis?.stop(); sshd?.stop() }
            await postgres?.shutDown()
            try? FileManager.default.removeItem(at: data)
            throw error
        }
    }

    private static func compose(redis: RedisServer, sshd: SSHDServer, postgres: PostgresServer, data: URL, inputs: URL) async throws
        -> ConnectorPipelineStack
    {
        var logger = Logger(label: "connector-pipeline")
        logger.logLevel = .info
        let common = CommonConfiguration(
            dataDirectory: data, redisURL: redis.url, retry: RetryPolicy(maxRetries: 2, baseSeconds: 0.01, factor: 2),
            logLevel: .info, eventKey: RedisServer.eventKey)
        let databasePath = data.appendingPathComponent("database/data.db").path
        let database = try await PipelineDatabase.open(path: databasePath)
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)

        // The extractor's connector runs, as `extractor` (daily mode) composes them.
        let http = CurlSource()
        let context = SourceContext(
            secrets: SecretResolver(environment: [postgresPasswordVariable: postgres.password]), http: http, downloads: http,
            retry: common.retry, timeoutSeconds: 5, logger: logger)
        let runner = ConnectorRunner(
            catalog: .product, registry: ConnectorRegistry(database: database.pool), queue: queue, context: context,
            dataDirectory: data, clock: SystemClock(), logger: logger)
        let connectorRuns = ConnectorRunService(
            runner: runner, requests: try RedisRunRequestQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger),
            clock: SystemClock(), logger: logger, scheduleCheckSeconds: 3600)

        // The transformer and the saver, as in `PipelineIntegrationTests`.
        let transformerConfiguration = TransformerConfiguration(
            common: common, departmentsCSV: TestEnvironment.packageRoot.appendingPathComponent("config/departments.csv"))
        let transformer = TransformerService(
            configuration: transformerConfiguration, departments: try DepartmentLookup(contentsOf: transformerConfiguration.departmentsCSV),
            queue: queue, logger: logger, waitMilliseconds: 200)
        let sftp = SFTPConfiguration(host: "127.0.0.1", port: sshd.port, user: sshd.user, privateKeyPath: sshd.clientKeyPath,
                                     knownHostsPath: sshd.knownHostsPath, remoteDirectory: sshd.uploadRoot.path)
        let saver = SaverService(
            database: database, queue: queue, uploader: SFTPRunFileUploader(configuration: sftp, logger: logger),
            dataDirectory: data, retry: common.retry, logger: logger, waitMilliseconds: 200)

        let group = ServiceGroup(configuration: .init(
            services: [connectorRuns, transformer, saver, UploadRetryService(saver: saver, pollSeconds: 0.5)],
            gracefulShutdownSignals: [], logger: logger))
        let running = Task { try await group.run() }
        let etlctl = try await Etlctl(databasePath: databasePath, redisURL: redis.url, logger: logger)
        return ConnectorPipelineStack(redis: redis, sshd: sshd, postgres: postgres, data: data, inputs: inputs, database: database,
                                      etlctl: etlctl, group: group, running: running)
    }

    /// Stops the stages, then the servers; removes every directory.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await running.result
        _ = try? await TestEnvironment.onOwnThread { [redis, sshd] in
            redis.stop()
            sshd.stop()
        }
        await postgres.shutDown()
        try? FileManager.default.removeItem(at: data)
    }

    // MARK: Runs

    /// How a requested run ended: its `etl_runs` row and the connector afterwards.
    struct Finished {
        let runID: RunID
        let run: RunRecord
        let connector: DataSourceRecord
        let files: RunFiles
    }

    /// Asks for a run of `name` as `etlctl connectors run` does, and waits until the pipeline
    /// is done with it: its `etl_runs` row `completed` or `failed`, the connector no longer
    /// `processing`. The deadline only keeps a broken pipeline from hanging the suite.
    func run(_ name: String, deadlineSeconds: Double = 60) async throws -> Finished {
        let before = try await etlctl.registry.connector(name).lastRunID
        try await etlctl.run(name)
        let deadline = Date().addingTimeInterval(deadlineSeconds)
        var last: (DataSourceRecord, RunRecord?)?
        while Date() < deadline {
            let connector = try await etlctl.registry.connector(name)
            if let text = connector.lastRunID, text != before, let runID = RunID(text) {
                let run = try await database.run(runID)
                last = (connector, run)
                if let run, ["completed", "failed"].contains(run.status), connector.status != .processing {
                    return Finished(runID: runID, run: run, connector: connector, files: RunFiles(dataDirectory: data, runID: runID))
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the run of \(name) did not end within \(deadlineSeconds)s; last seen: \(String(describing: last))")
        throw CancellationError()
    }

    /// What the SFTP side holds for `file` of a run.
    func uploaded(_ file: URL) -> URL { sshd.uploadRoot.appendingPathComponent(file.lastPathComponent) }

    /// The rows of `dataset_<dataset>` for one run, by line: each column as a database value.
    func datasetRows(_ dataset: String, runID: RunID) async throws -> [Row] {
        try await database.pool.read { db in
            guard try db.tableExists(RunManifest.tableName(ofDataset: dataset)) else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM \(RunManifest.tableName(ofDataset: dataset).quotedDatabaseIdentifier) WHERE run_id = ? ORDER BY line_no",
                                    arguments: [runID.timestamp])
        }
    }

    func datasetRowCount(_ dataset: String) async throws -> Int {
        try await database.pool.read { db in
            let table = RunManifest.tableName(ofDataset: dataset)
            guard try db.tableExists(table) else { return 0 }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier)") ?? 0
        }
    }

    /// A file's lines as JSON objects.
    static func objects(in file: URL) throws -> [[String: Any]] {
        var objects: [[String: Any]] = []
        try LineReader(path: file.path).forEachLine { line in
            objects.append((try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]) ?? [:])
        }
        return objects
    }
}

/// What `etlctl connectors create` and `etlctl connectors run` do (`Sources/etlctl`), on the
/// registry and request queue they use: a definition parsed and validated by the product's
/// catalog and stored; a signed run request on `stream:connector_run_requests`.
struct Etlctl: Sendable {
    let registry: ConnectorRegistry
    let catalog = ConnectorCatalog.product
    private let requests: RedisRunRequestQueue

    init(databasePath: String, redisURL: String, logger: Logger) async throws {
        registry = ConnectorRegistry(database: try await PipelineDatabase.open(path: databasePath).pool)
        requests = try RedisRunRequestQueue(url: redisURL, eventKey: RedisServer.eventKey, logger: logger)
    }

    /// `etlctl connectors create --file <definition>`, the definition in YAML.
    @discardableResult
    func create(_ yaml: String) async throws -> DataSourceRecord {
        try await registry.create(try catalog.validate(try ConnectorDefinition.parse(yaml, source: "definition.yaml")))
    }

    /// `etlctl connectors run <name>`.
    func run(_ name: String) async throws {
        let record = try await registry.connector(name)
        _ = try catalog.validate(try ConnectorRegistry.definition(of: record))
        try await requests.submit(RunRequest(sourceID: record.id!, connector: record.name, requestedAt: ISO8601.string(from: Date()),
                                             requestedBy: "etlctl"))
    }
}

/// Starts one `ConnectorPipelineStack` for the suite and stops it after.
struct ConnectorPipelineTrait: SuiteTrait, TestScoping {
    @TaskLocal static var current: ConnectorPipelineStack?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let stack = try await ConnectorPipelineStack.start()
        do {
            try await Self.$current.withValue(stack) { try await function() }
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }
}

extension Trait where Self == ConnectorPipelineTrait {
    static var connectorPipeline: Self { ConnectorPipelineTrait() }
}
