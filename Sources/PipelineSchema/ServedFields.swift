/// What the API may serve, table by table: an allow-list, declared once, here, beside the row
/// types (the tables themselves are created by `PipelineDatabase`'s migrations).
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

        public init(_ name: String, _ kind: Kind) {
            self.name = name
            self.kind = kind
        }
    }

    /// `etl_runs`: the ledger. Operational data only (ids, statuses, counts, file names,
    /// times, the last error), all of it served; the order is the order of the JSON members.
    public static let etlRuns: [Field] = [
        Field("id", .requiredText), Field("run_timestamp", .requiredText), Field("status", .requiredText),
        Field("raw_file", .text), Field("processed_file", .text), Field("dlq_file", .text),
        Field("extracted_count", .integer), Field("valid_count", .integer), Field("invalid_count", .integer),
        Field("extract_started_at", .text), Field("extract_finished_at", .text),
        Field("transform_started_at", .text), Field("transform_finished_at", .text),
        Field("load_started_at", .text), Field("load_finished_at", .text), Field("upload_finished_at", .text),
        Field("uploaded_files", .stringArray), Field("upload_attempts", .count), Field("next_upload_at", .text),
        Field("error", .text), Field("created_at", .text), Field("updated_at", .text),
    ]

    /// `processed_users`: the columns the loader extracted from a valid user, minus its
    /// `record` (the whole source object, which is never served).
    public static let processedUsers: [Field] = [
        Field("row_id", .integer), Field("run_id", .requiredText), Field("line_no", .integer), Field("user_id", .integer),
        Field("first_name", .text), Field("last_name", .text), Field("email", .text), Field("age", .real),
        Field("gender", .text), Field("department", .text), Field("department_code", .text),
        Field("company_name", .text), Field("job_title", .text), Field("city", .text), Field("country", .text),
        Field("inserted_at", .requiredText),
    ]

    /// `invalid_users`: the columns of a DLQ row, minus its `record`. `error_reason` is the
    /// transformer's own message (its member comes last in the line, and the loader keeps the
    /// last occurrence), which quotes at most 40 characters of the validated members only.
    public static let invalidUsers: [Field] = [
        Field("row_id", .integer), Field("run_id", .requiredText), Field("line_no", .integer), Field("user_id", .integer),
        Field("error_reason", .text), Field("error_codes", .stringArray), Field("inserted_at", .requiredText),
    ]

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
