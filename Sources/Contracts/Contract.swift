public import Foundation

/// What a dataset's records must meet, declared once per connector: each field's type,
/// presence, range, format, allowed values and lookups. The transformer checks every field
/// (a record reports all its failures, at most one per field, in the contract's order), the
/// saver derives the dataset's table from the fields, the api the filters it accepts.
///
/// A field's `name` is a dotted path (`company.department`). Its codes are derived from the
/// last path component in snake case: `invalid_<field>`, `<field>_out_of_range`,
/// `unknown_<field>` (the lookup miss), unless `code` names another.
public struct Contract: Sendable, Equatable, Codable {
    public var name: String
    public var fields: [ContractField]

    public init(name: String, fields: [ContractField]) {
        self.name = name
        self.fields = fields
    }

    /// The top-level members a record's parse must keep (the first component of each path).
    public var topLevelKeys: [String] {
        var seen = Set<String>()
        return fields.map(\.topLevelKey).filter { seen.insert($0).inserted }
    }

    /// The columns every dataset table has besides the contract's (see the saver's `DatasetTable`).
    public static let reservedColumns: Set<String> = ["row_id", "run_id", "line_no", "record", "inserted_at"]

    /// Problems a contract document can have, found before any record is checked.
    public func problems() -> [String] {
        var problems: [String] = []
        if fields.isEmpty { problems.append("contract \(name) has no fields") }
        var columns = Set<String>()
        for field in fields {
            if field.pathComponents.contains(where: \.isEmpty) { problems.append("field \"\(field.name)\" has an empty path component") }
            if let minimum = field.minimum, let maximum = field.maximum, minimum > maximum {
                problems.append("field \(field.name): minimum \(minimum) is above maximum \(maximum)")
            }
            if (field.minimum != nil || field.maximum != nil), field.type != .number, field.type != .integer {
                problems.append("field \(field.name): minimum and maximum need type number or integer")
            }
            if field.format != nil, field.type != nil, field.type != .string {
                problems.append("field \(field.name): a format needs type string")
            }
            if !columns.insert(field.columnName).inserted { problems.append("field \(field.name): column \(field.columnName) is declared twice") }
            if let problem = Self.columnProblem(field.columnName) { problems.append("field \(field.name): \(problem)") }
            if let lookup = field.lookup, !columns.insert(lookup.adds).inserted {
                problems.append("field \(field.name): the lookup adds \(lookup.adds), which is already a column")
            }
        }
        return problems
    }

    static func columnProblem(_ column: String) -> String? {
        if reservedColumns.contains(column) { return "column \(column) is one every dataset table has; set another `column`" }
        let valid = column.first.map { $0 == "_" || ($0.isASCII && $0.isLowercase) } == true && column.utf8.count <= 63
            && column.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
        return valid ? nil : "column \(column) must be lower-case letters, digits and _ (set `column`)"
    }

    /// Decodes a contract from JSON and checks it (`problems`).
    public static func decode(json: String) throws -> Contract {
        let contract = try JSONDecoder().decode(Contract.self, from: Data(json.utf8))
        let problems = contract.problems()
        guard problems.isEmpty else { throw ContractError(problems: problems) }
        return contract
    }

    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}

public struct ContractError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { "invalid contract: " + problems.joined(separator: "; ") }
}

public struct ContractField: Sendable, Equatable, Codable {
    public enum FieldType: String, Sendable, Codable, CaseIterable {
        case string, integer, number, boolean, object, array
    }

    public enum Format: String, Sendable, Codable, CaseIterable {
        /// An address as `EmailAddress` accepts it.
        case email
        /// `YYYY-MM-DD`, a real calendar day.
        case date
        /// ISO-8601 with a time and a zone, e.g. `2026-12-03T17:00:00Z`.
        case dateTime = "date_time"
    }

    /// A reference CSV that maps the field's value to another (`department` → `department_code`).
    public struct Lookup: Sendable, Equatable, Codable {
        public var file: String
        public var keyColumn: String
        public var valueColumn: String
        /// The member added to a valid record (and the dataset's column).
        public var adds: String
        /// How messages name the lookup: `department "X" is not in the <name> lookup`.
        public var name: String?

        public init(file: String, keyColumn: String, valueColumn: String, adds: String, name: String? = nil) {
            self.file = file
            self.keyColumn = keyColumn
            self.valueColumn = valueColumn
            self.adds = adds
            self.name = name
        }

        enum CodingKeys: String, CodingKey {
            case file, keyColumn = "key_column", valueColumn = "value_column", adds, name
        }
    }

    public var name: String
    public var type: FieldType?
    public var required: Bool
    /// A string that is empty or only whitespace fails.
    public var notBlank: Bool
    public var minimum: Double?
    public var maximum: Double?
    public var format: Format?
    public var allowed: [String]?
    public var lookup: Lookup?
    /// The dataset table's column; default: the path in snake case, `.` → `_`.
    public var column: String?
    /// The code of a failure of this field; default `invalid_<last component>`.
    public var code: String?

    public init(
        _ name: String, type: FieldType? = nil, required: Bool = false, notBlank: Bool = false,
        minimum: Double? = nil, maximum: Double? = nil, format: Format? = nil, allowed: [String]? = nil,
        lookup: Lookup? = nil, column: String? = nil, code: String? = nil
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.notBlank = notBlank
        self.minimum = minimum
        self.maximum = maximum
        self.format = format
        self.allowed = allowed
        self.lookup = lookup
        self.column = column
        self.code = code
    }

    enum CodingKeys: String, CodingKey {
        case name, type, required, notBlank = "not_blank", minimum, maximum, format, allowed, lookup, column, code
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try container.decode(String.self, forKey: .name),
            type: try container.decodeIfPresent(FieldType.self, forKey: .type),
            required: try container.decodeIfPresent(Bool.self, forKey: .required) ?? false,
            notBlank: try container.decodeIfPresent(Bool.self, forKey: .notBlank) ?? false,
            minimum: try container.decodeIfPresent(Double.self, forKey: .minimum),
            maximum: try container.decodeIfPresent(Double.self, forKey: .maximum),
            format: try container.decodeIfPresent(Format.self, forKey: .format),
            allowed: try container.decodeIfPresent([String].self, forKey: .allowed),
            lookup: try container.decodeIfPresent(Lookup.self, forKey: .lookup),
            column: try container.decodeIfPresent(String.self, forKey: .column),
            code: try container.decodeIfPresent(String.self, forKey: .code))
    }

    /// Only what differs from the defaults, so a stored or printed contract reads like its source.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(type, forKey: .type)
        if required { try container.encode(true, forKey: .required) }
        if notBlank { try container.encode(true, forKey: .notBlank) }
        try container.encodeIfPresent(minimum, forKey: .minimum)
        try container.encodeIfPresent(maximum, forKey: .maximum)
        try container.encodeIfPresent(format, forKey: .format)
        try container.encodeIfPresent(allowed, forKey: .allowed)
        try container.encodeIfPresent(lookup, forKey: .lookup)
        try container.encodeIfPresent(column, forKey: .column)
        try container.encodeIfPresent(code, forKey: .code)
    }

    public var pathComponents: [String] { name.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
    var topLevelKey: String { pathComponents[0] }
    /// The last path component in snake case (`firstName` → `first_name`): the stem of codes.
    public var stem: String { Self.snakeCase(pathComponents.last ?? name) }
    public var columnName: String { column ?? pathComponents.map(Self.snakeCase).joined(separator: "_") }

    public var invalidCode: String { code ?? "invalid_\(stem)" }
    public var outOfRangeCode: String { "\(stem)_out_of_range" }
    public var unknownCode: String { "unknown_\(stem)" }

    /// `firstName` → `first_name`, `HTTPStatus` → `http_status`, `a-b` → `a_b`.
    public static func snakeCase(_ text: String) -> String {
        var result = ""
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            if character.isUppercase {
                let previous = index > 0 ? characters[index - 1] : nil
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if let previous, previous != "_", previous.isLowercase || previous.isNumber || (next?.isLowercase ?? false) {
                    result.append("_")
                }
                result.append(contentsOf: character.lowercased())
            } else if character.isLetter || character.isNumber {
                result.append(character)
            } else if !result.hasSuffix("_") {
                result.append("_")
            }
        }
        return result
    }
}
