import ConnectorRuns
import Connectors
import ETLCore
import FixtureSource
import Foundation
import GRDB
import Loading
import PipelineSchema
import TestSupport
import Testing

/// Issue 11, end to end: each connector type registered as `etlctl` registers it, its run
/// requested through Redis as `etlctl connectors run` requests it, and taken to `completed`
/// by the real stages (the extractor's connector runs, the transformer, the saver) on real
/// servers: HTTP (every pagination style, CSV files over HTTP), files on disk in each
/// encoding, a folder of files, PostgreSQL; SQLite and sshd behind the saver.
@Suite("Connectors end to end", .serialized, .connectorPipeline)
struct ConnectorPipelineTests {
    var stack: ConnectorPipelineStack {
        get throws { try #require(ConnectorPipelineTrait.current) }
    }

    // MARK: - api_rest

    /// The DummyJSON-compatible fixture server behind limit_skip paging, under the users
    /// contract: the run lands in the users tables like the built-in source's.
    @Test func dummyJSONUsersByLimitAndSkipLandInTheUsersTables() async throws {
        let stack = try self.stack
        let source = try await RunningFixtureServer.start(options: FixtureOptions(userCount: 250, invalidRate: 0.1, seed: 21))
        let finished: ConnectorPipelineStack.Finished
        do {
            try await stack.etlctl.create("""
                name: dummyjson-users
                type: api_rest
                config:
                  endpoint: \(source.usersURL)
                  pagination: limit_skip
                  page_size: 100
                  records_path: users
                  total_path: total
                contract: users
                """)
            finished = try await stack.run("dummyjson-users")
        } catch {
            await source.stop()
            throw error
        }
        await source.stop()

        let invalidIDs = FixtureUsers.invalidIDs(count: 250, invalidRate: 0.1, seed: 21)
        try await expectCompleted(finished, extracted: 250, valid: 250 - invalidIDs.count, invalid: invalidIDs.count)
        let runID = finished.runID
        #expect(try await stack.database.rowCount(.raw, runID: runID) == 250)
        #expect(try await stack.database.rowCount(.processed, runID: runID) == 250 - invalidIDs.count)
        #expect(try await stack.database.rowCount(.invalid, runID: runID) == invalidIDs.count)
        let (processedIDs, dlqIDs) = try await stack.database.pool.read { db in
            (try Int.fetchAll(db, sql: "SELECT user_id FROM processed_users WHERE run_id = ? ORDER BY user_id", arguments: [runID.timestamp]),
             try Int.fetchAll(db, sql: "SELECT user_id FROM invalid_users WHERE run_id = ? AND user_id IS NOT NULL", arguments: [runID.timestamp]))
        }
        #expect(!dlqIDs.isEmpty && Set(dlqIDs).isSubset(of: invalidIDs))
        #expect(processedIDs == (1...250).filter { !invalidIDs.contains($0) })
    }

    /// The REST test server's 250 records `{"id":n,"name":"user n"}` behind each style; the
    /// contract takes ids up to 240, so ten go to the DLQ.
    @Test(arguments: [
        ("limit_skip", "/limit-skip", "records_path: data.items\n  total_path: meta.total\n  page_size: 100", 3),
        ("page", "/pages", "records_path: results\n  page_size: 100", 3),
        ("cursor", "/cursor", "records_path: items\n  cursor_path: meta.next\n  page_size: 100", 3),
        ("link_header", "/link?per_page=100", "", 3),
        ("none", "/all", "", 1),
    ])
    func everyPaginationStyleReadsEveryPageIntoItsDataset(style: String, path: String, paging: String, pages: Int) async throws {
        let stack = try self.stack
        let server = try await RESTTestServer.start(count: 250)
        let name = "items-" + style.replacingOccurrences(of: "_", with: "-")
        let dataset = "items_" + style
        let finished: ConnectorPipelineStack.Finished
        do {
            try await stack.etlctl.create("""
                name: \(name)
                type: api_rest
                config:
                  endpoint: "\(server.baseURL)\(path)"
                  pagination: \(style)
                  \(paging)
                dataset: \(dataset)
                contract:
                  name: items
                  fields:
                    - { name: id, type: integer, required: true, maximum: 240 }
                    - { name: name, type: string, required: true }
                """)
            finished = try await stack.run(name)
        } catch {
            await server.stop()
            throw error
        }
        let requests = server.requests
        await server.stop()

        #expect(requests.count == pages, "\(requests)")
        try await expectCompleted(finished, extracted: 250, valid: 240, invalid: 10)
        let rows = try await stack.datasetRows(dataset, runID: finished.runID)
        #expect(rows.compactMap { $0["id"] as Int? } == Array(1...240))
        #expect((rows.first?["name"] as String?) == "user 1" && (rows.last?["name"] as String?) == "user 240")
        #expect(rows.compactMap { $0["line_no"] as Int? } == Array(1...240))
        let dlq = try ConnectorPipelineStack.objects(in: finished.files.deadLetter)
        #expect(dlq.compactMap { $0["id"] as? Int } == Array(241...250))
        #expect(dlq.allSatisfy { ($0["error_codes"] as? [String]) == ["id_out_of_range"] }, "\(dlq.first ?? [:])")
    }

    // MARK: - simple_csv

    enum CSVLocation: String, CaseIterable, Sendable { case file, http }

    /// The same stores in utf-8, latin-1 and utf-16 with a byte-order mark, read from a file
    /// path and from an http URL; the store without a city goes to the DLQ.
    @Test(arguments: ["utf-8", "latin-1", "utf-16"], CSVLocation.allCases)
    func aCSVFileInEachEncodingLandsDecoded(encoding: String, location: CSVLocation) async throws {
        let stack = try self.stack
        let text = "store_id;city;surface_m2\r\n1;Zürich;120.5\r\n2;Besançon;80\r\n3;;99\r\n4;Gießen;42.25\r\n5;Málaga;0\r\n"
        let bytes: [UInt8] = switch encoding {
        case "utf-8": Array(text.utf8)
        case "latin-1": text.unicodeScalars.map { UInt8($0.value) }
        default: [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        }
        let fileName = "stores-\(encoding)-\(location).csv"
        let server = try await RESTTestServer.start(count: 0, files: [fileName: bytes])
        let name = "stores-\(encoding)-\(location)"
        let dataset = "stores_" + encoding.replacingOccurrences(of: "-", with: "") + "_\(location)"
        let finished: ConnectorPipelineStack.Finished
        do {
            let url: String
            switch location {
            case .file:
                let file = stack.inputs.appendingPathComponent(fileName)
                try Data(bytes).write(to: file)
                url = file.path
            case .http:
                url = "\(server.baseURL)/files/\(fileName)"
            }
            try await stack.etlctl.create("""
                name: \(name)
                type: simple_csv
                config:
                  url: "\(url)"
                  delimiter: ";"
                  encoding: \(encoding)
                  column_types: { store_id: integer, surface_m2: number }
                dataset: \(dataset)
                contract:
                  name: stores
                  fields:
                    - { name: store_id, type: integer, required: true }
                    - { name: city, type: string, required: true, not_blank: true }
                    - { name: surface_m2, type: number, minimum: 0 }
                """)
            finished = try await stack.run(name)
        } catch {
            await server.stop()
            throw error
        }
        let requests = server.requests
        await server.stop()

        #expect(requests == (location == .http ? ["/files/\(fileName)"] : []))
        try await expectCompleted(finished, extracted: 5, valid: 4, invalid: 1)
        let rows = try await stack.datasetRows(dataset, runID: finished.runID)
        #expect(rows.compactMap { $0["store_id"] as Int? } == [1, 2, 4, 5])
        #expect(rows.compactMap { $0["city"] as String? } == ["Zürich", "Besançon", "Gießen", "Málaga"])
        #expect(rows.compactMap { $0["surface_m2"] as Double? } == [120.5, 80, 42.25, 0])
        let dlq = try ConnectorPipelineStack.objects(in: finished.files.deadLetter)
        #expect(dlq.count == 1)
        #expect(dlq.first?["store_id"] as? Int == 3)
        #expect(dlq.first?["error_codes"] as? [String] == ["invalid_city"], "\(dlq)")
    }

    /// A row with a field too many fails the run: nothing of it is loaded or uploaded; once
    /// the file is fixed the next run goes through.
    @Test func aCSVRowWithTheWrongNumberOfFieldsFailsTheRunAndTheFixedFileGoesThrough() async throws {
        let stack = try self.stack
        let file = stack.inputs.appendingPathComponent("prices.csv")
        try Data("sku,price\nA-1,10\nA-2,11,extra\nA-3,12\n".utf8).write(to: file)
        try await stack.etlctl.create("""
            name: prices
            type: simple_csv
            config: { url: "\(file.path)", column_types: { price: number } }
            contract:
              name: prices
              fields:
                - { name: sku, type: string, required: true }
                - { name: price, type: number, required: true }
            """)
        let failed = try await stack.run("prices")
        try await expectFailedCleanly(failed, reasonContaining: ["prices", "prices.csv", "line 3", "3 fields where the header has 2"])
        #expect(try await stack.datasetRowCount("prices") == 0)

        try Data("sku,price\nA-1,10\nA-2,11\nA-3,12\n".utf8).write(to: file)
        let fixed = try await stack.run("prices")
        try await expectCompleted(fixed, extracted: 3, valid: 3, invalid: 0)
        let rows = try await stack.datasetRows("prices", runID: fixed.runID)
        #expect(rows.compactMap { $0["sku"] as String? } == ["A-1", "A-2", "A-3"])
        #expect(try await stack.datasetRowCount("prices") == 3)
    }

    // MARK: - local_file

    /// A folder of a JSONL, a JSON array and a CSV file; the second run takes only the file
    /// that changed and the one that is new.
    @Test func aFolderOfFilesAndThenOnlyItsNewAndChangedFiles() async throws {
        let stack = try self.stack
        let folder = stack.inputs.appendingPathComponent("drops")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
        try write("a.jsonl", """
            {"event_id":"a1","at":"2027-01-01T10:00:00Z"}
            {"event_id":"a2","at":"yesterday"}

            """)
        try write("b.json", #"[{"event_id":"b1","at":"2027-01-02T10:00:00Z"},{"event_id":"b2","at":"2027-01-02T11:00:00Z"}]"#)
        try write("c.csv", "event_id,at\nc1,2027-01-03T10:00:00Z\nc2,2027-01-03T11:00:00Z\n")
        try write("notes.txt", "not taken: the glob is [abcd].*")
        try await stack.etlctl.create("""
            name: drops
            type: local_file
            config: { path: "\(folder.path)", glob: "[abcd].*" }
            dataset: events
            contract:
              name: events
              fields:
                - { name: event_id, type: string, required: true }
                - { name: at, type: string, required: true, format: date_time }
            """)
        let first = try await stack.run("drops")
        try await expectCompleted(first, extracted: 6, valid: 5, invalid: 1)
        #expect(try await stack.datasetRows("events", runID: first.runID).compactMap { $0["event_id"] as String? } == ["a1", "b1", "b2", "c1", "c2"])
        let dlq = try ConnectorPipelineStack.objects(in: first.files.deadLetter)
        #expect(dlq.map { $0["event_id"] as? String } == ["a2"])
        #expect(dlq.first?["error_codes"] as? [String] == ["invalid_at"], "\(dlq)")
        let state = try #require(first.connector.stateJSON)
        #expect(["a.jsonl", "b.json", "c.csv"].allSatisfy(state.contains) && !state.contains("notes"), "\(state)")

        try write("b.json", #"[{"event_id":"b1","at":"2027-01-02T10:00:00Z"},{"event_id":"b2","at":"2027-01-02T11:00:00Z"},{"event_id":"b3","at":"2027-01-02T12:00:00Z"}]"#)
        try write("d.jsonl", #"{"event_id":"d1","at":"2027-01-04T10:00:00Z"}"# + "\n")
        let second = try await stack.run("drops")
        try await expectCompleted(second, extracted: 4, valid: 4, invalid: 0)
        #expect(try await stack.datasetRows("events", runID: second.runID).compactMap { $0["event_id"] as String? } == ["b1", "b2", "b3", "d1"])
        #expect(try await stack.datasetRowCount("events") == 9)
        #expect(second.connector.stateJSON?.contains("d.jsonl") == true)
    }

    // MARK: - postgresql

    /// A table read by its id: the second run takes only the rows added since the first.
    @Test func aPostgresTableAndThenOnlyItsNewRows() async throws {
        let stack = try self.stack
        let database = try await createPostgresDatabase("crm", [
            "CREATE TABLE customers (id int8 PRIMARY KEY, email text, score numeric(5,1), joined date)",
            "INSERT INTO customers VALUES (2, 'bo@example.com', 7.5, '2026-02-01'), (1, 'al@example.com', 9.0, '2026-01-01'), (3, 'not an email', 1.0, '2026-03-01')",
        ])
        try await stack.etlctl.create(postgresDefinition(name: "crm-customers", database: database, source: "table: public.customers", contract: """
              name: customers
              fields:
                - { name: id, type: integer, required: true }
                - { name: email, type: string, format: email }
                - { name: score, type: number }
                - { name: joined, type: string, format: date }
            """))
        let first = try await stack.run("crm-customers")
        try await expectCompleted(first, extracted: 3, valid: 2, invalid: 1)
        let rows = try await stack.datasetRows("crm_customers", runID: first.runID)
        #expect(rows.compactMap { $0["id"] as Int? } == [1, 2])
        #expect(rows.compactMap { $0["email"] as String? } == ["al@example.com", "bo@example.com"])
        #expect(rows.compactMap { $0["score"] as Double? } == [9.0, 7.5])
        #expect(rows.compactMap { $0["joined"] as String? } == ["2026-01-01", "2026-02-01"])
        let dlq = try ConnectorPipelineStack.objects(in: first.files.deadLetter)
        #expect(dlq.map { $0["id"] as? Int } == [3])
        #expect(dlq.first?["error_codes"] as? [String] == ["invalid_email"], "\(dlq)")
        #expect(first.connector.stateJSON?.contains(#""value":"3""#) == true, "\(first.connector.stateJSON ?? "no state")")

        try await stack.postgres.execute([
            "INSERT INTO customers VALUES (5, 'ed@example.com', 3.0, '2026-05-01'), (4, 'di@example.com', 4.0, '2026-04-01')",
        ], in: database)
        let second = try await stack.run("crm-customers")
        try await expectCompleted(second, extracted: 2, valid: 2, invalid: 0)
        #expect(try await stack.datasetRows("crm_customers", runID: second.runID).compactMap { $0["id"] as Int? } == [4, 5])
        #expect(try await stack.datasetRowCount("crm_customers") == 4)
        #expect(second.connector.stateJSON?.contains(#""value":"5""#) == true, "\(second.connector.stateJSON ?? "no state")")
    }

    /// A query that fails on a new row (division by zero): the run fails, the connector is in
    /// `error` with the database's reason, nothing of the run is loaded or uploaded and the
    /// cursor stays; once the row is fixed, the next run takes the rows after the last good run.
    @Test func aFailingQueryLeavesNothingAndTheNextRunResumesFromTheLastGoodCursor() async throws {
        let stack = try self.stack
        let database = try await createPostgresDatabase("sales", [
            "CREATE TABLE orders (id int8 PRIMARY KEY, amount numeric(8,2), units int4)",
            "INSERT INTO orders VALUES (1, 10.00, 2), (2, 30.00, 3), (3, 8.00, 4)",
        ])
        try await stack.etlctl.create(postgresDefinition(
            name: "sales-orders", database: database, source: #"query: "SELECT id, amount, amount / units AS unit_price FROM orders""#,
            contract: """
              name: orders
              fields:
                - { name: id, type: integer, required: true }
                - { name: unit_price, type: number, required: true }
            """))
        let first = try await stack.run("sales-orders")
        try await expectCompleted(first, extracted: 3, valid: 3, invalid: 0)
        #expect(try await stack.datasetRows("sales_orders", runID: first.runID).compactMap { $0["unit_price"] as Double? } == [5, 10, 2])
        let goodState = try #require(first.connector.stateJSON)

        try await stack.postgres.execute(["INSERT INTO orders VALUES (4, 12.00, 0), (5, 9.00, 3)"], in: database)
        let failed = try await stack.run("sales-orders")
        try await expectFailedCleanly(failed, reasonContaining: ["sales-orders", "division by zero"])
        #expect(failed.connector.stateJSON == goodState)
        #expect(try await stack.datasetRowCount("sales_orders") == 3)

        try await stack.postgres.execute(["UPDATE orders SET units = 4 WHERE id = 4"], in: database)
        let resumed = try await stack.run("sales-orders")
        try await expectCompleted(resumed, extracted: 2, valid: 2, invalid: 0)
        let rows = try await stack.datasetRows("sales_orders", runID: resumed.runID)
        #expect(rows.compactMap { $0["id"] as Int? } == [4, 5])
        #expect(rows.compactMap { $0["unit_price"] as Double? } == [3, 3])
        #expect(try await stack.datasetRowCount("sales_orders") == 5)
        #expect(resumed.connector.stateJSON?.contains(#""value":"5""#) == true, "\(resumed.connector.stateJSON ?? "no state")")
    }

    // MARK: - Checks

    /// The run completed from the connector, with these counts; its three files are on the
    /// SFTP side byte for byte; the connector is idle with `last_run_at` set.
    func expectCompleted(_ finished: ConnectorPipelineStack.Finished, extracted: Int, valid: Int, invalid: Int,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stack = try self.stack
        let run = finished.run
        let connector = finished.connector
        try #require(run.status == "completed", "run \(finished.runID): \(run.status) \(run.error ?? "") / connector: \(connector.statusReason ?? "")",
                     sourceLocation: sourceLocation)
        #expect(run.sourceID == connector.id, sourceLocation: sourceLocation)
        #expect(run.extractedCount == extracted && run.validCount == valid && run.invalidCount == invalid,
                "\(String(describing: run.extractedCount)) \(String(describing: run.validCount)) \(String(describing: run.invalidCount))",
                sourceLocation: sourceLocation)
        #expect(connector.status == .idle && connector.statusReason == nil, sourceLocation: sourceLocation)
        #expect(connector.lastRunAt != nil && connector.lastRunID == finished.runID.timestamp, sourceLocation: sourceLocation)
        let files = finished.files
        #expect(try LineReader.countLines(path: files.raw.path) == extracted, sourceLocation: sourceLocation)
        #expect(try LineReader.countLines(path: files.processed.path) == valid, sourceLocation: sourceLocation)
        #expect(try LineReader.countLines(path: files.deadLetter.path) == invalid, sourceLocation: sourceLocation)
        for file in [files.raw, files.processed, files.deadLetter] {
            #expect(FileManager.default.contentsEqual(atPath: stack.uploaded(file).path, andPath: file.path),
                    "\(stack.uploaded(file).path) differs from \(file.path)", sourceLocation: sourceLocation)
        }
        #expect(Set(run.uploadedFiles) == Set([files.raw, files.processed, files.deadLetter].map { stack.uploaded($0).path }),
                sourceLocation: sourceLocation)
    }

    /// The run failed with a reason naming `reasonContaining`, in `etl_runs` and on the
    /// connector; it left no file (raw, manifest, processed, DLQ) here or on the SFTP side.
    func expectFailedCleanly(_ finished: ConnectorPipelineStack.Finished, reasonContaining parts: [String],
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stack = try self.stack
        let run = finished.run
        let connector = finished.connector
        try #require(run.status == "failed", "run \(finished.runID) is \(run.status)", sourceLocation: sourceLocation)
        #expect(run.sourceID == connector.id, sourceLocation: sourceLocation)
        #expect(connector.status == .error, sourceLocation: sourceLocation)
        let reason = connector.statusReason ?? ""
        #expect(parts.allSatisfy(reason.contains), "\(reason)", sourceLocation: sourceLocation)
        #expect(parts.allSatisfy((run.error ?? "").contains), "\(run.error ?? "no error")", sourceLocation: sourceLocation)
        let files = finished.files
        for file in [files.raw, files.manifest, files.processed, files.deadLetter] {
            #expect(!FileManager.default.fileExists(atPath: file.path), "\(file.path) exists", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: stack.uploaded(file).path), "\(file.lastPathComponent) uploaded",
                    sourceLocation: sourceLocation)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: RunFiles.rawDirectory(stack.data).path)
            .filter { $0.contains(finished.runID.timestamp) }
        #expect(leftovers.isEmpty, "\(leftovers)", sourceLocation: sourceLocation)
        #expect(run.extractedCount ?? 0 == 0 && run.uploadedFiles.isEmpty, sourceLocation: sourceLocation)
        #expect(try await stack.database.rowCount(.raw, runID: finished.runID) == 0, sourceLocation: sourceLocation)
    }

    // MARK: - PostgreSQL sources

    /// A fresh database on the suite's server, named after `prefix`, with `statements` run in it.
    func createPostgresDatabase(_ prefix: String, _ statements: [String]) async throws -> String {
        let stack = try self.stack
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try await stack.postgres.execute(["CREATE DATABASE \(name)"], in: "postgres")
        try await stack.postgres.execute(statements, in: name)
        return name
    }

    /// A postgresql connector on the suite's server, its password a `${…}` reference only the
    /// extractor resolves, incremental on `id`.
    func postgresDefinition(name: String, database: String, source: String, contract: String) throws -> String {
        let postgres = try self.stack.postgres
        return """
            name: \(name)
            type: postgresql
            config:
              host: \(postgres.host)
              port: \(postgres.port)
              database: \(database)
              user: \(postgres.user)
              password: "${\(ConnectorPipelineStack.postgresPasswordVariable)}"
              sslmode: disable
              \(source)
              cursor_column: id
            contract:
            \(contract)
            """
    }
}
