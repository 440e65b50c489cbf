import ConnectorSources
import Connectors
import ETLCore
import Foundation
import GRDB
import Hummingbird
import Contracts
import PipelineSchema

/// `GET /connectors` and `GET /connectors/{id}`: the registry, secrets masked, with each
/// connector's next scheduled run. Paged like the source API (`skip`, `limit`, an envelope
/// with `total`), so a client of DummyJSON pages it the same way.
struct ConnectorPageBody: Encodable {
    let connectors: [ConnectorView]
    let total: Int
    let skip: Int
    let limit: Int
}

enum ConnectorQueries {
    static func page(skip: Int, limit: Int, db: Database) throws -> (records: [DataSourceRecord], total: Int) {
        // A database the saver has not migrated to the registry yet has no connectors.
        guard try db.tableExists(DataSourceRecord.databaseTableName) else { return ([], 0) }
        let records = try DataSourceRecord.order(DataSourceRecord.Columns.id).limit(limit, offset: skip).fetchAll(db)
        return (records, try DataSourceRecord.fetchCount(db))
    }

    static func one(_ id: Int64, db: Database) throws -> DataSourceRecord? {
        guard try db.tableExists(DataSourceRecord.databaseTableName) else { return nil }
        return try DataSourceRecord.fetchOne(db, key: id)
    }
}

func addConnectorRoutes(to router: Router<APIRequestContext>, store: ResultsStore, document: APIDocument) {
    let catalog = ConnectorCatalog.product
    let listRules = document.parameters(of: "/connectors")
    router.get("connectors") { request, _ -> Response in
        let parameters = try request.parameters(listRules)
        let skip = parameters.integer("skip") ?? 0
        let limit = parameters.integer("limit") ?? 30
        let (records, total) = try await store.read { db in try ConnectorQueries.page(skip: skip, limit: limit, db: db) }
        let now = Date()
        return JSONBody.response(ConnectorPageBody(connectors: records.map { catalog.view(of: $0, now: now) }, total: total, skip: skip, limit: limit))
    }

    let oneRules = document.parameters(of: "/connectors/{id}")
    router.get("connectors/:id") { _, context -> Response in
        let raw = context.parameters.get("id") ?? ""
        if let violation = checkPathParameter("id", raw[...], rules: oneRules) {
            throw APIError(status: .badRequest, code: "invalid_connector_id", message: "id: \(violation.message)")
        }
        guard let id = Int64(raw), let record = try await store.read({ db in try ConnectorQueries.one(id, db: db) }) else {
            throw APIError(status: .notFound, code: "connector_not_found", message: "no connector with id \(raw)")
        }
        return JSONBody.response(catalog.view(of: record, now: Date()))
    }
}

/// `GET /datasets/{dataset}/records`: the valid records of a connector's dataset, newest run
/// first, each run in file order. Served are the columns the dataset's contract declares (its
/// table's columns, see the saver's `DatasetTable`), never the stored `record`; any of them filters by
/// equality (`?sku=A1`), a query name that is not one of them is a 400.
enum DatasetQueries {
    static let pagingNames: Set<String> = ["limit", "offset", "run_id"]

    struct Query: Sendable {
        var limit: Int
        var offset: Int
        var runID: String?
        var filters: [(column: String, value: String)]
    }

    /// The dataset's declared columns with their SQLite types; nil when it has no table.
    static func columns(of dataset: String, db: Database) throws -> [(name: String, type: String)]? {
        let table = RunManifest.tableName(ofDataset: dataset)
        guard try db.tableExists(table) else { return nil }
        return try db.columns(in: table).filter { !Contract.reservedColumns.contains($0.name) }.map { ($0.name, $0.type.uppercased()) }
    }

    static func page(_ dataset: String, _ query: Query, db: Database) throws -> Page? {
        guard let columns = try columns(of: dataset, db: db) else { return nil }
        let known = Set(columns.map(\.name))
        if let unknown = query.filters.first(where: { !known.contains($0.column) }) {
            throw APIError(status: .badRequest, code: "unknown_filter",
                           message: "\(unknown.column) is not a field of dataset \(dataset) (its fields: \(columns.map(\.name).joined(separator: ", ")))")
        }
        var filter = SQLFilter()
        if let runID = query.runID { filter.add("run_id = ?", runID) }
        for (column, value) in query.filters { filter.add("\(column.quotedDatabaseIdentifier) = ?", value) }
        let table = RunManifest.tableName(ofDataset: dataset).quotedDatabaseIdentifier
        let selected = (["run_id", "line_no"] + columns.map(\.name)).map(\.quotedDatabaseIdentifier).joined(separator: ", ")
        let rows = try Row.fetchCursor(db, sql: """
            SELECT \(selected) FROM \(table) \(filter.whereClause) ORDER BY run_id DESC, line_no LIMIT ? OFFSET ?
            """, arguments: StatementArguments(filter.arguments + [query.limit.databaseValue, query.offset.databaseValue]))
        var writer = JSONWriter(capacity: 256 * min(query.limit, 200))
        writer.beginArray()
        while let row = try rows.next() {
            writer.beginObject()
            writer.key("run_id"); writer.string(row["run_id"] as String?)
            writer.key("line_no"); writer.integer(row["line_no"] as Int64?)
            for column in columns {
                writer.key(column.name)
                write(row[column.name], type: column.type, into: &writer)
            }
            writer.endObject()
        }
        writer.endArray()
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) \(filter.whereClause)", arguments: StatementArguments(filter.arguments)) ?? 0
        return Page(json: writer.bytes, total: total)
    }

    private static func write(_ value: DatabaseValue, type: String, into writer: inout JSONWriter) {
        switch value.storage {
        case .null: writer.null()
        case .int64(let number): writer.integer(number)
        case .double(let number): writer.double(number)
        case .string(let text): writer.string(text)
        case .blob: writer.null()
        }
    }
}

func addDatasetRoutes(to router: Router<APIRequestContext>, store: ResultsStore, document: APIDocument) {
    let rules = document.parameters(of: "/datasets/{dataset}/records")
    router.get("datasets/:dataset/records") { request, context -> Response in
        let dataset = context.parameters.get("dataset") ?? ""
        if let violation = checkPathParameter("dataset", dataset[...], rules: rules) {
            throw APIError(status: .badRequest, code: "invalid_dataset", message: "dataset: \(violation.message)")
        }
        let parameters = try request.parameters(rules)
        let form = FormQuery(request.uri.query)
        let query = DatasetQueries.Query(
            limit: parameters.integer("limit") ?? 100, offset: parameters.integer("offset") ?? 0,
            runID: parameters.runID()?.timestamp,
            filters: form.names.filter { !DatasetQueries.pagingNames.contains($0) }.sorted().map { ($0, String(form[$0] ?? "")) })
        guard let page = try await store.read({ db in try DatasetQueries.page(dataset, query, db: db) }) else {
            throw APIError(status: .notFound, code: "dataset_not_found", message: "no dataset \(dataset) has been loaded yet")
        }
        return JSONBody.page(page)
    }
}
