public import GRDB

/// What the API may serve, table by table: an allow-list, declared once, here, beside the row
/// types. Served columns are named by their record's `Columns`, so the allow-list cannot name
/// a column that does not exist (the tables themselves are made by `SchemaMigrations`).
///
/// Whatever is not listed is never served: a new column, a new member of a stored record or
/// a field a source adds tomorrow stays private until someone lists it here. The stored
/// `record` texts (every member of the source's user: phone, birth date, address, user agent,
/// password, SSN, card, IBAN, IP, …) and the raw lines of unparseable DLQ lines are never
/// served whole; only the members named below are read out of them. The OpenAPI document
/// (`Sources/ResultsAPI/Resources/openapi.json`) describes exactly these fields, which `APITests` checks.
public enum ServedFields {
    /// One served member of a response object, and how its value is written.
    public struct Field: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// A string, never null (an absent value is served as "").
            case requiredText
            case text
            case integer
            /// An integer, 0 when absent.
            case count
            case real
            /// A JSON array of strings stored as text; `[]` when it is anything else.
            case stringArray
        }

        public let name: String
        public let kind: Kind

        /// A member computed by the API's SQL, not a column (`raw_line_length`).
        public init(_ name: String, _ kind: Kind) {
            self.name = name
            self.kind = kind
        }

        /// A column of a record, served under its own name.
        public init(_ column: Column, _ kind: Kind) {
            self.init(column.name, kind)
        }
    }

    /// `etl_runs`: the ledger. Operational data only (ids, statuses, counts, file names,
    /// times, the last error), all of it served; the order is the order of the JSON members.
    public static let etlRuns: [Field] = {
        typealias C = RunRecord.Columns
        return [
            Field(C.id, .requiredText), Field(C.runTimestamp, .requiredText), Field(C.status, .requiredText),
            Field(C.rawFile, .text), Field(C.processedFile, .text), Field(C.dlqFile, .text),
            Field(C.extractedCount, .integer), Field(C.validCount, .integer), Field(C.invalidCount, .integer),
            Field(C.extractStartedAt, .text), Field(C.extractFinishedAt, .text),
            Field(C.transformStartedAt, .text), Field(C.transformFinishedAt, .text),
            Field(C.loadStartedAt, .text), Field(C.loadFinishedAt, .text), Field(C.uploadFinishedAt, .text),
            Field(C.uploadedFiles, .stringArray), Field(C.uploadAttempts, .count), Field(C.nextUploadAt, .text),
            Field(C.error, .text), Field(C.createdAt, .text), Field(C.updatedAt, .text), Field(C.sourceID, .integer),
        ]
    }()

    /// `processed_users`: the columns the loader extracted from a valid user, minus its
    /// `record` (the whole source object, which is never served).
    public static let processedUsers: [Field] = {
        typealias C = ProcessedUserRecord.Columns
        return [
            Field(C.rowID, .integer), Field(C.runID, .requiredText), Field(C.lineNo, .integer), Field(C.userID, .integer),
            Field(C.firstName, .text), Field(C.lastName, .text), Field(C.email, .text), Field(C.age, .real),
            Field(C.gender, .text), Field(C.department, .text), Field(C.departmentCode, .text),
            Field(C.companyName, .text), Field(C.jobTitle, .text), Field(C.city, .text), Field(C.country, .text),
            Field(C.insertedAt, .requiredText),
        ]
    }()

    /// `invalid_users`: the columns of a DLQ row, minus its `record`. `error_reason` is the
    /// transformer's own message (its member comes last in the line, and the loader keeps the
    /// last occurrence), which quotes at most 40 characters of the validated members only.
    public static let invalidUsers: [Field] = {
        typealias C = InvalidUserRecord.Columns
        return [
            Field(C.rowID, .integer), Field(C.runID, .requiredText), Field(C.lineNo, .integer), Field(C.userID, .integer),
            Field(C.errorReason, .text), Field(C.errorCodes, .stringArray), Field(C.insertedAt, .requiredText),
        ]
    }()

    /// Members read out of an `invalid_users.record` that is a JSON object (a user that
    /// failed validation), served under the second name: a string, or null for anything else.
    /// The same members `GET /invalid_users?q=` searches.
    public static let invalidRecordMembers: [(member: String, servedAs: String)] = [
        ("firstName", "first_name"), ("lastName", "last_name"), ("email", "email"),
    ]

    /// For a line that was not a JSON object (`{"raw_line": "…"}` in the DLQ): its length in
    /// UTF-8 bytes, and nothing of its text. (Its position is the row's `line_no`; why it
    /// failed is `error_reason`, which names the offset and never quotes the line.)
    /// Null for a row whose record is a JSON object.
    public static let unparsedLineLength = Field("raw_line_length", .integer)

    /// The member of a DLQ record that holds an unparseable line's text (never served).
    public static let unparsedLineMember = "raw_line"

    /// Every member name of a served `invalid_users` row, in order.
    public static var invalidUserNames: [String] {
        invalidUsers.map(\.name) + invalidRecordMembers.map(\.servedAs) + [unparsedLineLength.name]
    }
}
