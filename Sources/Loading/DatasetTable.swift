public import Contracts
public import ETLCore
public import Foundation
import GRDB

/// The table a connector's dataset lands in, derived from its contract (declared once, in the
/// contract): `dataset_<name>` with `row_id`, `run_id`, `line_no`, one column per contract
/// field and per lookup member, the original `record`, and `inserted_at`. A contract that
/// gains a field gains a column on the next load; columns are never dropped or retyped, so
/// older runs stay readable.
public struct DatasetTable: Sendable, Equatable {
    public struct DataColumn: Sendable, Equatable {
        public let name: String
        /// The SQLite type: INTEGER, REAL or TEXT.
        public let sqlType: String
        /// The member of a processed line the value comes from (a dotted path).
        public let path: String
        let kind: ColumnSource.MemberKind
    }

    public let dataset: String
    public let columns: [DataColumn]

    public var name: String { RunManifest.tableName(ofDataset: dataset) }

    public init(dataset: String, contract: Contract?) {
        self.dataset = dataset
        var columns: [DataColumn] = []
        for field in contract?.fields ?? [] {
            let (sqlType, kind) = Self.storage(of: field.type)
            columns.append(DataColumn(name: field.columnName, sqlType: sqlType, path: field.name, kind: kind))
            if let lookup = field.lookup {
                columns.append(DataColumn(name: ContractField.snakeCase(lookup.adds), sqlType: "TEXT", path: lookup.adds, kind: .text))
            }
        }
        self.columns = columns
    }

    private static func storage(of type: ContractField.FieldType?) -> (String, ColumnSource.MemberKind) {
        switch type {
        case .integer: ("INTEGER", .integer)
        case .number: ("REAL", .real)
        case .boolean: ("INTEGER", .boolean)
        case .string: ("TEXT", .text)
        case .object, .array, nil: ("TEXT", .json)
        }
    }

    var plan: LoadPlan {
        LoadPlan(table: name, columns: [("row_id", .assignedBySQLite), ("run_id", .runID), ("line_no", .lineNumber)]
            + columns.map { ($0.name, ColumnSource.member($0.path, $0.kind)) }
            + [("record", .line), ("inserted_at", .insertedAt)])
    }

    /// Creates the table, or adds the columns the contract gained since it was made.
    func prepare(_ db: Database) throws {
        if try !db.tableExists(name) {
            let dataColumns = columns.map { "\($0.name.quotedDatabaseIdentifier) \($0.sqlType)" }
            try db.execute(sql: """
                CREATE TABLE \(name.quotedDatabaseIdentifier) (
                    row_id INTEGER PRIMARY KEY,
                    run_id TEXT NOT NULL,
                    line_no INTEGER NOT NULL,
                    \(dataColumns.map { $0 + ",\n        " }.joined())record TEXT NOT NULL,
                    inserted_at TEXT NOT NULL,
                    UNIQUE(run_id, line_no)
                )
                """)
            return
        }
        let existing = Set(try db.columns(in: name).map(\.name))
        for column in columns where !existing.contains(column.name) {
            try db.execute(sql: "ALTER TABLE \(name.quotedDatabaseIdentifier) ADD COLUMN \(column.name.quotedDatabaseIdentifier) \(column.sqlType)")
        }
    }
}

extension RunLoader {
    /// Loads a connector run's valid records into its dataset's table, in one transaction
    /// (the run's previous rows replaced, as for the users tables).
    public func load(_ file: URL, into table: DatasetTable, runID: RunID, now: Date = Date()) async throws -> Int {
        try await load(file, plan: table.plan, runID: runID, now: now, prepare: table.prepare).rows
    }
}
