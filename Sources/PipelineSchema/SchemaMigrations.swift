public import GRDB

/// The schema's history: the migrations that create and upgrade the saver's database. The
/// saver applies them (`PipelineDatabase`); the API only reads what they made; tests and
/// tools that need a database apply them too.
///
/// A migration is never edited once released: databases in the field ran it as it was, and a
/// fresh database must end up with the same schema (`SchemaTests` compares `sqlite_master`
/// with the statements below). That is why the SQL is spelled out here instead of being
/// generated from the records: the records describe the schema of today, a migration the step
/// that led there. Adding a column is a new migration here plus a member of its record.
public enum SchemaMigrations {
    /// Every table, as the loader and the API know them.
    public static let tables = [
        RunRecord.databaseTableName, RawUserRecord.databaseTableName,
        ProcessedUserRecord.databaseTableName, InvalidUserRecord.databaseTableName,
        DataSourceRecord.databaseTableName, AccountRecord.databaseTableName, APITokenRecord.databaseTableName,
    ]

    public static var migrator: DatabaseMigrator {
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
        // The connector registry (issue 11), and which connector each run came from.
        migrator.registerMigration("v4_connector_registry") { db in
            try db.execute(sql: """
                CREATE TABLE data_sources (
                    id INTEGER PRIMARY KEY,
                    client_id TEXT NOT NULL DEFAULT 'default',
                    name TEXT NOT NULL UNIQUE,
                    type TEXT NOT NULL,
                    config_json TEXT NOT NULL,
                    last_run_at TEXT,
                    status TEXT NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'processing', 'error')),
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    contract_json TEXT,
                    dataset TEXT NOT NULL,
                    schedule TEXT,
                    state_json TEXT,
                    status_reason TEXT,
                    last_run_id TEXT
                );
                ALTER TABLE etl_runs ADD COLUMN source_id INTEGER;
                """)
        }
        // Who may read the API (issue 12): dashboard accounts and per-client bearer tokens.
        migrator.registerMigration("v5_accounts_and_tokens") { db in
            try db.execute(sql: """
                CREATE TABLE accounts (
                    id INTEGER PRIMARY KEY,
                    username TEXT NOT NULL UNIQUE,
                    password_hash TEXT NOT NULL,
                    totp_secret TEXT NOT NULL,
                    disabled_at TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                CREATE TABLE api_tokens (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at TEXT NOT NULL,
                    revoked_at TEXT
                );
                """)
        }
        return migrator
    }
}
