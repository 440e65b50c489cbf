import GRDB
import PipelineSchema

/// Where the loader takes one column's value from, for the row of one line of a run file.
enum ColumnSource: Sendable {
    /// `row_id` (`INTEGER PRIMARY KEY`): SQLite assigns it; not inserted.
    case assignedBySQLite
    /// The same for every row of a load: bound once per file.
    case runID, insertedAt
    /// The line's 1-based number in its file.
    case lineNumber
    /// The whole line, as it was.
    case line
    /// A member of the line's JSON object, by dotted path (`company.department`).
    case member(String, MemberKind)
    /// The first of these members that holds a string: sources spell some members several ways.
    case firstString([String])

    enum MemberKind: Sendable {
        /// An integer literal that fits in 64 bits, else NULL.
        case integer
        /// A string, else NULL.
        case text
        /// A finite number, else NULL.
        case real
        /// A JSON array text: the array as written, a lone string wrapped, else `[]`.
        case errorCodes
        /// `true`/`false` as 1/0, else NULL.
        case boolean
        /// A string's text, any other value's JSON text (objects and arrays as written), NULL when missing or null.
        case json
    }
}

/// A table whose rows the loader makes from lines: each column of the record (its
/// `CodingKeys`, which are the table's columns) says where its value comes from. The switch
/// over the columns is exhaustive, so a column added to the record does not compile until
/// the loader knows how to fill it.
protocol LoadedRecord: TableRecord {
    associatedtype CodingKeys: CodingKey & CaseIterable
    static func source(of column: CodingKeys) -> ColumnSource
}

extension RawUserRecord: LoadedRecord {
    static func source(of column: CodingKeys) -> ColumnSource {
        switch column {
        case .rowID: .assignedBySQLite
        case .runID: .runID
        case .lineNo: .lineNumber
        case .userID: .member("id", .integer)
        case .record: .line
        case .insertedAt: .insertedAt
        }
    }
}

extension ProcessedUserRecord: LoadedRecord {
    static func source(of column: CodingKeys) -> ColumnSource {
        switch column {
        case .rowID: .assignedBySQLite
        case .runID: .runID
        case .lineNo: .lineNumber
        case .userID: .member("id", .integer)
        case .firstName: .member("firstName", .text)
        case .lastName: .member("lastName", .text)
        case .email: .member("email", .text)
        case .age: .member("age", .real)
        case .gender: .member("gender", .text)
        case .department: .member("company.department", .text)
        // The transformer adds `department_code` at the top level; older outputs nested it.
        case .departmentCode: .firstString(["department_code", "company.department_code", "departmentCode"])
        case .companyName: .member("company.name", .text)
        case .jobTitle: .member("company.title", .text)
        case .city: .member("address.city", .text)
        case .country: .member("address.country", .text)
        case .record: .line
        case .insertedAt: .insertedAt
        }
    }
}

extension InvalidUserRecord: LoadedRecord {
    static func source(of column: CodingKeys) -> ColumnSource {
        switch column {
        case .rowID: .assignedBySQLite
        case .runID: .runID
        case .lineNo: .lineNumber
        case .userID: .member("id", .integer)
        case .errorReason: .member("error_reason", .text)
        case .errorCodes: .member("error_codes", .errorCodes)
        case .record: .line
        case .insertedAt: .insertedAt
        }
    }
}

/// One parameter of the insert statement bound for each row: plain values only, so the
/// per-row loop does no reference counting (the tests run unoptimized builds).
struct RowBinding {
    enum Kind {
        case lineNumber, line, integer, text, real, errorCodes, firstString, boolean, json
    }

    let parameter: Int32
    let kind: Kind
    /// The scan slots the value is read from (`slotCount` of them, from `firstSlot`).
    let firstSlot: Int
    let slotCount: Int
}

/// How one table is loaded, derived from its record: the insert statement's columns (every
/// column but `row_id`, in the table's order), the members to scan out of each line, and
/// which slot feeds which parameter.
struct LoadPlan: Sendable {
    let table: String
    let columns: [String]
    let insertSQL: String
    /// `DELETE FROM <table> WHERE <run id column> = ?`: a run's previous rows, replaced by a load.
    let deleteRunSQL: String
    /// `SELECT COUNT(*) …` of a run's rows.
    let countRunSQL: String
    let spec: FieldSpec
    let runIDParameter: Int32
    let insertedAtParameter: Int32
    let rowBindings: [RowBinding]

    init<Record: LoadedRecord>(_ record: Record.Type) {
        self.init(table: Record.databaseTableName,
                  columns: Record.CodingKeys.allCases.map { ($0.stringValue, Record.source(of: $0)) })
    }

    /// A plan for `table`, whose columns (in order) take their values from their sources.
    init(table: String, columns sources: [(name: String, source: ColumnSource)]) {
        self.table = table
        var columns: [String] = []
        var paths: [String] = []
        var bindings: [RowBinding] = []
        var runIDParameter: Int32 = 0
        var runIDColumn = ""
        var insertedAtParameter: Int32 = 0
        for (name, source) in sources {
            if case .assignedBySQLite = source { continue }
            columns.append(name)
            let parameter = Int32(columns.count)
            let slot = paths.count
            switch source {
            case .assignedBySQLite: break
            case .runID: (runIDParameter, runIDColumn) = (parameter, name)
            case .insertedAt: insertedAtParameter = parameter
            case .lineNumber: bindings.append(RowBinding(parameter: parameter, kind: .lineNumber, firstSlot: 0, slotCount: 0))
            case .line: bindings.append(RowBinding(parameter: parameter, kind: .line, firstSlot: 0, slotCount: 0))
            case .member(let path, let kind):
                paths.append(path)
                bindings.append(RowBinding(parameter: parameter, kind: Self.bindingKind(kind), firstSlot: slot, slotCount: 1))
            case .firstString(let alternatives):
                paths += alternatives
                bindings.append(RowBinding(parameter: parameter, kind: .firstString, firstSlot: slot, slotCount: alternatives.count))
            }
        }
        precondition(runIDParameter > 0 && insertedAtParameter > 0, "\(table): a loaded table has run_id and inserted_at")
        self.columns = columns
        self.runIDParameter = runIDParameter
        self.insertedAtParameter = insertedAtParameter
        rowBindings = bindings
        spec = FieldSpec(paths: paths)
        deleteRunSQL = "DELETE FROM \(table) WHERE \(runIDColumn) = ?"
        countRunSQL = "SELECT COUNT(*) FROM \(table) WHERE \(runIDColumn) = ?"
        insertSQL = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(databaseQuestionMarks(count: columns.count)))"
    }

    private static func bindingKind(_ kind: ColumnSource.MemberKind) -> RowBinding.Kind {
        switch kind {
        case .integer: .integer
        case .text: .text
        case .real: .real
        case .errorCodes: .errorCodes
        case .boolean: .boolean
        case .json: .json
        }
    }

    static let raw = LoadPlan(RawUserRecord.self)
    static let processed = LoadPlan(ProcessedUserRecord.self)
    static let invalid = LoadPlan(InvalidUserRecord.self)
}
