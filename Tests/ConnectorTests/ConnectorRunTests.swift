import ConnectorRuns
import ConnectorSources
import Connectors
import Contracts
import ETLCore
import Extraction
import Foundation
import GRDB
import Handoff
import Logging
import PipelineSchema
import ServiceLifecycle
import TestSupport
import Testing

/// A connector's run as the extractor makes it, on in-memory queues: what it writes, in which
/// order, and what a failure leaves behind.
@Suite struct ConnectorRunTests {
    struct Setup {
        let data: URL
        let input: URL
        let database: DatabaseQueue
        let registry: ConnectorRegistry
        let events = InMemoryRunEventQueue()
        let runner: ConnectorRunner
        let context: SourceContext

        init(clock: any PipelineClock = SystemClock()) throws {
            data = try TestEnvironment.temporaryDirectory("connector-run")
            input = data.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            database = try DatabaseQueue()
            try SchemaMigrations.migrator.migrate(database)
            registry = ConnectorRegistry(database: database)
            let logger = Logger(label: "connector-run-tests")
            let http = CurlSource()
            context = SourceContext(http: http, downloads: http, logger: logger)
            runner = ConnectorRunner(
                catalog: .product, registry: registry, queue: events,
                context: context,
                dataDirectory: data, clock: clock, logger: logger)
        }

        func register() async throws -> RunRequest {
            let definition = ConnectorDefinition(name: "drops", type: .localFile, config: ["path": .string(input.path)],
                                                 contract: .declared(Contract(name: "drops", fields: [ContractField("id", type: .integer)])))
            let record = try await registry.create(try ConnectorCatalog.product.validate(definition))
            return RunRequest(sourceID: record.id!, connector: "drops", requestedAt: "2027-01-01T00:00:00Z", requestedBy: "test")
        }

        func write(_ name: String, _ lines: [String]) throws {
            try (lines.joined(separator: "\n") + "\n").write(to: input.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }

    @Test func aRunWritesItsManifestAndRawFileAnnouncesItAndSavesItsStateAfterwards() async throws {
        let setup = try Setup()
        try setup.write("a.jsonl", [#"{"id":1}"#, #"{"id":2}"#])
        let request = try await setup.register()
        guard case .extracted(let runID, let records) = try await setup.runner.run(request) else {
            Issue.record("the run did not extract"); return
        }
        #expect(records == 2)
        let files = RunFiles(dataDirectory: setup.data, runID: runID)
        #expect(try LineReader.countLines(path: files.raw.path) == 2)
        let manifest = try #require(try RunManifest.read(files))
        #expect(manifest.dataset == "drops" && manifest.sourceID == request.sourceID)
        let announced = try #require(setup.events.announced(at: .phase1).last)
        #expect(announced.status == .extracted && announced.sourceID == request.sourceID && announced.extractedCount == 2)
        let record = try await setup.registry.connector("drops")
        #expect(record.status == .processing && record.lastRunID == runID.timestamp)
        #expect(record.stateJSON?.contains("a.jsonl") == true)

        // The next run takes only what is new.
        try setup.write("b.jsonl", [#"{"id":3}"#])
        guard case .extracted(_, let again) = try await setup.runner.run(request) else { Issue.record("second run"); return }
        #expect(again == 1)
    }

    /// `etlctl connectors run --dry-run`: every record fetched and validated, the counts and
    /// first errors reported, and nothing written: no file, no row, no event, no state.
    @Test func aDryRunReportsCountsAndErrorsAndWritesNothing() async throws {
        let setup = try Setup()
        try setup.write("a.jsonl", [#"{"id":1}"#, #"{"id":"two"}"#, #"{"id":3}"#])
        _ = try await setup.register()
        let before = try await setup.registry.connector("drops")
        let filesBefore = try Self.listing(setup.data)
        let rowsBefore = try await Self.rowCounts(setup.database)

        let connector = try ConnectorCatalog.product.validate(try ConnectorRegistry.definition(of: before))
        let report = try await ConnectorInspection(catalog: .product, context: setup.context)
            .dryRun(connector, after: nil, ageRange: 18...65, departments: [:], lookupDirectory: setup.input)

        #expect(report.records == 3 && report.valid == 2 && report.invalid == 1)
        #expect(report.firstErrors.count == 1)
        #expect(report.firstErrors.first?.contains("id") == true, "\(report.firstErrors)")
        #expect(try Self.listing(setup.data) == filesBefore)
        #expect(try await Self.rowCounts(setup.database) == rowsBefore)
        #expect(try await setup.registry.connector("drops") == before)
        #expect(setup.events.announced(at: .phase1).isEmpty)
    }

    /// Every file under `directory`, with its size.
    static func listing(_ directory: URL) throws -> [String] {
        let paths = FileManager.default.subpaths(atPath: directory.path) ?? []
        return try paths.sorted().map { path in
            let size = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(path).path)[.size] as? Int
            return "\(path) \(size ?? -1)"
        }
    }

    static func rowCounts(_ database: DatabaseQueue) async throws -> [String: Int] {
        try await database.read { db in
            var counts: [String: Int] = [:]
            for table in SchemaMigrations.tables {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }

    @Test func aFailedRunLeavesNoRawFileTheStateAsItWasAndTheConnectorInError() async throws {
        let setup = try Setup()
        try setup.write("a.json", [#"[{"id":1},{"id":"#])  // a truncated JSON array
        let request = try await setup.register()
        guard case .failed(let runID?, let reason) = try await setup.runner.run(request) else {
            Issue.record("the run did not fail"); return
        }
        #expect(reason.contains("drops") && reason.contains("a.json"), "\(reason)")
        let files = RunFiles(dataDirectory: setup.data, runID: runID)
        #expect(!FileManager.default.fileExists(atPath: files.raw.path))
        #expect(!FileManager.default.fileExists(atPath: files.manifest.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: RunFiles.rawDirectory(setup.data).path)
        #expect(leftovers.isEmpty, "\(leftovers)")
        let record = try await setup.registry.connector("drops")
        #expect(record.status == .error && record.statusReason == reason && record.stateJSON == nil)
        #expect(setup.events.announced(at: .phase1).last?.status == .failed)
    }

    /// A failed run leaves no file, yet the run after it, started within the same second,
    /// still gets an id of its own: it must not inherit the failed run's ledger row.
    @Test func aRunAfterAFailedOneInTheSameSecondGetsANewRunID() async throws {
        let setup = try Setup(clock: TestClock())
        try setup.write("a.json", [#"[{"id":1},{"id":"#])
        let request = try await setup.register()
        guard case .failed(let failedID?, _) = try await setup.runner.run(request) else { Issue.record("the run did not fail"); return }
        try setup.write("a.json", [#"[{"id":1}]"#])
        guard case .extracted(let runID, _) = try await setup.runner.run(request) else { Issue.record("the fixed run did not extract"); return }
        #expect(runID != failedID && runID > failedID, "\(runID) after \(failedID)")
        #expect(try await setup.registry.connector("drops").lastRunID == runID.timestamp)
    }

    @Test func theServiceRunsRequestsAndAcknowledgesThemWhenTheirRunEnded() async throws {
        let setup = try Setup()
        try setup.write("a.jsonl", [#"{"id":1}"#])
        let requests = InMemoryRunRequestQueue()
        await requests.submit(try await setup.register())
        let service = ConnectorRunService(runner: setup.runner, requests: requests, clock: SystemClock(),
                                          logger: Logger(label: "connector-run-tests"), scheduleCheckSeconds: 3600)
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [], logger: Logger(label: "group")))
        let running = Task { try await group.run() }
        var waited = 0
        while await requests.pendingCount > 0, waited < 600 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(await requests.pendingCount == 0)
        #expect(setup.events.announced(at: .phase1).map(\.status) == [.extracted])
    }
}
