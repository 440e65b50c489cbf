import ETLCore
import GRDB
import NIOCore
import PipelineSchema

/// `GET /stats` (optionally `run_id`): what the charts need in one answer: totals, valid
/// users per department, invalid users per error code, and valid/invalid counts per run
/// (the newest `maxRuns` runs, newest first).
enum StatsQueries {
    static let maxRuns = 1000

    private typealias Runs = RunRecord.Columns
    private typealias Users = ProcessedUserRecord.Columns
    private static let runsTable = RunRecord.databaseTableName
    private static let processedTable = ProcessedUserRecord.databaseTableName
    private static let invalidTable = InvalidUserRecord.databaseTableName
    /// The name of every `COUNT(*)` below, read back by name.
    private static let count = "count"

    /// Nil when `runID` names no run (a 404 for the caller).
    static func stats(runID: RunIDText?, db: Database) throws -> ByteBuffer? {
        var filter = SQLFilter()
        if let runID {
            guard try RunRecord.filter(key: runID.timestamp).isEmpty(db) == false else { return nil }
            // `run_id` of both user tables (the same column name in each).
            filter.add("\(Users.runID.name) = ?", runID.timestamp)
        }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("run_id"); writer.string(runID?.timestamp)
        writer.key("totals"); try writeTotals(runID: runID, filter: filter, db: db, into: &writer)
        writer.key("by_department"); try writeDepartments(filter: filter, db: db, into: &writer)
        writer.key("by_error_code"); try writeErrorCodes(filter: filter, db: db, into: &writer)
        writer.key("by_run"); try writeRuns(runID: runID, db: db, into: &writer)
        writer.endObject()
        return ByteBuffer(bytes: writer.bytes)
    }

    private static func writeTotals(runID: RunIDText?, filter: SQLFilter, db: Database, into writer: inout JSONWriter) throws {
        let arguments = StatementArguments(filter.arguments)
        let runs = runID == nil ? try RunRecord.fetchCount(db) : 1
        let processed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(processedTable) \(filter.whereClause)", arguments: arguments) ?? 0
        let invalid = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(invalidTable) \(filter.whereClause)", arguments: arguments) ?? 0
        writer.beginObject()
        writer.key("runs"); writer.integer(runs)
        writer.key("processed_users"); writer.integer(processed)
        writer.key("invalid_users"); writer.integer(invalid)
        writer.endObject()
    }

    private static func writeDepartments(filter: SQLFilter, db: Database, into writer: inout JSONWriter) throws {
        let (department, code) = (Users.department.name, Users.departmentCode.name)
        let rows = try Row.fetchCursor(db, sql: """
            SELECT \(department), \(code), COUNT(*) AS \(count) FROM \(processedTable) \(filter.whereClause)
            GROUP BY \(department), \(code) ORDER BY COUNT(*) DESC, \(department)
            """, arguments: StatementArguments(filter.arguments))
        writer.beginArray()
        while let row = try rows.next() {
            writer.beginObject()
            writer.key("department"); writer.string(row[department])
            writer.key("department_code"); writer.string(row[code])
            writer.key("count"); writer.integer(row[count] as Int64?)
            writer.endObject()
        }
        writer.endArray()
    }

    private static func writeErrorCodes(filter: SQLFilter, db: Database, into writer: inout JSONWriter) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT code.value AS error_code, COUNT(*) AS \(count) FROM \(invalidTable), json_each(\(UserQueries.validErrorCodes)) AS code
            \(filter.whereClause) GROUP BY code.value ORDER BY COUNT(*) DESC, code.value
            """, arguments: StatementArguments(filter.arguments))
        writer.beginArray()
        while let row = try rows.next() {
            writer.beginObject()
            writer.key("error_code"); writer.string(row["error_code"])
            writer.key("count"); writer.integer(row[count] as Int64?)
            writer.endObject()
        }
        writer.endArray()
    }

    private static func writeRuns(runID: RunIDText?, db: Database, into writer: inout JSONWriter) throws {
        // Served under the column names: the strings, then the counts.
        let texts = [Runs.id, Runs.runTimestamp, Runs.status].map(\.name)
        let counts = [Runs.extractedCount, Runs.validCount, Runs.invalidCount].map(\.name)
        let rows = try Row.fetchCursor(db, sql: """
            SELECT \((texts + counts).joined(separator: ", ")) FROM \(runsTable)
            WHERE (?1 IS NULL OR \(Runs.id.name) = ?1) ORDER BY \(Runs.runTimestamp.name) DESC, \(Runs.id.name) DESC LIMIT ?2
            """, arguments: [runID?.timestamp, maxRuns])
        writer.beginArray()
        while let row = try rows.next() {
            writer.beginObject()
            for name in texts { writer.key(name); writer.string(row[name] as String?) }
            for name in counts { writer.key(name); writer.integer(row[name] as Int64?) }
            writer.endObject()
        }
        writer.endArray()
    }
}
