import ETLCore
import GRDB
import NIOCore

/// `GET /stats` (optionally `run_id`): what the charts need in one answer: totals, valid
/// users per department, invalid users per error code, and valid/invalid counts per run
/// (the newest `maxRuns` runs, newest first).
enum StatsQueries {
    static let maxRuns = 1000

    /// Nil when `runID` names no run (a 404 for the caller).
    static func stats(runID: RunIDText?, db: Database) throws -> ByteBuffer? {
        var filter = SQLFilter()
        if let runID {
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM etl_runs WHERE id = ?)", arguments: [runID.timestamp]) == true
            else { return nil }
            filter.add("run_id = ?", runID.timestamp)
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
        let runs = runID == nil ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM etl_runs") ?? 0 : 1
        let processed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM processed_users \(filter.whereClause)", arguments: arguments) ?? 0
        let invalid = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invalid_users \(filter.whereClause)", arguments: arguments) ?? 0
        writer.beginObject()
        writer.key("runs"); writer.integer(runs)
        writer.key("processed_users"); writer.integer(processed)
        writer.key("invalid_users"); writer.integer(invalid)
        writer.endObject()
    }

    private static func writeDepartments(filter: SQLFilter, db: Database, into writer: inout JSONWriter) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT department, department_code, COUNT(*) FROM processed_users \(filter.whereClause)
            GROUP BY department, department_code ORDER BY COUNT(*) DESC, department
            """, arguments: StatementArguments(filter.arguments))
        writer.beginArray()
        while let row = try rows.next() {
            writer.beginObject()
            writer.key("department"); writer.string(row[0])
            writer.key("department_code"); writer.string(row[1])
            writer.key("count"); writer.integer(row[2] as Int64?)
            writer.endObject()
        }
        writer.endArray()
    }

    private static func writeErrorCodes(filter: SQLFilter, db: Database, into writer: inout JSONWriter) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT code.value, COUNT(*) FROM invalid_users, json_each(\(UserQueries.validErrorCodes)) AS code
            \(filter.whereClause) GROUP BY code.value ORDER BY COUNT(*) DESC, code.value
            """, arguments: StatementArguments(filter.arguments))
        writer.beginArray()
        while let row = try rows.next() {
            writer.beginObject()
            writer.key("error_code"); writer.string(row[0])
            writer.key("count"); writer.integer(row[1] as Int64?)
            writer.endObject()
        }
        writer.endArray()
    }

    private static func writeRuns(runID: RunIDText?, db: Database, into writer: inout JSONWriter) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT id, run_timestamp, status, extracted_count, valid_count, invalid_count FROM etl_runs
            WHERE (?1 IS NULL OR id = ?1) ORDER BY run_timestamp DESC, id DESC LIMIT ?2
            """, arguments: [runID?.timestamp, maxRuns])
        writer.beginArray()
        while let row = try rows.next() {
            writer.beginObject()
            writer.key("id"); writer.string(row[0])
            writer.key("run_timestamp"); writer.string(row[1])
            writer.key("status"); writer.string(row[2])
            writer.key("extracted_count"); writer.integer(row[3] as Int64?)
            writer.key("valid_count"); writer.integer(row[4] as Int64?)
            writer.key("invalid_count"); writer.integer(row[5] as Int64?)
            writer.endObject()
        }
        writer.endArray()
    }
}
