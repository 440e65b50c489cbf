import ETLCore
import Foundation
import GRDB
import Hummingbird
import PipelineSchema

/// `GET /etl_runs` query: `limit` (1–1000, default 100), `offset` (≥ 0), `status` (a `RunStatus`).
struct RunsQuery: Equatable {
    static let defaultLimit = 100

    var limit = RunsQuery.defaultLimit
    var offset = 0
    var status: RunStatus?

    init(limit: Int = RunsQuery.defaultLimit, offset: Int = 0, status: RunStatus? = nil) {
        self.limit = limit
        self.offset = offset
        self.status = status
    }

    /// The checked parameters of `GET /etl_runs` (the document's enum names every status).
    init(_ parameters: RequestParameters) {
        limit = parameters.integer("limit") ?? Self.defaultLimit
        offset = parameters.integer("offset") ?? 0
        status = parameters.string("status").flatMap(RunStatus.init(rawValue:))
    }
}

enum RunQueries {
    /// The allow-listed ledger columns (`ServedFields.etlRuns`): every route that shows a run
    /// (`/etl_runs`, `/etl_runs/{id}`, `/health`) writes it through this.
    static let served = ServedRows(ServedFields.etlRuns)
    static let columns = served.columns
    private typealias Runs = RunRecord.Columns
    private static let table = RunRecord.databaseTableName
    private static let newestFirst = "ORDER BY \(Runs.runTimestamp.name) DESC, \(Runs.id.name) DESC"
    private static let statusIsNullOrFirstArgument = "(?1 IS NULL OR \(Runs.status.name) = ?1)"

    /// The list, written straight to JSON: `/etl_runs` is the hottest route (the frontend
    /// polls it), and this is several times cheaper than `Codable` + `JSONEncoder`.
    static func listJSON(_ query: RunsQuery, db: Database) throws -> Page {
        let status = query.status?.rawValue
        var writer = JSONWriter(capacity: 700 * min(query.limit, 200))
        writer.beginArray()
        let rows = try Row.fetchCursor(db.cachedStatement(sql: listSQL), arguments: [status, query.limit, query.offset])
        while let row = try rows.next() { served.writeObject(row, into: &writer) }
        writer.endArray()
        return Page(json: writer.bytes, total: try count(status: status, db: db))
    }

    private static let listSQL = """
        SELECT \(columns) FROM \(table)
        WHERE \(statusIsNullOrFirstArgument)
        \(newestFirst)
        LIMIT ?2 OFFSET ?3
        """

    private static func count(status: String?, db: Database) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COUNT(*) FROM \(table) WHERE \(statusIsNullOrFirstArgument)"), arguments: [status]) ?? 0
    }

    /// One run as JSON; nil when unknown.
    static func one(_ id: RunID, db: Database) throws -> [UInt8]? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM \(table) WHERE \(Runs.id.name) = ?", arguments: [id.timestamp]).map(json)
    }

    /// The newest run as JSON; nil when there is none.
    static func latest(db: Database) throws -> [UInt8]? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM \(table) \(newestFirst) LIMIT 1").map(json)
    }

    private static func json(_ row: Row) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        served.writeObject(row, into: &writer)
        return writer.bytes
    }
}
