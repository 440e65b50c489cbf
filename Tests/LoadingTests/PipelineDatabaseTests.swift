import ETLCore
import Foundation
import GRDB
import TestSupport
import Testing
@testable import Loading
import PipelineSchema

@Suite struct PipelineDatabaseTests {
    /// Issue 9, finding 5: the extractor's count of repeated user ids reaches the ledger.
    @Test func theLedgerKeepsTheDuplicateIDCountOfARun() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let runID = try #require(RunID("20270115_090000"))
        var extracted = RunEvent(runID: runID, status: .extracted)
        extracted.duplicateIDs = 3
        try await database.recordEvent(extracted)
        // A later event that does not carry the count keeps it.
        try await database.recordEvent(RunEvent(runID: runID, status: .transformed))
        let count = try await database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT duplicate_count FROM etl_runs WHERE id = ?", arguments: [runID.timestamp])
        }
        #expect(count == 3)
    }

    @Test func createsTheSchemaInWALModeWithParentDirectories() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        #expect(FileManager.default.fileExists(atPath: workspace.databasePath))
        let (tables, mode, columns, indexes) = try await database.pool.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' AND name NOT LIKE 'sqlite%' ORDER BY name")
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode")
            var columns: [String: [String]] = [:]
            for table in PipelineDatabase.tables {
                columns[table] = try db.columns(in: table).map(\.name)
            }
            let indexes = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            return (tables, mode, columns, indexes)
        }
        #expect(tables == ["accounts", "api_tokens", "data_sources", "etl_runs", "invalid_users", "processed_users", "raw_users"])
        #expect(mode == "wal")
        #expect(columns["etl_runs"] == [
            "id", "run_timestamp", "status", "raw_file", "processed_file", "dlq_file", "extracted_count", "valid_count",
            "invalid_count", "extract_started_at", "extract_finished_at", "transform_started_at", "transform_finished_at",
            "load_started_at", "load_finished_at", "upload_finished_at", "uploaded_files", "upload_attempts",
            "attempt", "next_upload_at", "error", "created_at", "updated_at", "duplicate_count",
            "failure_kind", "failure_code", "loaded_fingerprint", "retry_request", "source_id",
        ])
        #expect(columns["raw_users"] == ["row_id", "run_id", "line_no", "user_id", "record", "inserted_at"])
        #expect(columns["processed_users"] == [
            "row_id", "run_id", "line_no", "user_id", "first_name", "last_name", "email", "age", "gender", "department",
            "department_code", "company_name", "job_title", "city", "country", "record", "inserted_at",
        ])
        #expect(columns["invalid_users"] == [
            "row_id", "run_id", "line_no", "user_id", "error_reason", "error_codes", "record", "inserted_at",
        ])
        let indexText = indexes.joined(separator: "\n")
        for needle in ["processed_users(department)", "processed_users(department_code)", "etl_runs(status)", "etl_runs(run_timestamp)"] {
            #expect(indexText.contains(needle), "missing index on \(needle)")
        }
        // Opening again (a restart) keeps the data and does not re-run migrations.
        let runID = try #require(RunID("20270115_080000"))
        try await database.recordEvent(RunEvent(runID: runID, status: .extracting))
        let reopened = try workspace.openDatabase()
        #expect(try await reopened.run(runID)?.status == "extracting")
    }

    @Test func statusMergeNeverMovesBackward() {
        #expect(PipelineDatabase.merged(current: nil, incoming: .transformed) == .transformed)
        #expect(PipelineDatabase.merged(current: .loading, incoming: .uploading) == .uploading)
        #expect(PipelineDatabase.merged(current: .completed, incoming: .loading) == .completed)
        #expect(PipelineDatabase.merged(current: .uploadPending, incoming: .uploading) == .uploadPending)
        #expect(PipelineDatabase.merged(current: .loading, incoming: .failed) == .failed)
    }

    /// Issue 9, findings 3 and 10: `completed` is final for messages; `failed` is final only
    /// for a permanent cause, and an operator retry reopens a run once.
    @Test func theLedgerAdmitsWhatAnEventMayChange() {
        let runID = RunID("20270115_080000")!
        func event(_ status: RunStatus, retry: String? = nil) -> RunEvent {
            var event = RunEvent(runID: runID, status: status)
            event.retryRequest = retry
            return event
        }
        let completed = LedgerState(status: .completed)
        #expect(LedgerState.admission(of: event(.failed), given: completed) != .forward)
        #expect(LedgerState.admission(of: event(.failed), given: completed) != .newTry)
        #expect(LedgerState.admission(of: event(.transformed), given: completed) != .newTry)
        #expect(LedgerState.admission(of: event(.transformed, retry: "r1"), given: completed) == .newTry)
        #expect(LedgerState.admission(of: event(.completed), given: completed) == .forward)

        let transient = LedgerState(status: .failed, failureKind: .transient, failureCode: "disk_full")
        #expect(LedgerState.admission(of: event(.loading), given: transient) == .newTry)
        #expect(LedgerState.admission(of: event(.failed), given: transient) == .forward)

        let permanent = LedgerState(status: .failed, failureKind: .permanent, failureCode: "corrupt_input", retryRequest: "r1")
        #expect(LedgerState.admission(of: event(.loading), given: permanent) != .newTry)
        #expect(LedgerState.admission(of: event(.loading, retry: "r1"), given: permanent) != .newTry, "a retry reopens once")
        #expect(LedgerState.admission(of: event(.loading, retry: "r2"), given: permanent) == .newTry)
        #expect(LedgerState.admission(of: event(.loading), given: LedgerState(status: .transforming)) == .forward)
    }

    @Test func aTransientlyFailedRunThatLoadsMovesToCompleted() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let runID = try #require(RunID("20270115_080000"))
        var failed = RunEvent(runID: runID, status: .failed)
        failed.error = "transformer: cannot write: No space left on device"
        failed.setFailure(FailureReason(.transient, "disk_full"))
        try await database.recordEvent(failed)
        #expect(try await database.ledgerState(runID)?.failureKind == .transient)
        try await database.recordEvent(RunEvent(runID: runID, status: .loading))
        var record = try #require(try await database.run(runID))
        #expect(record.status == "loading")
        #expect(record.error == nil)
        #expect(try await database.ledgerState(runID)?.failureKind == nil)
        try await database.recordUploadSucceeded(runID: runID, uploadedFiles: ["a", "b", "c"])
        record = try #require(try await database.run(runID))
        #expect(record.status == "completed")
        // And a completed run is not failed by a late message.
        #expect(try await database.recordEvent(failed) == false)
        #expect(try await database.run(runID) == record)
    }

    @Test func ledgerUpsertCopiesFieldsAndNeverRegresses() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let runID = try #require(RunID("20270115_080000"))

        var extracted = RunEvent(runID: runID, status: .extracted)
        extracted.rawFile = "data/raw_users/records_20270115_080000.jsonl"
        extracted.extractedCount = 208
        extracted.extractStartedAt = "2027-01-15T08:00:00Z"
        try await database.recordEvent(extracted)

        var transformed = RunEvent(runID: runID, status: .transformed)
        transformed.validCount = 200
        transformed.invalidCount = 8
        try await database.recordEvent(transformed)

        var record = try #require(try await database.run(runID))
        #expect(record.status == "transformed")
        #expect(record.runTimestamp == "2027-01-15T08:00:00Z")
        #expect(record.rawFile == "data/raw_users/records_20270115_080000.jsonl")  // kept: nil is not copied
        #expect(record.extractedCount == 208)
        #expect(record.validCount == 200)
        #expect(record.invalidCount == 8)
        #expect(record.extractStartedAt == "2027-01-15T08:00:00Z")

        // A late, re-delivered earlier event does not roll the status back.
        var late = RunEvent(runID: runID, status: .extracting)
        late.extractFinishedAt = "2027-01-15T08:00:05Z"
        try await database.recordEvent(late)
        record = try #require(try await database.run(runID))
        #expect(record.status == "transformed")
        #expect(record.extractFinishedAt == "2027-01-15T08:00:05Z")

        // Failed for a permanent cause: no message moves it on (only an operator retry).
        var failed = RunEvent(runID: runID, status: .failed)
        failed.error = "boom"
        failed.setFailure(FailureReason(.permanent, "corrupt_input"))
        try await database.recordEvent(failed)
        try await database.recordEvent(RunEvent(runID: runID, status: .completed))
        record = try #require(try await database.run(runID))
        #expect(record.status == "failed")
        #expect(record.error == "boom")

        let count = try await database.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM etl_runs") }
        #expect(count == 1)
    }

    @Test func uploadFailureCountsAttemptsAndSchedulesTheNextOne() async throws {
        let workspace = try Workspace()
        let database = try workspace.openDatabase()
        let runID = try #require(RunID("20270115_080000"))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try await database.recordEvent(RunEvent(runID: runID, status: .uploading))

        let first = try await database.recordUploadFailed(runID: runID, error: "down", now: now) { Double($0) * 10 }
        let second = try await database.recordUploadFailed(runID: runID, error: "still down", now: now) { Double($0) * 10 }
        #expect(first.attempts == 1)
        #expect(second.attempts == 2)
        #expect(second.nextAttemptAt == now.addingTimeInterval(20))
        var record = try #require(try await database.run(runID))
        #expect(record.status == "upload_pending")
        #expect(record.error == "still down")
        #expect(record.uploadAttempts == 2)
        #expect(record.nextUploadAt == ISO8601.string(from: now.addingTimeInterval(20)))

        #expect(try await database.runsDueForUpload(at: now.addingTimeInterval(19)).isEmpty)
        #expect(try await database.runsDueForUpload(at: now.addingTimeInterval(20)) == [runID])

        try await database.recordUploadSucceeded(runID: runID, uploadedFiles: ["upload/a.jsonl", "upload/b.jsonl"], now: now)
        record = try #require(try await database.run(runID))
        #expect(record.status == "completed")
        #expect(record.uploadedFiles == ["upload/a.jsonl", "upload/b.jsonl"])
        #expect(record.uploadFinishedAt == ISO8601.string(from: now))
        #expect(record.error == nil)
        #expect(record.nextUploadAt == nil)
        #expect(try await database.runsDueForUpload(at: now.addingTimeInterval(1e6)).isEmpty)

        // A late failure (e.g. a re-delivery's upload) does not reopen a completed run.
        try await database.recordUploadFailed(runID: runID, error: "late", now: now) { _ in 1 }
        record = try #require(try await database.run(runID))
        #expect(record.status == "completed")
        #expect(record.error == nil)
    }
}

@Suite("Ledger attempts")
struct LedgerAttemptTests {
    @Test func aResumedRunMovesOnFromFailedAndLateEventsOfOldAttemptsAreIgnored() async throws {
        let directory = try TestEnvironment.temporaryDirectory("ledger")
        let database = try PipelineDatabase(path: directory.appendingPathComponent("data.db").path)
        let runID = RunID("20251122_030000")!
        var failed = RunEvent(runID: runID, status: .failed)
        failed.attempt = 1
        failed.error = "page skip=200 failed after 4 attempts"
        try await database.recordEvent(failed)
        #expect(try await database.run(runID)?.status == "failed")

        var resumed = RunEvent(runID: runID, status: .extracted)
        resumed.attempt = 2
        try await database.recordEvent(resumed)
        var record = try #require(try await database.run(runID))
        #expect(record.status == "extracted")
        #expect(record.error == nil)

        var completed = RunEvent(runID: runID, status: .completed)
        completed.attempt = 2
        try await database.recordEvent(completed)
        try await database.recordEvent(failed)  // attempt 1 delivered again, late
        record = try #require(try await database.run(runID))
        #expect(record.status == "completed")
        #expect(record.error == nil)
    }
}

/// GRDB's DatabaseSharing guide: a database that read-only processes open is in persistent
/// WAL mode, so they can open it whenever its writer is not running.
@Suite struct SharedDatabaseTests {
    @Test func theWALFilesOutliveTheWriterAndAReadOnlyReaderOpensTheDatabaseAfterIt() async throws {
        let workspace = try Workspace()
        do {
            let database = try workspace.openDatabase()
            try await database.recordEvent(RunEvent(runID: RunID("20270115_100000")!, status: .extracting))
            #expect(try await database.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
        }
        // The pool is closed here: without persistent WAL, SQLite would delete both files.
        #expect(FileManager.default.fileExists(atPath: workspace.databasePath + "-wal"))
        #expect(FileManager.default.fileExists(atPath: workspace.databasePath + "-shm"))
        var configuration = Configuration()
        configuration.readonly = true
        let reader = try DatabasePool(path: workspace.databasePath, configuration: configuration)
        #expect(try await reader.read { db in try String.fetchOne(db, sql: "SELECT status FROM etl_runs") } == "extracting")
    }
}
