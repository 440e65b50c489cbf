public import ETLCore
public import Foundation
public import GRDB
public import PipelineSchema
#if canImport(GRDBSQLite)
import GRDBSQLite
#else
import SQLite3
#endif

/// The saver's SQLite database (`DATABASE_PATH`): a GRDB `DatabasePool` in WAL mode, so the
/// API reads while the saver writes. The schema is created and upgraded by migrations.
///
/// Every access goes through GRDB's async API, which runs the SQL on GRDB's own dispatch
/// queues, never on Swift's cooperative pool.
public final class PipelineDatabase: Sendable {
    public let path: String
    public let pool: DatabasePool

    /// `init(path:)` on a thread of its own: opening creates files, migrates and may wait out
    /// a replica's migration, none of which may hold one of the cooperative pool's threads.
    public static func open(path: String) async throws -> PipelineDatabase {
        try await BlockingExecutor(label: "saver.database-open").run { try PipelineDatabase(path: path) }
    }

    /// Opens (creating it and its parent directories if needed) and migrates the database.
    /// Blocks: from a task, use `open(path:)`.
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
            try Self.keepWALFiles(db)
        }
        pool = try Self.openAndMigrate(path: path, configuration: configuration)
    }

    /// Persistent WAL (GRDB's DatabaseSharing guide): the `-wal` and `-shm` files stay when the
    /// last writer closes, so the api, which opens the database read-only and so cannot
    /// create them, can always open it, even while no saver runs.
    static func keepWALFiles(_ db: Database) throws {
        var persist: CInt = 1
        let code = withUnsafeMutablePointer(to: &persist) { flag in
            sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, flag)
        }
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot keep the database's WAL files (SQLITE_FCNTL_PERSIST_WAL)")
        }
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

    // MARK: - Schema (declared in `PipelineSchema`)

    /// Table names, as the loader and the API know them.
    public static let tables = SchemaMigrations.tables

    static var migrator: DatabaseMigrator { SchemaMigrations.migrator }

    // MARK: - Ledger (`etl_runs`)

    private typealias Ledger = RunRecord.Columns

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
                try Self.ledgerRow(event.runID).updateAll(db, Ledger.loadedFingerprint.set(to: loadedFingerprint))
            }
            return admitted
        }
    }

    /// Records an upstream stage's progress report when it is current, in the same transaction
    /// as the check: the saver consumes reports and hand-offs side by side, so a report taken
    /// late (an `extracting` count while the run already loads) must never overwrite what
    /// the run's later stages wrote. Returns false for a stale report.
    @discardableResult
    public func recordProgress(_ report: RunEvent, now: Date = Date()) async throws -> Bool {
        let timestamp = ISO8601.string(from: now)
        return try await pool.write { db in
            guard LedgerState.isCurrent(report, given: try Self.ledgerState(report.runID, in: db)) else { return false }
            return try Self.upsert(report, timestamp: timestamp, in: db)
        }
    }

    /// What the ledger knows of a run, nil when it does not know it.
    public func ledgerState(_ runID: RunID) async throws -> LedgerState? {
        try await pool.read { db in try Self.ledgerState(runID, in: db) }
    }

    /// The run's row, as a request (`filter(key:)` on the primary key `id`).
    private static func ledgerRow(_ runID: RunID) -> QueryInterfaceRequest<RunRecord> {
        RunRecord.filter(key: runID.timestamp)
    }

    static func ledgerState(_ runID: RunID, in db: Database) throws -> LedgerState? {
        let columns = [Ledger.status, Ledger.attempt, Ledger.failureKind, Ledger.failureCode, Ledger.loadedFingerprint, Ledger.retryRequest]
        guard let row = try Row.fetchOne(db, ledgerRow(runID).select(columns)),
            let status = RunStatus(rawValue: row[Ledger.status])
        else { return nil }
        return LedgerState(
            status: status, attempt: row[Ledger.attempt], failureKind: (row[Ledger.failureKind] as String?).flatMap(FailureKind.init),
            failureCode: row[Ledger.failureCode], loadedFingerprint: row[Ledger.loadedFingerprint], retryRequest: row[Ledger.retryRequest])
    }

    @discardableResult
    static func upsert(_ event: RunEvent, timestamp: String, in db: Database) throws -> Bool {
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
            try ledgerRow(event.runID).updateAll(db, Ledger.error.set(to: nil), Ledger.failureKind.set(to: nil), Ledger.failureCode.set(to: nil))
        }
        let values = RunRecord.eventColumns(event)
        if current == nil {
            try insertRun(event.runID, status: status, values: values, timestamp: timestamp, in: db)
        } else {
            try updateRun(event.runID, status: status, values: values, timestamp: timestamp, in: db)
        }
        return true
    }

    /// A run the ledger did not know: every column the event carries, nil included.
    private static func insertRun(
        _ runID: RunID, status: RunStatus, values: [(column: Column, value: (any DatabaseValueConvertible)?)], timestamp: String, in db: Database
    ) throws {
        let columns = [Ledger.id, Ledger.runTimestamp, Ledger.status] + values.map(\.column) + [Ledger.createdAt, Ledger.updatedAt]
        var arguments: [(any DatabaseValueConvertible)?] = [runID.timestamp, runID.isoTimestamp, status.rawValue]
        arguments += values.map(\.value)
        arguments += [timestamp, timestamp]
        try db.execute(
            sql: "INSERT INTO \(RunRecord.databaseTableName) (\(columns.map(\.name).joined(separator: ", "))) VALUES (\(databaseQuestionMarks(count: columns.count)))",
            arguments: StatementArguments(arguments))
    }

    /// A known run: the status, the time, and only what the event says (nil keeps the column).
    private static func updateRun(
        _ runID: RunID, status: RunStatus, values: [(column: Column, value: (any DatabaseValueConvertible)?)], timestamp: String, in db: Database
    ) throws {
        let present = values.compactMap { column, value in value.map { column.set(to: $0) } }
        try ledgerRow(runID).updateAll(db, [Ledger.status.set(to: status.rawValue), Ledger.updatedAt.set(to: timestamp)] + present)
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
            try Self.ledgerRow(runID).filter(Ledger.status == RunStatus.completed.rawValue).updateAll(
                db, Ledger.uploadFinishedAt.set(to: timestamp), Ledger.nextUploadAt.set(to: nil), Ledger.error.set(to: nil))
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
            let uploadAttempts = { try Int.fetchOne(db, Self.ledgerRow(runID).select(Ledger.uploadAttempts)) ?? 0 }
            let current = try String.fetchOne(db, Self.ledgerRow(runID).select(Ledger.status))
            if current == RunStatus.completed.rawValue || current == RunStatus.failed.rawValue {
                // A finished run is not reopened by a late failure (e.g. a re-delivery's upload).
                return (try uploadAttempts(), now)
            }
            var event = RunEvent(runID: runID, status: .uploadPending)
            event.error = error
            try Self.upsert(event, timestamp: timestamp, in: db)
            let attempts = try uploadAttempts() + 1
            let next = now.addingTimeInterval(delay(attempts))
            try Self.ledgerRow(runID).updateAll(
                db, Ledger.uploadAttempts.set(to: attempts), Ledger.nextUploadAt.set(to: ISO8601.string(from: next)))
            return (attempts, next)
        }
    }

    /// Runs the ledger records as `failed` for a transient cause, oldest first: the saver's
    /// catch-up scan retries them once their files are in place.
    public func runsFailedTransiently() async throws -> Set<RunID> {
        try await pool.read { db in
            try String.fetchAll(db, RunRecord
                .select(Ledger.id)
                .filter(Ledger.status == RunStatus.failed.rawValue && Ledger.failureKind == FailureKind.transient.rawValue)
                .order(Ledger.id))
        }.compactMap(RunID.init).reduce(into: Set()) { $0.insert($1) }
    }

    /// Runs in `failed`, oldest first (what `saver --retry-failed` retries).
    public func failedRuns() async throws -> [RunID] {
        try await pool.read { db in
            try String.fetchAll(db, RunRecord.select(Ledger.id).filter(Ledger.status == RunStatus.failed.rawValue).order(Ledger.id))
        }.compactMap(RunID.init)
    }

    /// Runs waiting for an upload retry whose `next_upload_at` has passed, oldest first.
    public func runsDueForUpload(at now: Date) async throws -> [RunID] {
        let timestamp = ISO8601.string(from: now)
        let waiting = [RunStatus.uploadPending, .uploading].map(\.rawValue)
        return try await pool.read { db in
            try String.fetchAll(db, RunRecord
                .select(Ledger.id)
                .filter(waiting.contains(Ledger.status) && Ledger.nextUploadAt != nil && Ledger.nextUploadAt <= timestamp)
                .order(Ledger.nextUploadAt, Ledger.id))
        }.compactMap(RunID.init)
    }

    /// The run's ledger row, nil when unknown.
    public func run(_ runID: RunID) async throws -> RunRecord? {
        try await pool.read { db in try Self.ledgerRow(runID).fetchOne(db) }
    }

    /// The number of rows a table holds for a run (`raw_users`, `processed_users`, `invalid_users`).
    public func rowCount(_ table: LoadTable, runID: RunID) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: table.plan.countRunSQL, arguments: [runID.timestamp]) ?? 0
        }
    }

    static func jsonArray(_ strings: [String]) -> String { RunRecord.encodeStringArray(strings) }
}
