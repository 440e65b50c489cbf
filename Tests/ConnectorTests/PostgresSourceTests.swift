import Connectors
import ConnectorSources
import CurlHTTP
import Extraction
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// Against a real PostgreSQL 15, started once for the suite (initdb takes seconds); every
/// test works in a database of its own.
@Suite(.postgresServer) struct PostgresSourceTests {
    @Test func everyTypeBecomesItsJSONValue() async throws {
        let database = try await PostgresTestDatabase.create([
            """
            CREATE TABLE everything (id int4, small int2, big int8, real4 float4, double8 float8, amount numeric(10,2),
              flag bool, label text, code varchar(10), fixed char(3), tag name, uid uuid, day date, at timestamp,
              at_tz timestamptz, doc json, docb jsonb, raw bytea, span interval, tags text[])
            """,
            """
            INSERT INTO everything VALUES (1, -2, 9007199254740993, 1.5, -0.25, 12.50, true, E'a "quoted"\\nline', 'v', 'ab',
              'nm', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '2024-01-02 03:04:05.123456',
              '2024-01-02 03:04:05+02', E'{"a": [1,\\n 2]}', '{"b": null}', '\\x00ff10', '1 day 02:00:00', '{x,"y z"}')
            """,
            "INSERT INTO everything (id) VALUES (2)",
            "INSERT INTO everything (id, real4, double8, amount) VALUES (3, '-Infinity', 'Infinity', 'NaN')",
        ])
        let sink = PostgresCollectingSink()
        let state = try await database.source(["table": .string("public.everything")]).read(after: nil, into: sink)
        #expect(state == nil)
        #expect(await sink.records == [
            #"{"id":1,"small":-2,"big":9007199254740993,"real4":1.5,"double8":-0.25,"amount":12.50,"flag":true,"label":"a \"quoted\"\nline","code":"v","fixed":"ab ","tag":"nm","uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","day":"2024-02-29","at":"2024-01-02T03:04:05.123456","at_tz":"2024-01-02T01:04:05Z","doc":{"a": [1,  2]},"docb":{"b": null},"raw":"AP8Q","span":"1 day 02:00:00","tags":"{x,\"y z\"}"}"#,
            #"{"id":2,"small":null,"big":null,"real4":null,"double8":null,"amount":null,"flag":null,"label":null,"code":null,"fixed":null,"tag":null,"uid":null,"day":null,"at":null,"at_tz":null,"doc":null,"docb":null,"raw":null,"span":null,"tags":null}"#,
            #"{"id":3,"small":null,"big":null,"real4":"-Infinity","double8":"Infinity","amount":"NaN","flag":null,"label":null,"code":null,"fixed":null,"tag":null,"uid":null,"day":null,"at":null,"at_tz":null,"doc":null,"docb":null,"raw":null,"span":null,"tags":null}"#,
        ])
    }

    @Test func aQueryIsReadWithExactNumbersAndTimes() async throws {
        let database = try await PostgresTestDatabase.create([])
        let query = """
            SELECT 0.0001::numeric AS a, -12345678901234567890.123456789::numeric AS b, 10000::numeric AS c, 0::numeric AS d,
              '-Infinity'::numeric AS e, 1e20::float8 AS f, '1999-12-31 23:59:59.5'::timestamp AS g, 'infinity'::timestamptz AS h,
              '0044-03-15 BC'::date AS i, 'x' AS "a ""quoted"" name";
            """
        let sink = PostgresCollectingSink()
        _ = try await database.source(["query": .string(query)]).read(after: nil, into: sink)
        #expect(await sink.records == [
            #"{"a":0.0001,"b":-12345678901234567890.123456789,"c":10000,"d":0,"e":"-Infinity","f":1e+20,"g":"1999-12-31T23:59:59.5","h":"infinity","i":"-0043-03-15","a \"quoted\" name":"x"}"#,
        ])
    }

    @Test func anIntegerCursorReadsOnlyNewRows() async throws {
        let database = try await PostgresTestDatabase.create([
            "CREATE TABLE events (id int8 PRIMARY KEY, name text)",
            "INSERT INTO events VALUES (2, 'b'), (1, 'a'), (3, 'c')",
        ])
        let source = try database.source(["table": .string("events"), "cursor_column": .string("id")])
        let first = PostgresCollectingSink()
        let state = try await source.read(after: nil, into: first)
        #expect(await first.records == [#"{"id":1,"name":"a"}"#, #"{"id":2,"name":"b"}"#, #"{"id":3,"name":"c"}"#])
        #expect(state?.json == #"{"column":"id","type":"bigint","value":"3"}"#)

        try await database.execute("INSERT INTO events VALUES (5, 'e'), (4, 'd')")
        let second = PostgresCollectingSink()
        let secondState = try await source.read(after: state, into: second)
        #expect(await second.records == [#"{"id":4,"name":"d"}"#, #"{"id":5,"name":"e"}"#])

        let third = PostgresCollectingSink()
        let thirdState = try await source.read(after: secondState, into: third)
        #expect(await third.records.isEmpty)
        #expect(thirdState == secondState)
        #expect(thirdState?.json.contains(#""value":"5""#) == true)
    }

    @Test func aTimestampCursorKeepsMicroseconds() async throws {
        let database = try await PostgresTestDatabase.create([
            "CREATE TABLE changes (updated_at timestamptz, note text)",
            "INSERT INTO changes VALUES ('2024-05-01 10:00:00.000001+00', 'one'), ('2024-05-01 10:00:00.000002+00', 'two')",
        ])
        let source = try database.source(["query": .string("SELECT note, updated_at FROM changes"), "cursor_column": .string("updated_at")])
        let first = PostgresCollectingSink()
        let state = try await source.read(after: nil, into: first)
        #expect(await first.records.count == 2)
        #expect(state?.json == #"{"column":"updated_at","type":"timestamp with time zone","value":"2024-05-01T10:00:00.000002Z"}"#)

        try await database.execute("INSERT INTO changes VALUES ('2024-05-01 10:00:00.000003+00', 'three'), ('2024-04-01 00:00:00+00', 'late')")
        let second = PostgresCollectingSink()
        let secondState = try await source.read(after: state, into: second)
        #expect(await second.records == [#"{"note":"three","updated_at":"2024-05-01T10:00:00.000003Z"}"#])

        let third = PostgresCollectingSink()
        #expect(try await source.read(after: secondState, into: third) == secondState)
        #expect(await third.records.isEmpty)
    }

    @Test func manyRowsStreamInBatchesNoLargerThanTheBatchSize() async throws {
        let database = try await PostgresTestDatabase.create([
            "CREATE TABLE big (id int4, digest text)",
            "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 20000) AS g",
        ])
        let sink = PostgresCollectingSink()
        _ = try await database.source(["table": .string("big")], batchSize: 777).read(after: nil, into: sink)
        let sizes = await sink.batchSizes
        #expect(sizes.allSatisfy { $0 <= 777 })
        #expect(sizes.count == 26)
        #expect(sizes.reduce(0, +) == 20000)
        let ids = Set(await sink.records.map { $0.split(separator: ",")[0] })
        #expect(ids.count == 20000)
        #expect(await sink.positions.first == "big rows 1-777")
    }

    @Test func aWrongPasswordIsAnAuthenticationErrorWithoutThePassword() async throws {
        let database = try await PostgresTestDatabase.create([])
        let wrong = "not-the-password-42"
        let source = try database.source(["table": .string("anything")], environment: ["PG_TEST_PASSWORD": wrong])
        let error = try await #require(throws: ConnectorError.self) { try await source.check() }
        #expect(error.kind == .authentication)
        #expect(error.message == #"password authentication failed for user "etl_test"; check user and password"#)
        #expect(!"\(error)".contains(wrong))
    }

    @Test func anUnknownDatabaseIsNotFound() async throws {
        let database = try await PostgresTestDatabase.create([])
        let source = try database.source(["table": .string("t"), "database": .string("no_such_database")])
        let error = try await #require(throws: ConnectorError.self) { try await source.check() }
        #expect(error.kind == .notFound)
        #expect(error.object == "database no_such_database")
        #expect(error.message.contains("3D000"))
    }

    @Test func aMissingTableIsNotFound() async throws {
        let database = try await PostgresTestDatabase.create([])
        let error = try await #require(throws: ConnectorError.self) {
            try await database.source(["table": .string("sales.missing")]).check()
        }
        #expect(error.kind == .notFound)
        #expect(error.object == "sales.missing")
        #expect(error.message.contains("42P01"))
    }

    @Test func aBadQueryIsAFetchErrorNamingTheQuery() async throws {
        let database = try await PostgresTestDatabase.create([])
        let source = try database.source(["query": .string("SELECT 1 FROM FROM nowhere")])
        let checkError = try await #require(throws: ConnectorError.self) { try await source.check() }
        #expect(checkError.kind == .fetch)
        #expect(checkError.object == "query")
        #expect(checkError.message.contains("syntax error") && checkError.message.contains("42601"))

        let readError = try await #require(throws: ConnectorError.self) { try await source.read(after: nil, into: PostgresCollectingSink()) }
        #expect(readError.kind == .fetch && readError.object == "query")
    }

    @Test func anErrorPartWayReportsTheRowReached() async throws {
        let database = try await PostgresTestDatabase.create([])
        let query = "SELECT g, 10 / (3 - g) AS q FROM generate_series(1, 5) AS g"
        let sink = PostgresCollectingSink()
        let error = try await #require(throws: ConnectorError.self) {
            try await database.source(["query": .string(query)], batchSize: 1).read(after: nil, into: sink)
        }
        #expect(error.kind == .fetch)
        #expect(error.message.contains("division by zero") && error.message.contains("22012"))
        #expect(error.position == "after row \(await sink.records.count)")
    }

    @Test func theSinksErrorsAndCancellationPassThrough() async throws {
        let database = try await PostgresTestDatabase.create([
            "CREATE TABLE t (id int4)",
            "INSERT INTO t SELECT generate_series(1, 50)",
        ])
        let source = try database.source(["table": .string("t")], batchSize: 10)
        await #expect(throws: DiskFull.self) { try await source.read(after: nil, into: FailingSink()) }
        let sink = CancellingSink()
        await #expect(throws: CancellationError.self) {
            try await Task { try await source.read(after: nil, into: sink) }.value
        }
        #expect(await sink.batches == 1)
    }

    @Test func aMissingCursorColumnIsAConfigurationError() async throws {
        let database = try await PostgresTestDatabase.create(["CREATE TABLE t (id int4)"])
        let error = try await #require(throws: ConnectorError.self) {
            try await database.source(["table": .string("t"), "cursor_column": .string("updated_at")]).check()
        }
        #expect(error.kind == .configuration)
        #expect(error.message.contains("no column \"updated_at\"") && error.message.contains("id"))
    }

    @Test func aClosedPortIsAConnectionError() async throws {
        let database = try await PostgresTestDatabase.create([])
        let source = try database.source(["table": .string("t"), "port": .integer(try Loopback.freePort())])
        let error = try await #require(throws: ConnectorError.self) { try await source.check() }
        #expect(error.kind == .connection)
        #expect(error.object?.hasPrefix("127.0.0.1:") == true)
    }

    @Test func discoverListsTheTablesWithSamplesAndTheQuery() async throws {
        let database = try await PostgresTestDatabase.create([
            "CREATE SCHEMA sales",
            "CREATE TABLE sales.orders (id int4, total numeric)",
            "INSERT INTO sales.orders VALUES (1, 9.99), (2, 5), (3, 1)",
            "CREATE TABLE people (name text)",
            "ANALYZE sales.orders",
        ])
        let objects = try await database.source(["query": .string("SELECT 42 AS answer")]).discover(sampleSize: 2)
        #expect(objects.map(\.name) == ["public.people", "sales.orders", "query"])
        let orders = try #require(objects.first { $0.name == "sales.orders" })
        #expect(orders.details["schema"] == "sales" && orders.details["table"] == "orders")
        #expect(orders.details["estimated_rows"] == "3")
        #expect(orders.sample.map { String(decoding: $0, as: UTF8.self) } == [#"{"id":1,"total":9.99}"#, #"{"id":2,"total":5}"#])
        #expect(objects[0].sample.isEmpty)
        #expect(objects[2].sample.map { String(decoding: $0, as: UTF8.self) } == [#"{"answer":42}"#])
    }

    @Test func preferConnectsToAServerWithoutTLSAndRequireRefuses() async throws {
        let database = try await PostgresTestDatabase.create(["CREATE TABLE t (id int4)"])
        try await database.source(["table": .string("t"), "sslmode": .string("prefer")]).check()
        let error = try await #require(throws: ConnectorError.self) {
            try await database.source(["table": .string("t"), "sslmode": .string("require")]).check()
        }
        #expect(error.kind == .connection && error.message.contains("does not offer TLS"))
    }

    @Test func tableAndQueryExcludeEachOther() {
        #expect(throws: ConnectorError.self) {
            try PostgresSource.schema.validate(["database": .string("d"), "user": .string("u")], connector: "pg")
        }
        #expect(throws: ConnectorError.self) {
            try PostgresSource.schema.validate(
                ["database": .string("d"), "user": .string("u"), "table": .string("t"), "query": .string("SELECT 1")], connector: "pg")
        }
        #expect(throws: ConnectorError.self) {
            try PostgresSource.schema.validate(["database": .string("d"), "user": .string("u"), "query": .string("DELETE FROM t")], connector: "pg")
        }
        #expect(throws: ConnectorError.self) {
            try PostgresSource.schema.validate(["database": .string("d"), "user": .string("u"), "table": .string("a.b.c")], connector: "pg")
        }
    }
}

// MARK: - Support

/// Starts one PostgreSQL for the whole suite and stops it (and removes its directory) after.
private struct PostgresServerTrait: SuiteTrait, TestScoping {
    @TaskLocal static var current: PostgresServer?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let server = try await PostgresServer.start()
        do {
            try await Self.$current.withValue(server) { try await function() }
        } catch {
            await server.shutDown()
            throw error
        }
        await server.shutDown()
    }
}

extension Trait where Self == PostgresServerTrait {
    fileprivate static var postgresServer: Self { PostgresServerTrait() }
}

/// A fresh database on the suite's server, and sources configured for it. The password
/// reaches the source as `${PG_TEST_PASSWORD}`, resolved from the environment given.
private struct PostgresTestDatabase {
    let server: PostgresServer
    let name: String

    static func create(_ statements: [String]) async throws -> PostgresTestDatabase {
        let server = try #require(PostgresServerTrait.current)
        let database = PostgresTestDatabase(server: server, name: "test_\(UUID().uuidString.prefix(8).lowercased())")
        try await database.execute(["CREATE DATABASE \(database.name)"], in: "postgres")
        try await database.execute(statements, in: database.name)
        return database
    }

    func execute(_ statement: String) async throws {
        try await execute([statement], in: name)
    }

    private func execute(_ statements: [String], in database: String) async throws {
        try await server.execute(statements, in: database)
    }

    func source(_ values: [String: ConfigValue], batchSize: Int = 1000, environment: [String: String]? = nil) throws -> PostgresSource {
        var config: [String: ConfigValue] = [
            "host": .string(server.host), "port": .integer(server.port), "database": .string(name),
            "user": .string(server.user), "password": .string("${PG_TEST_PASSWORD}"), "sslmode": .string("disable"),
        ]
        config.merge(values) { $1 }
        let context = SourceContext(
            secrets: SecretResolver(environment: environment ?? ["PG_TEST_PASSWORD": server.password]),
            http: NoHTTP(), downloads: NoHTTP(), logger: Logger(label: "postgres-source-test"), batchSize: batchSize)
        return try PostgresSource(config: try PostgresSource.schema.validate(config, connector: "warehouse"), context: context)
    }
}

/// What a database source is built with for HTTP, which it never uses.
private struct NoHTTP: HTTPRequesting, HTTPDownloading {
    struct Unused: Error {}
    func send(_ request: HTTPRequest, timeoutSeconds: Double) async throws -> HTTPResponse { throw Unused() }
    func download(_ request: HTTPRequest, to file: URL, timeoutSeconds: Double) async throws -> HTTPResponse { throw Unused() }
}

private struct DiskFull: Error {}

private struct FailingSink: RecordSink {
    func write(_ records: [[UInt8]], position: String) async throws { throw DiskFull() }
}

/// Cancels the reading task on its first batch (a sink runs on the reader's task).
private actor CancellingSink: RecordSink {
    private(set) var batches = 0

    func write(_ records: [[UInt8]], position: String) async throws {
        batches += 1
        withUnsafeCurrentTask { $0?.cancel() }
    }
}

private actor PostgresCollectingSink: RecordSink {
    private(set) var batches: [[[UInt8]]] = []
    private(set) var positions: [String] = []

    func write(_ records: [[UInt8]], position: String) async throws {
        batches.append(records)
        positions.append(position)
    }

    var records: [String] { batches.flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } }
    var batchSizes: [Int] { batches.map(\.count) }
}
