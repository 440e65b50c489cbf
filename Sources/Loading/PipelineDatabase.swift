import ETLCore
import Foundation
import GRDB
import PipelineSchema

/// The saver's SQLite database (`DATABASE_PATH`): a GRDB `DatabasePool` in WAL mode, so the
/// API reads while the saver writes. The schema is created and upgraded by migrations.
///
/// Every access goes through GRDB's async API, which runs the SQL on GRDB's own dispatch
/// queues, never on Swift's cooperative pool.
public final class PipelineDatabase: Sendable {
    public let path: String
    public let pool: DatabasePool

    /// Opens (creating it and its parent directories if needed) and migrates the database.
    public init(path: String) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.label = "saver"
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL + NORMAL is durable across a process crash (the product's failure model)
            // and much faster than FULL; a power cut may lose the last transaction only.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Big pages for ~1.5 KB records: fewer page splits and far fewer checkpoint writes.
            // (Takes effect only when the file is created; harmless afterwards.)
            try db.execute(sql: "PRAGMA page_size = 65536")
        }
        pool = try Self.openAndMigrate(path: path, configuration: configuration)
    }

    /// Opens the pool and applies the migrations, retrying while another process (a saver
    /// replica starting at the same moment) holds the new file's lock or is applying the same
    /// migration: SQLite then answers `database is locked` to `PRAGMA journal_mode = WAL`, or
    /// `table … already exists` (or `duplicate column name`) to the loser of the migration race.
    /// Found by the chaos test.
    static func openAndMigrate(path: String, configuration: Configuration, attempts: Int = 12) throws -> DatabasePool {
        var attempt = 1
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try migrator.migrate(pool)
                return pool
            } catch let error as DatabaseError where attempt < attempts && isStartupRace(error) {
                Thread.sleep(forTimeInterval: min(0.05 * pow(2, Double(attempt - 1)), 2) * Double.random(in: 0.5...1.5))
                attempt += 1
            }
        }
    }

    static func isStartupRace(_ error: DatabaseError) -> Bool {
        if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED { return true }
        // The loser of a migration race: a table (v1) or a column (v2, v3) the winner just added.
        let message = error.message ?? ""
        return error.resultCode == .SQLITE_ERROR && (message.contains("already exists") || message.contains("duplicate column name"))
    }

    // MARK: - Schema

    /// Table names, as the loader and the API know them.
    public static let tables = ["etl_runs", "raw_users", "processed_users", "invalid_users"]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_initial_schema") { db in
            try db.execute(sql: """
                CREATE TABLE etl_runs (
                    id TEXT PRIMARY KEY NOT NULL,
                    run_timestamp TEXT NOT NULL,
                    status TEXT NOT NULL,
                    raw_file TEXT,
                    processed_file TEXT,
                    dlq_file TEXT,
                    extracted_count INTEGER,
                    valid_count INTEGER,
                    invalid_count INTEGER,
                    extract_started_at TEXT,
                    extract_finished_at TEXT,
                    transform_started_at TEXT,
                    transform_finished_at TEXT,
                    load_started_at TEXT,
                    load_finished_at TEXT,
                    upload_finished_at TEXT,
                    uploaded_files TEXT,
                    upload_attempts INTEGER NOT NULL DEFAULT 0,
                    attempt INTEGER,
                    next_upload_at TEXT,
                    error TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                CREATE INDEX etl_runs_status ON etl_runs(status);
                CREATE INDEX etl_runs_run_timestamp ON etl_runs(run_timestamp);

                CREATE TABLE raw_users (
                    row_id INTEGER PRIMARY KEY,
                    run_id TEXT NOT NULL,
                    line_no INTEGER NOT NULL,
                    user_id INTEGER,
                    record TEXT NOT NULL,
                    inserted_at TEXT NOT NULL,
                    UNIQUE(run_id, line_no)
                );

                CREATE TABLE processed_users (
                    row_id INTEGER PRIMARY KEY,
                    run_id TEXT NOT NULL,
                    line_no INTEGER NOT NULL,
                    user_id INTEGER,
                    first_name TEXT,
                    last_name TEXT,
                    email TEXT,
                    age REAL,
                    gender TEXT,
                    department TEXT,
                    department_code TEXT,
                    company_name TEXT,
                    job_title TEXT,
                    city TEXT,
                    country TEXT,
                    record TEXT NOT NULL,
                    inserted_at TEXT NOT NULL,
                    UNIQUE(run_id, line_no)
                );
                CREATE INDEX processed_users_department ON processed_users(department);
                CREATE INDEX processed_users_department_code ON processed_users(department_code);

                CREATE TABLE invalid_users (
                    row_id INTEGER PRIMARY KEY,
                    run_id TEXT NOT NULL,
                    line_no INTEGER NOT NULL,
                    user_id INTEGER,
                    error_reason TEXT,
                    error_codes TEXT NOT NULL DEFAULT '[]',
                    record TEXT NOT NULL,
                    inserted_at TEXT NOT NULL,
                    UNIQUE(run_id, line_no)
                );
                """)
            // The UNIQUE(run_id, line_no) indexes already serve `WHERE run_id = ?` lookups
            // and the loader's `DELETE … WHERE run_id = ?`. Only the API's filters are
            // indexed: every extra index costs each of a million inserts.
        }
        migrator.registerMigration("v2_duplicate_count") { db in
            // Users of a run whose id an earlier user of the run already had (the extractor's
            // `duplicate_ids`): a source that repeats itself shows in the ledger.
            try db.execute(sql: "ALTER TABLE etl_runs ADD COLUMN duplicate_count INTEGER")
        }
        // Why a run failed (`failure_kind` transient/permanent, `failure_code`), which transform
        // output was loaded and uploaded (`loaded_fingerprint`, `RunFiles.outputFingerprint`)
        // and the last operator retry (`retry_request`). Not served by the api.
        migrator.registerMigration("v3_failure_reason_and_loaded_output") { db in
            try db.execute(sql: """
                ALTER TABLE etl_runs ADD COLUMN failure_kind TEXT;
                ALTER TABLE etl_runs ADD COLUMN failure_code TEXT;
                ALTER TABLE etl_runs ADD COLUMN loaded_fingerprint TEXT;
                ALTER TABLE etl_runs ADD COLUMN retry_request TEXT;
                """)
        }
        return migrator
    }

    // MARK: - Ledger (`etl_runs`)

    /// Inserts or updates the run's row from `event`, if the ledger admits it
    /// (`LedgerState.admission`): every non-nil field is copied and the status only moves
    /// forward (`RunStatus.rank`). `completed` is final, and so is `failed` for a permanent
    /// cause, unless an operator retry reopens the run; a run failed for a transient cause
    /// starts over with the next event of a new try. A newer extraction attempt (a failed run
    /// resumed by the extractor) also starts over from its status. Returns false when the
    /// event was refused (nothing changed).
    @discardableResult
    public func recordEvent(_ event: RunEvent, now: Date = Date(), loadedFingerprint: String? = nil) async throws -> Bool {
        let timestamp = ISO8601.string(from: now)
        return try await pool.write { db in
            let admitted = try Self.upsert(event, timestamp: timestamp, in: db)
            if admitted, let loadedFingerprint {
                try db.execute(sql: "UPDATE etl_runs SET loaded_fingerprint = ? WHERE id = ?",
                               arguments: [loadedFingerprint, event.runID.timestamp])
            }
            return admitted
        }
    }

    /// What the ledger knows of a run, nil when it does not know it.
    public func ledgerState(_ runID: RunID) async throws -> LedgerState? {
        try await pool.read { db in try Self.ledgerState(runID, in: db) }
    }

    static func ledgerState(_ runID: RunID, in db: Database) throws -> LedgerState? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT status, attempt, failure_kind, failure_code, loaded_fingerprint, retry_request FROM etl_runs WHERE id = ?
            """, arguments: [runID.timestamp]),
            let status = RunStatus(rawValue: row["status"])
        else { return nil }
        return LedgerState(
            status: status, attempt: row["attempt"], failureKind: (row["failure_kind"] as String?).flatMap(FailureKind.init),
            failureCode: row["failure_code"], loadedFingerprint: row["loaded_fingerprint"], retryRequest: row["retry_request"])
    }

    @discardableResult
    static func upsert(_ event: RunEvent, timestamp: String, in db: Database) throws -> Bool {
        let id = event.runID.timestamp
        let state = try ledgerState(event.runID, in: db)
        let current = state?.status
        let currentAttempt = state?.attempt ?? 0
        let incomingAttempt = event.attempt ?? currentAttempt
        // An event of an older attempt (a late re-delivery) says nothing about this one.
        if current != nil, incomingAttempt < currentAttempt { return false }
        let isNewAttempt = current != nil && incomingAttempt > currentAttempt
        let status: RunStatus
        switch LedgerState.admission(of: event, given: state) {
        case .refuse:
            return false
        case .newTry:
            status = event.status
        case .forward:
            status = isNewAttempt ? event.status : Self.merged(current: current, incoming: event.status)
        }
        let startsOver = (current == .failed || current == .completed) && status != current
        if startsOver || (isNewAttempt && event.error == nil) {
            try db.execute(sql: "UPDATE etl_runs SET error = NULL, failure_kind = NULL, failure_code = NULL WHERE id = ?", arguments: [id])
        }
        let uploaded = event.uploadedFiles.map(Self.jsonArray)
        let values: [(String, (any DatabaseValueConvertible)?)] = [
            ("attempt", event.attempt),
            ("raw_file", event.rawFile), ("processed_file", event.processedFile), ("dlq_file", event.dlqFile),
            ("extracted_count", event.extractedCount), ("duplicate_count", event.duplicateIDs), ("valid_count", event.validCount),
            ("invalid_count", event.invalidCount),
            ("extract_started_at", event.extractStartedAt), ("extract_finished_at", event.extractFinishedAt),
            ("transform_started_at", event.transformStartedAt), ("transform_finished_at", event.transformFinishedAt),
            ("load_started_at", event.loadStartedAt), ("load_finished_at", event.loadFinishedAt),
            ("uploaded_files", uploaded), ("error", event.error),
            ("failure_kind", event.failureKind?.rawValue), ("failure_code", event.failureCode),
            ("retry_request", event.retryRequest),
        ]
        if current == nil {
            let columns = ["id", "run_timestamp", "status"] + values.map(\.0) + ["created_at", "updated_at"]
            var arguments: [(any DatabaseValueConvertible)?] = [id, event.runID.isoTimestamp, status.rawValue]
            arguments += values.map(\.1)
            arguments += [timestamp, timestamp]
            try db.execute(
                sql: "INSERT INTO etl_runs (\(columns.joined(separator: ", "))) VALUES (\(databaseQuestionMarks(count: columns.count)))",
                arguments: StatementArguments(arguments))
        } else {
            let present = values.filter { $0.1 != nil }
            let assignments = (["status = ?", "updated_at = ?"] + present.map { "\($0.0) = ?" }).joined(separator: ", ")
            var arguments: [(any DatabaseValueConvertible)?] = [status.rawValue, timestamp]
            arguments += present.map(\.1)
            arguments.append(id)
            try db.execute(sql: "UPDATE etl_runs SET \(assignments) WHERE id = ?", arguments: StatementArguments(arguments))
        }
        return true
    }

    /// The status a run in progress has after `incoming`: never backward (`RunStatus.rank`).
    /// Leaving `completed` or `failed` is decided by `LedgerState.admission`, not here.
    public static func merged(current: RunStatus?, incoming: RunStatus) -> RunStatus {
        guard let current else { return incoming }
        if current == .completed || current == .failed { return current }
        return incoming.rank >= current.rank ? incoming : current
    }

    /// Records a successful upload: `completed`, the remote names, the time; clears the error.
    public func recordUploadSucceeded(runID: RunID, uploadedFiles: [String], now: Date = Date()) async throws {
        let timestamp = ISO8601.string(from: now)
        try await pool.write { db in
            var event = RunEvent(runID: runID, status: .completed)
            event.uploadedFiles = uploadedFiles
            try Self.upsert(event, timestamp: timestamp, in: db)
            try db.execute(
                sql: "UPDATE etl_runs SET upload_finished_at = ?, next_upload_at = NULL, error = NULL WHERE id = ? AND status = 'completed'",
                arguments: [timestamp, runID.timestamp])
        }
    }

    /// Records a failed upload attempt: `upload_pending` (unless the run is already further),
    /// the reason, one more attempt, and when to try next (`delay(attempts)` seconds from now).
    /// Returns the attempt count and the next attempt's time.
    @discardableResult
    public func recordUploadFailed(
        runID: RunID, error: String, now: Date = Date(), delay: @escaping @Sendable (Int) -> Double
    ) async throws -> (attempts: Int, nextAttemptAt: Date) {
        let timestamp = ISO8601.string(from: now)
        return try await pool.write { db in
            let current = try String.fetchOne(db, sql: "SELECT status FROM etl_runs WHERE id = ?", arguments: [runID.timestamp])
            if current == RunStatus.completed.rawValue || current == RunStatus.failed.rawValue {
                // A finished run is not reopened by a late failure (e.g. a re-delivery's upload).
                let attempts = try Int.fetchOne(db, sql: "SELECT upload_attempts FROM etl_runs WHERE id = ?", arguments: [runID.timestamp]) ?? 0
                return (attempts, now)
            }
            var event = RunEvent(runID: runID, status: .uploadPending)
            event.error = error
            try Self.upsert(event, timestamp: timestamp, in: db)
            let previous = try Int.fetchOne(db, sql: "SELECT upload_attempts FROM etl_runs WHERE id = ?", arguments: [runID.timestamp]) ?? 0
            let attempts = previous + 1
            let next = now.addingTimeInterval(delay(attempts))
            try db.execute(
                sql: "UPDATE etl_runs SET upload_attempts = ?, next_upload_at = ? WHERE id = ?",
                arguments: [attempts, ISO8601.string(from: next), runID.timestamp])
            return (attempts, next)
        }
    }

    /// Runs the ledger records as `failed` for a transient cause, oldest first: the saver's
    /// catch-up scan retries them once their files are in place.
    public func runsFailedTransiently() async throws -> Set<RunID> {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM etl_runs WHERE status = 'failed' AND failure_kind = 'transient' ORDER BY id")
        }.compactMap(RunID.init).reduce(into: Set()) { $0.insert($1) }
    }

    /// Runs in `failed`, oldest first (what `saver --retry-failed` retries).
    public func failedRuns() async throws -> [RunID] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM etl_runs WHERE status = 'failed' ORDER BY id")
        }.compactMap(RunID.init)
    }

    /// Runs waiting for an upload retry whose `next_upload_at` has passed, oldest first.
    public func runsDueForUpload(at now: Date) async throws -> [RunID] {
        let timestamp = ISO8601.string(from: now)
        return try await pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM etl_runs
                WHERE status IN ('upload_pending', 'uploading') AND next_upload_at IS NOT NULL AND next_upload_at <= ?
                ORDER BY next_upload_at, id
                """, arguments: [timestamp])
        }.compactMap(RunID.init)
    }

    /// The run's ledger row, nil when unknown.
    public func run(_ runID: RunID) async throws -> RunRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM etl_runs WHERE id = ?", arguments: [runID.timestamp]).map(RunRecord.init(row:))
        }
    }

    /// The number of rows a table holds for a run (`raw_users`, `processed_users`, `invalid_users`).
    public func rowCount(_ table: LoadTable, runID: RunID) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.rawValue) WHERE run_id = ?", arguments: [runID.timestamp]) ?? 0
        }
    }

    static func jsonArray(_ strings: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: strings, options: [.withoutEscapingSlashes])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
