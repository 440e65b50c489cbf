import GRDB
@testable import PipelineSchema
import Testing

/// The schema is declared once (`PipelineSchema`): records for the tables of today,
/// migrations for the steps that led there. These tests hold the two together and to the
/// schema databases in the field already have.
@Suite struct SchemaTests {
    /// A fresh database migrated by `SchemaMigrations` (in memory: the schema is the same).
    private func migratedDatabase() throws -> DatabaseQueue {
        let database = try DatabaseQueue()
        try SchemaMigrations.migrator.migrate(database)
        return database
    }

    /// What the migrations made before they moved to `PipelineSchema` (issue 10): the
    /// `sqlite_master` of a database migrated by `Loading.PipelineDatabase`'s migrations as
    /// they were, captured here. Databases in the field have exactly this; a fresh one must too.
    static let schemaBeforeIssue10: [SchemaObject] = [
        SchemaObject(type: "table", name: "etl_runs", table: "etl_runs", sql: """
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
            , duplicate_count INTEGER, failure_kind TEXT, failure_code TEXT, loaded_fingerprint TEXT, retry_request TEXT)
            """),
        SchemaObject(type: "index", name: "sqlite_autoindex_etl_runs_1", table: "etl_runs", sql: nil),
        SchemaObject(type: "index", name: "etl_runs_status", table: "etl_runs", sql: "CREATE INDEX etl_runs_status ON etl_runs(status)"),
        SchemaObject(type: "index", name: "etl_runs_run_timestamp", table: "etl_runs",
                     sql: "CREATE INDEX etl_runs_run_timestamp ON etl_runs(run_timestamp)"),
        SchemaObject(type: "table", name: "raw_users", table: "raw_users", sql: """
            CREATE TABLE raw_users (
                row_id INTEGER PRIMARY KEY,
                run_id TEXT NOT NULL,
                line_no INTEGER NOT NULL,
                user_id INTEGER,
                record TEXT NOT NULL,
                inserted_at TEXT NOT NULL,
                UNIQUE(run_id, line_no)
            )
            """),
        SchemaObject(type: "index", name: "sqlite_autoindex_raw_users_1", table: "raw_users", sql: nil),
        SchemaObject(type: "table", name: "processed_users", table: "processed_users", sql: """
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
            )
            """),
        SchemaObject(type: "index", name: "sqlite_autoindex_processed_users_1", table: "processed_users", sql: nil),
        SchemaObject(type: "index", name: "processed_users_department", table: "processed_users",
                     sql: "CREATE INDEX processed_users_department ON processed_users(department)"),
        SchemaObject(type: "index", name: "processed_users_department_code", table: "processed_users",
                     sql: "CREATE INDEX processed_users_department_code ON processed_users(department_code)"),
        SchemaObject(type: "table", name: "invalid_users", table: "invalid_users", sql: """
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
            )
            """),
        SchemaObject(type: "index", name: "sqlite_autoindex_invalid_users_1", table: "invalid_users", sql: nil),
    ]

    struct SchemaObject: Equatable, CustomStringConvertible {
        var type: String
        var name: String
        var table: String
        var sql: String?

        var description: String { "\(type) \(name) on \(table): \(sql ?? "-")" }
    }

    /// Up to the last migration before the connector registry: later migrations only add.
    @Test func aFreshMigrationMakesTheSchemaDatabasesAlreadyHave() throws {
        let database = try DatabaseQueue()
        try SchemaMigrations.migrator.migrate(database, upTo: "v3_failure_reason_and_loaded_output")
        let objects = try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name NOT LIKE 'grdb%' ORDER BY rowid
                """).map { SchemaObject(type: $0["type"], name: $0["name"], table: $0["tbl_name"], sql: $0["sql"]) }
        }
        #expect(objects == Self.schemaBeforeIssue10)
    }

    /// Databases in the field recorded these identifiers: renaming one would run it again.
    @Test func theMigrationsKeepTheirIdentifiers() {
        #expect(SchemaMigrations.migrator.migrations == [
            "v1_initial_schema", "v2_duplicate_count", "v3_failure_reason_and_loaded_output", "v4_connector_registry",
            "v5_accounts_and_tokens",
        ])
    }

    @Test func theTableListIsEveryTableTheMigrationsMake() throws {
        let tables = try migratedDatabase().read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' ORDER BY rowid")
        }
        #expect(SchemaMigrations.tables == tables)
    }

    /// Each record's `CodingKeys` are its table's columns, in order: adding a column is a
    /// member of its record plus a migration, and this fails when one of the two is missing.
    @Test func everyRecordDeclaresTheColumnsOfItsTable() throws {
        let declared: [(table: String, columns: [String])] = [
            (RunRecord.databaseTableName, RunRecord.CodingKeys.allCases.map(\.stringValue)),
            (RawUserRecord.databaseTableName, RawUserRecord.CodingKeys.allCases.map(\.stringValue)),
            (ProcessedUserRecord.databaseTableName, ProcessedUserRecord.CodingKeys.allCases.map(\.stringValue)),
            (InvalidUserRecord.databaseTableName, InvalidUserRecord.CodingKeys.allCases.map(\.stringValue)),
            (DataSourceRecord.databaseTableName, DataSourceRecord.CodingKeys.allCases.map(\.stringValue)),
            (AccountRecord.databaseTableName, AccountRecord.CodingKeys.allCases.map(\.stringValue)),
            (APITokenRecord.databaseTableName, APITokenRecord.CodingKeys.allCases.map(\.stringValue)),
        ]
        let database = try migratedDatabase()
        for (table, columns) in declared {
            let tableColumns = try database.read { db in try db.columns(in: table).map(\.name) }
            #expect(tableColumns == columns, "\(table)")
        }
    }

    /// The allow-list names columns through the records; this also proves each one exists in
    /// the migrated table, and that no stored `record` text is ever served whole.
    @Test func everyServedFieldIsAColumnOfItsRecord() throws {
        let served: [(table: String, fields: [ServedFields.Field], columns: [String])] = [
            (RunRecord.databaseTableName, ServedFields.etlRuns, RunRecord.CodingKeys.allCases.map(\.stringValue)),
            (ProcessedUserRecord.databaseTableName, ServedFields.processedUsers,
             ProcessedUserRecord.CodingKeys.allCases.map(\.stringValue)),
            (InvalidUserRecord.databaseTableName, ServedFields.invalidUsers, InvalidUserRecord.CodingKeys.allCases.map(\.stringValue)),
        ]
        let database = try migratedDatabase()
        for (table, fields, columns) in served {
            let tableColumns = Set(try database.read { db in try db.columns(in: table).map(\.name) })
            for field in fields {
                #expect(columns.contains(field.name), "\(table).\(field.name) is not a column of its record")
                #expect(tableColumns.contains(field.name), "\(table).\(field.name) is not a column of the table")
            }
            #expect(!fields.map(\.name).contains("record"), "\(table) serves its record")
        }
    }

    /// The records are usable GRDB records: what is inserted reads back the same.
    @Test func recordsReadBackWhatTheyWrote() throws {
        var run = RunRecord(row: ["id": "20270115_090000", "run_timestamp": "2027-01-15T09:00:00Z", "status": "completed"])
        run.uploadedFiles = ["upload/a/records_20270115_090000.jsonl"]
        run.uploadAttempts = 2
        run.duplicateCount = 3
        run.failureKind = "transient"
        run.createdAt = "2027-01-15T09:00:01Z"
        run.updatedAt = "2027-01-15T09:00:02Z"
        let raw = RawUserRecord(rowID: nil, runID: run.id, lineNo: 1, userID: 7, record: #"{"id":7}"#, insertedAt: "now")
        let processed = ProcessedUserRecord(
            rowID: nil, runID: run.id, lineNo: 2, userID: 8, firstName: "Ada", lastName: "Lovelace", email: "ada@example.com",
            age: 36.5, gender: "female", department: "Engineering", departmentCode: "ENG", companyName: "Acme",
            jobTitle: "Engineer", city: "London", country: "UK", record: #"{"id":8}"#, insertedAt: "now")
        let invalid = InvalidUserRecord(
            rowID: nil, runID: run.id, lineNo: 3, userID: nil, errorReason: "id: expected an integer",
            errorCodes: #"["invalid_id"]"#, record: #"{"id":"9"}"#, insertedAt: "now")
        let database = try migratedDatabase()
        try database.write { db in
            try run.insert(db)
            try raw.insert(db)
            try processed.insert(db)
            try invalid.insert(db)
        }
        let (storedRun, storedFiles, raws, processeds, invalids) = try database.read { db in
            (try RunRecord.fetchOne(db, key: run.id), try String.fetchOne(db, RunRecord.select(RunRecord.Columns.uploadedFiles)),
             try RawUserRecord.fetchAll(db), try ProcessedUserRecord.fetchAll(db), try InvalidUserRecord.fetchAll(db))
        }
        #expect(storedRun == run)
        // The same JSON text the ledger writes (slashes unescaped).
        #expect(storedFiles == #"["upload/a/records_20270115_090000.jsonl"]"#)
        #expect(raws == [withRowID(raw, 1)])
        #expect(processeds == [withRowID(processed, 1)])
        #expect(invalids == [withRowID(invalid, 1)])
    }
}

private func withRowID(_ record: RawUserRecord, _ rowID: Int64) -> RawUserRecord {
    var record = record
    record.rowID = rowID
    return record
}

private func withRowID(_ record: ProcessedUserRecord, _ rowID: Int64) -> ProcessedUserRecord {
    var record = record
    record.rowID = rowID
    return record
}

private func withRowID(_ record: InvalidUserRecord, _ rowID: Int64) -> InvalidUserRecord {
    var record = record
    record.rowID = rowID
    return record
}
