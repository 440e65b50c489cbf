public import GRDB

// The three per-row tables the saver fills, one row per non-blank line of a run file. Each
// record's `CodingKeys` are its table's columns in the table's order (`SchemaTests` checks
// them against the migrated tables); the loader binds exactly these columns (`LoadPlan`).

/// One `raw_users` row: a line of the extractor's raw file, as it was.
public struct RawUserRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "raw_users"

    /// SQLite's rowid (`INTEGER PRIMARY KEY`): nil until inserted.
    public var rowID: Int64?
    public var runID: String
    /// 1-based line number in the run's file.
    public var lineNo: Int
    /// The line's top-level `id` when it is an integer.
    public var userID: Int64?
    /// The whole line (never served).
    public var record: String
    public var insertedAt: String

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case rowID = "row_id", runID = "run_id", lineNo = "line_no", userID = "user_id"
        case record, insertedAt = "inserted_at"
    }

    public enum Columns {
        public static let rowID = Column(CodingKeys.rowID)
        public static let runID = Column(CodingKeys.runID)
        public static let lineNo = Column(CodingKeys.lineNo)
        public static let userID = Column(CodingKeys.userID)
        public static let record = Column(CodingKeys.record)
        public static let insertedAt = Column(CodingKeys.insertedAt)
    }
}

/// One `processed_users` row: a valid user, with the columns the API filters and serves
/// extracted from its line, and the whole line in `record` (never served).
public struct ProcessedUserRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "processed_users"

    public var rowID: Int64?
    public var runID: String
    public var lineNo: Int
    public var userID: Int64?
    public var firstName: String?
    public var lastName: String?
    public var email: String?
    public var age: Double?
    public var gender: String?
    public var department: String?
    public var departmentCode: String?
    public var companyName: String?
    public var jobTitle: String?
    public var city: String?
    public var country: String?
    public var record: String
    public var insertedAt: String

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case rowID = "row_id", runID = "run_id", lineNo = "line_no", userID = "user_id"
        case firstName = "first_name", lastName = "last_name", email, age, gender
        case department, departmentCode = "department_code", companyName = "company_name", jobTitle = "job_title"
        case city, country, record, insertedAt = "inserted_at"
    }

    public enum Columns {
        public static let rowID = Column(CodingKeys.rowID)
        public static let runID = Column(CodingKeys.runID)
        public static let lineNo = Column(CodingKeys.lineNo)
        public static let userID = Column(CodingKeys.userID)
        public static let firstName = Column(CodingKeys.firstName)
        public static let lastName = Column(CodingKeys.lastName)
        public static let email = Column(CodingKeys.email)
        public static let age = Column(CodingKeys.age)
        public static let gender = Column(CodingKeys.gender)
        public static let department = Column(CodingKeys.department)
        public static let departmentCode = Column(CodingKeys.departmentCode)
        public static let companyName = Column(CodingKeys.companyName)
        public static let jobTitle = Column(CodingKeys.jobTitle)
        public static let city = Column(CodingKeys.city)
        public static let country = Column(CodingKeys.country)
        public static let record = Column(CodingKeys.record)
        public static let insertedAt = Column(CodingKeys.insertedAt)
    }
}

/// One `invalid_users` row: a dead-letter line (a user that failed validation, or a line
/// that was not a JSON object, stored as `{"raw_line": …}`), with why it failed.
public struct InvalidUserRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "invalid_users"

    public var rowID: Int64?
    public var runID: String
    public var lineNo: Int
    public var userID: Int64?
    /// The transformer's message.
    public var errorReason: String?
    /// A JSON array of the transformer's error codes, as text. Kept as text, not `[String]`:
    /// readers must tolerate a row that holds anything else (`UserQueries.validErrorCodes`).
    public var errorCodes: String
    public var record: String
    public var insertedAt: String

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case rowID = "row_id", runID = "run_id", lineNo = "line_no", userID = "user_id"
        case errorReason = "error_reason", errorCodes = "error_codes", record, insertedAt = "inserted_at"
    }

    public enum Columns {
        public static let rowID = Column(CodingKeys.rowID)
        public static let runID = Column(CodingKeys.runID)
        public static let lineNo = Column(CodingKeys.lineNo)
        public static let userID = Column(CodingKeys.userID)
        public static let errorReason = Column(CodingKeys.errorReason)
        public static let errorCodes = Column(CodingKeys.errorCodes)
        public static let record = Column(CodingKeys.record)
        public static let insertedAt = Column(CodingKeys.insertedAt)
    }
}
