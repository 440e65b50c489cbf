import ETLCore
import GRDB

/// `GET /processed_users`: `run_id`, `department`, `department_code`, `q` (name or email
/// contains, case-insensitive for ASCII), `limit`, `offset`.
struct ProcessedUsersQuery: Sendable {
    var limit = RunsQuery.defaultLimit
    var offset = 0
    var runID: RunIDText?
    var department: String?
    var departmentCode: String?
    var search: String?

    init(_ parameters: QueryParameters) throws {
        limit = try parameters.limit()
        offset = try parameters.offset()
        runID = try parameters.runID()
        department = try parameters.text("department")
        departmentCode = try parameters.code("department_code")
        search = try parameters.text("q")
    }

    var filter: SQLFilter {
        var filter = SQLFilter()
        if let runID { filter.add("run_id = ?", runID.timestamp) }
        if let department { filter.add("department = ?", department) }
        if let departmentCode { filter.add("department_code = ?", departmentCode) }
        if let search {
            let pattern = SQLFilter.containsPattern(search)
            filter.add(#"(first_name LIKE ? ESCAPE '\' OR last_name LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\')"#,
                       pattern, pattern, pattern)
        }
        return filter
    }
}

/// `GET /invalid_users`: `run_id`, `error_code` (one of the row's `error_codes`), `q` (the
/// record's `firstName`, `lastName` or `email` contains), `limit`, `offset`.
struct InvalidUsersQuery: Sendable {
    var limit = RunsQuery.defaultLimit
    var offset = 0
    var runID: RunIDText?
    var errorCode: String?
    var search: String?

    init(_ parameters: QueryParameters) throws {
        limit = try parameters.limit()
        offset = try parameters.offset()
        runID = try parameters.runID()
        errorCode = try parameters.code("error_code")
        search = try parameters.text("q")
    }

    var filter: SQLFilter {
        var filter = SQLFilter()
        if let runID { filter.add("run_id = ?", runID.timestamp) }
        if let errorCode {
            filter.add("EXISTS (SELECT 1 FROM json_each(\(UserQueries.validErrorCodes)) WHERE value = ?)", errorCode)
        }
        if let search {
            // Only the name and email members are searched: matching the whole record text
            // would let a client probe for a password or a card number by guessing.
            let pattern = SQLFilter.containsPattern(search)
            filter.add(#"""
                (json_valid(record) AND (json_extract(record, '$.firstName') LIKE ? ESCAPE '\'
                 OR json_extract(record, '$.lastName') LIKE ? ESCAPE '\' OR json_extract(record, '$.email') LIKE ? ESCAPE '\'))
                """#, pattern, pattern, pattern)
        }
        return filter
    }
}

enum UserQueries {
    /// `error_codes` as a JSON array SQLite can iterate even if a row holds something else.
    static let validErrorCodes = "CASE WHEN json_valid(error_codes) AND json_type(error_codes) = 'array' THEN error_codes ELSE '[]' END"

    static let processedColumns = [
        "row_id", "run_id", "line_no", "user_id", "first_name", "last_name", "email", "age", "gender",
        "department", "department_code", "company_name", "job_title", "city", "country", "inserted_at", "record",
    ]
    static let invalidColumns = ["row_id", "run_id", "line_no", "user_id", "error_reason", "error_codes", "inserted_at", "record"]

    static func processed(_ query: ProcessedUsersQuery, db: Database) throws -> Page {
        let filter = query.filter
        let total = try count(table: "processed_users", filter: filter, db: db)
        // (run_id DESC, line_no): newest run first, each run in file order. The UNIQUE
        // (run_id, line_no) index serves it; SQLite sorts only within one run.
        let sql = """
            SELECT \(processedColumns.joined(separator: ", ")) FROM processed_users \(filter.whereClause)
            ORDER BY run_id DESC, line_no LIMIT ? OFFSET ?
            """
        var writer = JSONWriter(capacity: 2048 * min(query.limit, 100))
        writer.beginArray()
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments(filter, query.limit, query.offset))
        while let row = try rows.next() { writeProcessed(row, into: &writer) }
        writer.endArray()
        return Page(json: writer.bytes, total: total)
    }

    static func invalid(_ query: InvalidUsersQuery, db: Database) throws -> Page {
        let filter = query.filter
        let total = try count(table: "invalid_users", filter: filter, db: db)
        let sql = """
            SELECT \(invalidColumns.joined(separator: ", ")) FROM invalid_users \(filter.whereClause)
            ORDER BY run_id DESC, line_no LIMIT ? OFFSET ?
            """
        var writer = JSONWriter(capacity: 2048 * min(query.limit, 100))
        writer.beginArray()
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments(filter, query.limit, query.offset))
        while let row = try rows.next() { writeInvalid(row, into: &writer) }
        writer.endArray()
        return Page(json: writer.bytes, total: total)
    }

    private static func count(table: String, filter: SQLFilter, db: Database) throws -> Int {
        let statement = try db.cachedStatement(sql: "SELECT COUNT(*) FROM \(table) \(filter.whereClause)")
        return try Int.fetchOne(statement, arguments: StatementArguments(filter.arguments)) ?? 0
    }

    private static func arguments(_ filter: SQLFilter, _ limit: Int, _ offset: Int) -> StatementArguments {
        StatementArguments(filter.arguments + [limit.databaseValue, offset.databaseValue])
    }

    private static func writeProcessed(_ row: Row, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("row_id"); writer.integer(row[0] as Int64?)
        writer.key("run_id"); writer.string(row[1])
        writer.key("line_no"); writer.integer(row[2] as Int64?)
        writer.key("user_id"); writer.integer(row[3] as Int64?)
        writer.key("first_name"); writer.string(row[4])
        writer.key("last_name"); writer.string(row[5])
        writer.key("email"); writer.string(row[6])
        writer.key("age"); writer.double(row[7])
        writer.key("gender"); writer.string(row[8])
        writer.key("department"); writer.string(row[9])
        writer.key("department_code"); writer.string(row[10])
        writer.key("company_name"); writer.string(row[11])
        writer.key("job_title"); writer.string(row[12])
        writer.key("city"); writer.string(row[13])
        writer.key("country"); writer.string(row[14])
        writer.key("inserted_at"); writer.string(row[15])
        writer.key("record"); writeRecord(row[16], into: &writer)
        writer.endObject()
    }

    private static func writeInvalid(_ row: Row, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("row_id"); writer.integer(row[0] as Int64?)
        writer.key("run_id"); writer.string(row[1])
        writer.key("line_no"); writer.integer(row[2] as Int64?)
        writer.key("user_id"); writer.integer(row[3] as Int64?)
        writer.key("error_reason"); writer.string(row[4])
        writer.key("error_codes"); writeErrorCodes(row[5], into: &writer)
        writer.key("inserted_at"); writer.string(row[6])
        writer.key("record"); writeRecord(row[7], into: &writer)
        writer.endObject()
    }

    /// The stored record, parsed and masked (`PersonalData`). A record that is not a JSON
    /// object (an `invalid_json` DLQ line) is served as null: its text cannot be masked
    /// reliably, so it is not served at all.
    private static func writeRecord(_ text: String?, into writer: inout JSONWriter) {
        guard let text, let node = JSONNode.parse(text), case .object = node else {
            writer.null()
            return
        }
        writer.node(PersonalData.sanitized(node))
    }

    /// The codes as an array of strings, whatever the column holds.
    private static func writeErrorCodes(_ text: String?, into writer: inout JSONWriter) {
        writer.beginArray()
        if let text, case .array(let elements)? = JSONNode.parse(text) {
            for case .string(let code) in elements { writer.string(code) }
        }
        writer.endArray()
    }
}
