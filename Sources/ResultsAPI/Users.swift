import ETLCore
import GRDB
import PipelineSchema

/// `GET /processed_users`: `run_id`, `department`, `department_code`, `q` (name or email
/// contains, case-insensitive for ASCII), `limit`, `offset`.
struct ProcessedUsersQuery: Sendable {
    var limit = RunsQuery.defaultLimit
    var offset = 0
    var runID: RunIDText?
    var department: String?
    var departmentCode: String?
    var search: String?

    init(_ parameters: RequestParameters) {
        limit = parameters.integer("limit") ?? limit
        offset = parameters.integer("offset") ?? offset
        runID = parameters.runID()
        department = parameters.string("department")
        departmentCode = parameters.string("department_code")
        search = parameters.string("q")
    }

    private typealias Columns = ProcessedUserRecord.Columns

    var filter: SQLFilter {
        var filter = SQLFilter()
        if let runID { filter.add("\(Columns.runID.name) = ?", runID.timestamp) }
        if let department { filter.add("\(Columns.department.name) = ?", department) }
        if let departmentCode { filter.add("\(Columns.departmentCode.name) = ?", departmentCode) }
        if let search {
            let pattern = SQLFilter.containsPattern(search)
            let searched = [Columns.firstName, Columns.lastName, Columns.email].map { #"\#($0.name) LIKE ? ESCAPE '\'"# }
            filter.add("(\(searched.joined(separator: " OR ")))", values: Array(repeating: pattern, count: searched.count))
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

    init(_ parameters: RequestParameters) {
        limit = parameters.integer("limit") ?? limit
        offset = parameters.integer("offset") ?? offset
        runID = parameters.runID()
        errorCode = parameters.string("error_code")
        search = parameters.string("q")
    }

    private typealias Columns = InvalidUserRecord.Columns

    var filter: SQLFilter {
        var filter = SQLFilter()
        if let runID { filter.add("\(Columns.runID.name) = ?", runID.timestamp) }
        if let errorCode {
            filter.add("EXISTS (SELECT 1 FROM json_each(\(UserQueries.validErrorCodes)) WHERE value = ?)", errorCode)
        }
        if let search {
            // Only the allow-listed name and email members are searched, and only when they
            // are strings (as served): matching the record text, or an object someone put in
            // `firstName`, would let a client probe for a password or a card number by guessing.
            let pattern = SQLFilter.containsPattern(search)
            let record = Columns.record.name
            let members = ServedFields.invalidRecordMembers.map { member, _ in
                #"(json_type(\#(record), '$.\#(member)') = 'text' AND json_extract(\#(record), '$.\#(member)') LIKE ? ESCAPE '\')"#
            }
            filter.add("(json_valid(\(record)) AND (\(members.joined(separator: " OR "))))",
                       values: Array(repeating: pattern, count: members.count))
        }
        return filter
    }
}

enum UserQueries {
    /// `error_codes` as a JSON array SQLite can iterate even if a row holds something else.
    static let validErrorCodes: String = {
        let codes = InvalidUserRecord.Columns.errorCodes.name
        return "CASE WHEN json_valid(\(codes)) AND json_type(\(codes)) = 'array' THEN \(codes) ELSE '[]' END"
    }()

    /// The allow-listed columns (`ServedFields`); the stored `record` is never selected whole.
    static let processedServed = ServedRows(ServedFields.processedUsers)
    static let invalidServed = ServedRows(ServedFields.invalidUsers)

    /// SQL reading only the allow-listed members out of a DLQ record: a member that is a JSON
    /// string (null otherwise), and the byte length of an unparseable line's text, never the
    /// text; each named as it is served. The member names are constants of `ServedFields`,
    /// not client input.
    static let invalidRecordColumns: String = {
        let record = InvalidUserRecord.Columns.record.name
        let members = ServedFields.invalidRecordMembers.map { member, servedAs in
            "CASE WHEN json_valid(\(record)) THEN (CASE WHEN json_type(\(record), '$.\(member)') = 'text' "
                + "THEN json_extract(\(record), '$.\(member)') END) END AS \(servedAs)"
        }
        // A record that is not JSON at all (written by something else than the transformer)
        // is an unparseable line too.
        let line = ServedFields.unparsedLineMember
        let length = "CASE WHEN NOT json_valid(\(record)) THEN length(CAST(\(record) AS BLOB)) "
            + "WHEN json_type(\(record), '$.\(line)') = 'text' THEN length(CAST(json_extract(\(record), '$.\(line)') AS BLOB)) END "
            + "AS \(ServedFields.unparsedLineLength.name)"
        return (members + [length]).joined(separator: ", ")
    }()

    private static let invalidRecordKeyPrefixes: [(name: String, prefix: [UInt8])] =
        ServedFields.invalidRecordMembers.map { ($0.servedAs, Array("\"\($0.servedAs)\":".utf8)) }

    /// Newest run first, each run in file order: the UNIQUE (run_id, line_no) index serves
    /// it; SQLite sorts only within one run. (Both user tables name these columns alike.)
    private static let newestRunFirst =
        "ORDER BY \(ProcessedUserRecord.Columns.runID.name) DESC, \(ProcessedUserRecord.Columns.lineNo.name)"

    static func processed(_ query: ProcessedUsersQuery, db: Database) throws -> Page {
        let filter = query.filter
        let table = ProcessedUserRecord.databaseTableName
        let total = try count(table: table, filter: filter, db: db)
        let sql = """
            SELECT \(processedServed.columns) FROM \(table) \(filter.whereClause)
            \(newestRunFirst) LIMIT ? OFFSET ?
            """
        var writer = JSONWriter(capacity: 512 * min(query.limit, 100))
        writer.beginArray()
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments(filter, query.limit, query.offset))
        while let row = try rows.next() { processedServed.writeObject(row, into: &writer) }
        writer.endArray()
        return Page(json: writer.bytes, total: total)
    }

    static func invalid(_ query: InvalidUsersQuery, db: Database) throws -> Page {
        let filter = query.filter
        let table = InvalidUserRecord.databaseTableName
        let total = try count(table: table, filter: filter, db: db)
        let sql = """
            SELECT \(invalidServed.columns), \(invalidRecordColumns) FROM \(table) \(filter.whereClause)
            \(newestRunFirst) LIMIT ? OFFSET ?
            """
        var writer = JSONWriter(capacity: 512 * min(query.limit, 100))
        writer.beginArray()
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments(filter, query.limit, query.offset))
        while let row = try rows.next() { writeInvalid(row, into: &writer) }
        writer.endArray()
        return Page(json: writer.bytes, total: total)
    }

    private static func writeInvalid(_ row: Row, into writer: inout JSONWriter) {
        writer.beginObject()
        invalidServed.writeMembers(row, into: &writer)
        for (name, prefix) in invalidRecordKeyPrefixes {
            writer.key(prefix: prefix)
            writer.string(row[name] as String?)
        }
        let length = ServedFields.unparsedLineLength.name
        writer.key(length)
        writer.integer(row[length] as Int64?)
        writer.endObject()
    }

    private static func count(table: String, filter: SQLFilter, db: Database) throws -> Int {
        let statement = try db.cachedStatement(sql: "SELECT COUNT(*) FROM \(table) \(filter.whereClause)")
        return try Int.fetchOne(statement, arguments: StatementArguments(filter.arguments)) ?? 0
    }

    private static func arguments(_ filter: SQLFilter, _ limit: Int, _ offset: Int) -> StatementArguments {
        StatementArguments(filter.arguments + [limit.databaseValue, offset.databaseValue])
    }
}
