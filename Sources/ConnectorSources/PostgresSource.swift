public import Connectors
import ETLCore
import Foundation
import Logging
import PostgresNIO

/// Reads a PostgreSQL table or query, streaming its rows as JSON objects through
/// postgres-nio's row sequence (which applies backpressure, so memory stays flat however
/// many rows there are). With `cursor_column` it reads incrementally: each run only the rows
/// whose cursor is greater than the last one the previous run delivered.
public struct PostgresSource: RecordSource {
    public static let schema = ConfigSchema(fields: [
        .optional("host", .string, default: .string("127.0.0.1"), "the server's host name or IP address"),
        .optional("port", .integer(1...65535), default: .integer(5432), "the server's TCP port"),
        .required("database", .string, "the database to read from"),
        .required("user", .string, "the role to log in as"),
        .optional("password", .string, secret: true, "the role's password (a literal, ${ENV_VAR} or password_file)"),
        .optional("sslmode", .choice(["disable", "prefer", "require"]), default: .string("prefer"),
                  "disable: no TLS; prefer: TLS when the server offers it; require: TLS or fail (certificates are not verified, as in libpq)"),
        .optional("table", .string, "the table or view to read: name or schema.name, case-sensitive (give table or query)"),
        .optional("query", .string, "a SELECT whose rows to read (give table or query)"),
        .optional("cursor_column", .string, "a column that grows with new rows (an id, an updated_at): each run reads only rows after the last one read"),
        .optional("connect_timeout_seconds", .integer(1...3600), default: .integer(10), "how long to wait for the TCP connection"),
    ], rules: { config in
        switch (config.string("table"), config.string("query")) {
        case (nil, nil): [("table", "or query is required: give the table to read or a SELECT")]
        case (.some, .some): [("table", "and query exclude each other: give one")]
        case (let table?, nil): PostgresObject(table: table) == nil ? [("table", "must be name or schema.name, got \"\(table)\"")] : []
        case (nil, let query?): isSelect(query) ? [] : [("query", "must be a SELECT (or WITH, VALUES, TABLE) statement")]
        }
    })

    let connector: String
    let object: PostgresObject
    let cursorColumn: String?
    let configuration: PostgresConnection.Configuration
    let batchSize: Int
    let logger: Logger

    public init(config: ConnectorConfig, context: SourceContext) throws(ConnectorError) {
        connector = config.connector
        object = config.string("table").flatMap(PostgresObject.init(table:)) ?? PostgresObject(query: config.string("query") ?? "")
        cursorColumn = config.string("cursor_column")
        let user = config.string("user") ?? ""
        var configuration = PostgresConnection.Configuration(
            host: config.string("host") ?? "127.0.0.1", port: config.integer("port") ?? 5432,
            username: user, password: try context.secrets.secret("password", in: config),
            database: config.string("database"), tls: try Self.tls(config.string("sslmode") ?? "prefer", connector: connector))
        configuration.options.connectTimeout = .seconds(Int64(config.integer("connect_timeout_seconds") ?? 10))
        self.configuration = configuration
        batchSize = max(1, context.batchSize)
        logger = context.logger
    }

    public func check() async throws {
        try await withConnection { connection in
            let columns = try await describe(on: connection)
            _ = try await cursorType(in: columns, on: connection)
        }
    }

    public func discover(sampleSize: Int) async throws -> [DiscoveredObject] {
        try await withConnection { connection in
            var objects: [DiscoveredObject] = []
            for table in try await userTables(on: connection) {
                let details = ["schema": table.schema, "table": table.name, "kind": table.kind,
                               "estimated_rows": table.estimatedRows < 0 ? "unknown" : String(table.estimatedRows)]
                let sample = try await sampleRows(of: .table(schema: table.schema, name: table.name), limit: sampleSize, on: connection)
                objects.append(DiscoveredObject(name: "\(table.schema).\(table.name)", details: details, sample: sample))
            }
            if case .query(let sql) = object {
                objects.append(DiscoveredObject(name: "query", details: ["query": sql], sample: try await sampleRows(of: object, limit: sampleSize, on: connection)))
            }
            return objects
        }
    }

    public func read(after state: IncrementalState?, into sink: any RecordSink) async throws -> IncrementalState? {
        let start = try cursorColumn.flatMap { column throws(ConnectorError) in try startingPoint(state, column: column) }
        return try await withConnection { connection in
            let columns = try await describe(on: connection, rowsRead: 0)
            let cursor = try await cursorType(in: columns, on: connection)
            let query = PostgresSQL.read(object, columns: columns, cursor: cursor.map { (column: $0.column, after: start) })
            var last = start
            try await stream(query, on: connection, into: sink) { value in
                if let value, let cursor { last = CursorState(column: cursor.column, type: cursor.type, value: value) }
            }
            return try last.map(Self.incrementalState)
        }
    }

    // MARK: - Reading

    /// Streams the rows of `query` to `sink` in batches of `batchSize`. After each batch is
    /// written, `cursorSeen` gets the last non-NULL cursor text read so far: the state may
    /// only move past rows the sink has.
    private func stream(_ query: PostgresQuery, on connection: PostgresConnection, into sink: any RecordSink,
                        cursorSeen: (String?) -> Void) async throws {
        var encoder = PostgresRowEncoder(cursorColumn: cursorColumn)
        var rows = try await run(query, on: connection, rowsRead: 0).makeAsyncIterator()
        var batch: [[UInt8]] = []
        var batchCursor: String?
        var rowsRead = 0
        batch.reserveCapacity(batchSize)
        while let row = try await next(&rows, rowsRead: rowsRead) {
            let (record, cursor) = try encode(row, with: &encoder, rowsRead: rowsRead)
            batch.append(record)
            rowsRead += 1
            if cursor != nil { batchCursor = cursor }
            if batch.count == batchSize {
                try await deliver(&batch, endingAt: rowsRead, to: sink)
                cursorSeen(batchCursor)
            }
        }
        if !batch.isEmpty {
            try await deliver(&batch, endingAt: rowsRead, to: sink)
            cursorSeen(batchCursor)
        }
    }

    private func deliver(_ batch: inout [[UInt8]], endingAt rowsRead: Int, to sink: any RecordSink) async throws {
        try Task.checkCancellation()
        try await sink.write(batch, position: "\(object.label) rows \(rowsRead - batch.count + 1)-\(rowsRead)")
        batch.removeAll(keepingCapacity: true)
    }

    /// Up to `limit` rows of `object`, for discovery.
    private func sampleRows(of object: PostgresObject, limit: Int, on connection: PostgresConnection) async throws -> [[UInt8]] {
        guard limit > 0 else { return [] }
        let columns = try await describe(object, on: connection)
        var rows = try await run(PostgresSQL.read(object, columns: columns, limit: limit), on: connection, object: object, rowsRead: 0).makeAsyncIterator()
        var encoder = PostgresRowEncoder()
        var sample: [[UInt8]] = []
        while let row = try await next(&rows, object: object, rowsRead: sample.count) {
            sample.append(try encode(row, with: &encoder, object: object, rowsRead: sample.count).record)
        }
        return sample
    }

    private func encode(_ row: PostgresRow, with encoder: inout PostgresRowEncoder, object: PostgresObject? = nil, rowsRead: Int) throws(ConnectorError) -> (record: [UInt8], cursor: String?) {
        do {
            return try encoder.encode(row)
        } catch {
            throw ConnectorError(.fetch, connector: connector, object: (object ?? self.object).label, position: "row \(rowsRead + 1)",
                                 "column \(error.column) of type \(error.type) has a binary value that cannot be read")
        }
    }

    // MARK: - Describing

    /// The object's columns, from the one all-NULL row of `PostgresSQL.describe`.
    /// `rowsRead`: 0 when describing starts a read, so its errors say no row was read yet.
    private func describe(_ object: PostgresObject? = nil, on connection: PostgresConnection, rowsRead: Int? = nil) async throws -> [PostgresColumn] {
        let object = object ?? self.object
        let rows = try await run(PostgresSQL.describe(object), on: connection, object: object, rowsRead: rowsRead)
        var iterator = rows.makeAsyncIterator()
        guard let row = try await next(&iterator, object: object, rowsRead: rowsRead) else { return [] }
        return row.map { PostgresColumn(name: $0.columnName, dataType: $0.dataType) }
    }

    /// The configured cursor column and its SQL type; nil without one. A cursor column the
    /// object does not have is a configuration error listing the columns it has.
    private func cursorType(in columns: [PostgresColumn], on connection: PostgresConnection) async throws -> (column: String, type: String)? {
        guard let cursorColumn else { return nil }
        guard let column = columns.first(where: { $0.name == cursorColumn }) else {
            throw ConnectorError.configuration(connector: connector, field: "cursor_column",
                                               "\(object.label) has no column \"\(cursorColumn)\" (columns: \(columns.map(\.name).joined(separator: ", ")))")
        }
        var rows = try await run(PostgresSQL.typeName(column.dataType), on: connection, rowsRead: nil).makeAsyncIterator()
        let type = try await next(&rows, rowsRead: nil).map { try $0.decode(String.self) } ?? "text"
        return (cursorColumn, type)
    }

    private struct UserTable {
        var schema: String
        var name: String
        var estimatedRows: Int64
        var kind: String
    }

    private func userTables(on connection: PostgresConnection) async throws -> [UserTable] {
        let rows = try await run(PostgresSQL.tables, on: connection, object: .query("the list of tables"), rowsRead: nil)
        var tables: [UserTable] = []
        var iterator = rows.makeAsyncIterator()
        while let row = try await next(&iterator, object: .query("the list of tables"), rowsRead: nil) {
            let (schema, name, estimatedRows, kind) = try row.decode((String, String, Int64, String).self)
            tables.append(UserTable(schema: schema, name: name, estimatedRows: estimatedRows, kind: kind))
        }
        return tables
    }

    // MARK: - State

    /// The cursor state a previous run returned; nil on a first run.
    private func startingPoint(_ state: IncrementalState?, column: String) throws(ConnectorError) -> CursorState? {
        guard let state else { return nil }
        guard let cursor = try? JSONDecoder().decode(CursorState.self, from: Data(state.json.utf8)) else {
            throw ConnectorError(.configuration, connector: connector, object: "state",
                                 "the saved incremental state is not a PostgreSQL cursor state: \(state.json.prefix(200))")
        }
        guard cursor.column == column else {
            throw ConnectorError.configuration(connector: connector, field: "cursor_column",
                                               "is \"\(column)\" but the saved state is for cursor column \"\(cursor.column)\"; reset the connector's state to read from the start with the new column")
        }
        return cursor
    }

    private static func incrementalState(_ cursor: CursorState) throws -> IncrementalState {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return IncrementalState(json: String(decoding: try encoder.encode(cursor), as: UTF8.self))
    }

    // MARK: - Configuration

    /// libpq's meaning of the modes: prefer and require encrypt without verifying the
    /// server's certificate.
    private static func tls(_ mode: String, connector: String) throws(ConnectorError) -> PostgresConnection.Configuration.TLS {
        guard mode != "disable" else { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        do {
            let context = try NIOSSLContext(configuration: tls)
            return mode == "require" ? .require(context) : .prefer(context)
        } catch {
            throw .configuration(connector: connector, field: "sslmode", "cannot set up TLS: \(error)")
        }
    }

    /// Whether `query` starts with a keyword that begins a read-only statement: the source
    /// wraps it as a subquery, which only these can be.
    private static func isSelect(_ query: String) -> Bool {
        let keyword = query.drop { $0.isWhitespace || $0 == "(" }.prefix { $0.isLetter }.uppercased()
        return ["SELECT", "WITH", "VALUES", "TABLE"].contains(keyword)
    }
}
