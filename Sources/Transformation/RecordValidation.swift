public import Contracts
import ETLCore

/// The stable machine code of one failure in a DLQ record (its `error_codes`). The users
/// contract's codes are named here; any other contract derives its own from its fields
/// (`ContractField.invalidCode`, `outOfRangeCode`, `unknownCode`).
public struct ValidationCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The line is not a JSON object: unparsable, another JSON type, empty or blank.
    public static let invalidJSON = ValidationCode(rawValue: "invalid_json")
    /// The line is JSON nested deeper than the product's limit (`JSONNesting.maximumDepth`):
    /// not read further, kept as text like an `invalid_json` line.
    public static let nestingTooDeep = ValidationCode(rawValue: "nesting_too_deep")
    /// `id` is missing or not an integer literal that fits in 64 bits (`1`, `-3`; not `1.0`, `1e3`, `"1"`).
    public static let invalidID = ValidationCode(rawValue: "invalid_id")
    /// `firstName` is missing, not a string, empty or whitespace only.
    public static let invalidFirstName = ValidationCode(rawValue: "invalid_first_name")
    /// `email` is missing, not a string, or not an address (see `EmailAddress`).
    public static let invalidEmail = ValidationCode(rawValue: "invalid_email")
    /// `age` is missing or not a JSON number (`"30"` and `true` are not numbers).
    public static let invalidAge = ValidationCode(rawValue: "invalid_age")
    /// `age` is a number outside [`AGE_MIN`, `AGE_MAX`] (inclusive; fractions allowed inside).
    public static let ageOutOfRange = ValidationCode(rawValue: "age_out_of_range")
    /// `company` is not an object, or `company.department` is missing, not a string, or blank.
    public static let invalidDepartment = ValidationCode(rawValue: "invalid_department")
    /// `company.department` is a valid string that is not in `DEPARTMENTS_CSV` (replayable).
    public static let unknownDepartment = ValidationCode(rawValue: "unknown_department")
}

/// One reason a record is invalid: the stable code and a message for people.
public struct ValidationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ValidationCode
    public let message: String

    public init(_ code: ValidationCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

public enum RecordVerdict: Sendable, Equatable {
    /// The record meets its contract; `added` are the members its lookups add, in order.
    case valid(added: [AddedMember])
    /// Every failure of the record, in the contract's field order (at most one per field).
    case invalid([ValidationFailure])

    /// A valid user record and its `department_code` (the users contract's one lookup).
    public static func valid(departmentCode: String) -> RecordVerdict {
        .valid(added: [AddedMember(key: "department_code", value: departmentCode)])
    }

    public var failures: [ValidationFailure] {
        if case .invalid(let failures) = self { return failures }
        return []
    }

    public var codes: [ValidationCode] { failures.map(\.code) }
}

/// A member a lookup adds to a valid record.
public struct AddedMember: Sendable, Equatable {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// Checks records against a contract. Every field is checked, so a record with several
/// problems reports all of them; a contract with no fields accepts every JSON object.
public struct RecordValidator: Sendable {
    public let contract: Contract
    /// Each lookup field's table (`ContractField.name` → key → value), loaded before the
    /// first record so a bad reference file fails the run, not each record.
    public let lookups: [String: [String: String]]

    public init(contract: Contract, lookups: [String: [String: String]]) {
        self.contract = contract
        self.lookups = lookups
    }

    /// Today's users rules (SPEC §5) as the `users` contract, with `departments` as the
    /// lookup of `company.department`.
    public init(ageRange: ClosedRange<Double>, departments: DepartmentLookup) {
        self.init(contract: .users(ageRange: ageRange), lookups: ["company.department": departments.codes])
    }

    /// The top-level members validation reads (the parser materializes only these).
    public var fields: [String] { contract.topLevelKeys }

    public func validate(_ record: JSONValue) -> RecordVerdict {
        guard record.isObject else {
            return .invalid([ValidationFailure(.invalidJSON, "line is a JSON \(record.typeName), not an object")])
        }
        var failures: [ValidationFailure] = []
        var added: [AddedMember] = []
        for field in contract.fields {
            switch check(field, in: record) {
            case .success(let member?): added.append(member)
            case .success(nil): break
            case .failure(let failure): failures.append(failure)
            }
        }
        return failures.isEmpty ? .valid(added: added) : .invalid(failures)
    }

    private func check(_ field: ContractField, in record: JSONValue) -> Result<AddedMember?, ValidationFailure> {
        let invalid = ValidationCode(rawValue: field.invalidCode)
        let value: JSONValue
        switch Self.resolve(field.pathComponents, in: record) {
        case .found(let found): value = found
        case .missing(let parent):
            guard field.required else { return .success(nil) }
            let context = parent.map { " (no \($0))" } ?? ""
            return .failure(ValidationFailure(invalid, "\(field.name) is missing\(context)"))
        case .notAnObject(let parent, let found):
            return .failure(ValidationFailure(invalid, "\(parent) must be an object, got \(Self.typedPreview(found))"))
        }
        if case .null = value, !field.required { return .success(nil) }
        if let failure = checkType(of: value, field, code: invalid) { return .failure(failure) }
        if let failure = checkRange(of: value, field) { return .failure(failure) }
        if let failure = checkFormat(of: value, field, code: invalid) { return .failure(failure) }
        if let allowed = field.allowed, !allowed.contains(Self.plainText(value)) {
            return .failure(ValidationFailure(invalid, "\(field.name) \(Self.preview(value)) is not one of \(allowed.joined(separator: ", "))"))
        }
        return lookUp(value, field)
    }

    private enum Resolution {
        case found(JSONValue)
        /// The path ends early; `parent` names the missing object when it is not the field itself.
        case missing(parent: String?)
        case notAnObject(parent: String, found: JSONValue)
    }

    private static func resolve(_ path: [String], in record: JSONValue) -> Resolution {
        var current = record
        for (depth, component) in path.enumerated() {
            if depth > 0, !current.isObject {
                return .notAnObject(parent: path[..<depth].joined(separator: "."), found: current)
            }
            guard let next = current[component] else {
                return .missing(parent: depth > 0 ? nil : (path.count > 1 ? component : nil))
            }
            current = next
        }
        return .found(current)
    }

    private func checkType(of value: JSONValue, _ field: ContractField, code: ValidationCode) -> ValidationFailure? {
        guard let type = field.type else { return nil }
        let fits: Bool
        switch (type, value) {
        case (.string, .string(let text)):
            if field.notBlank, text.isEmpty { return ValidationFailure(code, "\(field.name) is empty") }
            if field.notBlank, Self.isBlank(text) { return ValidationFailure(code, "\(field.name) is only whitespace") }
            fits = true
        case (.integer, .number(let text)):
            if value.int64Value != nil { return nil }
            if text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                fits = false
            } else {
                return ValidationFailure(code, "\(field.name) \(Self.preview(value)) does not fit in a 64-bit integer")
            }
        case (.number, .number), (.boolean, .bool), (.object, .object), (.array, .array): fits = true
        default: fits = false
        }
        guard !fits else { return nil }
        let article = type == .integer || type == .object || type == .array ? "an" : "a"
        return ValidationFailure(code, "\(field.name) must be \(article) \(type.rawValue), got \(Self.typedPreview(value))")
    }

    private func checkRange(of value: JSONValue, _ field: ContractField) -> ValidationFailure? {
        guard field.minimum != nil || field.maximum != nil else { return nil }
        let lower = field.minimum ?? -.infinity
        let upper = field.maximum ?? .infinity
        // A number too large for a Double (1e400) is out of any range.
        if let number = value.doubleValue, number >= lower, number <= upper { return nil }
        let bounds: String
        switch (field.minimum, field.maximum) {
        case (let minimum?, let maximum?): bounds = "outside [\(Self.format(minimum)), \(Self.format(maximum))]"
        case (let minimum?, nil): bounds = "below the minimum \(Self.format(minimum))"
        default: bounds = "above the maximum \(Self.format(upper))"
        }
        return ValidationFailure(ValidationCode(rawValue: field.outOfRangeCode), "\(field.name) \(Self.preview(value)) is \(bounds)")
    }

    private func checkFormat(of value: JSONValue, _ field: ContractField, code: ValidationCode) -> ValidationFailure? {
        guard let format = field.format else { return nil }
        guard let text = value.stringValue else {
            return ValidationFailure(code, "\(field.name) must be a string, got \(Self.typedPreview(value))")
        }
        let problem: String?
        switch format {
        case .email: problem = EmailAddress.problem(in: text).map { "is not a valid address: \($0)" }
        case .date: problem = CalendarText.isDate(text) ? nil : "is not a date (YYYY-MM-DD)"
        case .dateTime: problem = CalendarText.isDateTime(text) ? nil : "is not an ISO-8601 date-time with a zone (2026-12-03T17:00:00Z)"
        }
        return problem.map { ValidationFailure(code, "\(field.name) \(Self.preview(value)) \($0)") }
    }

    private func lookUp(_ value: JSONValue, _ field: ContractField) -> Result<AddedMember?, ValidationFailure> {
        guard let lookup = field.lookup else { return .success(nil) }
        let key = Self.plainText(value)
        guard let mapped = lookups[field.name]?[key] else {
            let name = lookup.name ?? (field.pathComponents.last ?? field.name)
            return .failure(ValidationFailure(
                ValidationCode(rawValue: field.unknownCode),
                "\(field.pathComponents.last ?? field.name) \(Self.preview(value)) is not in the \(name) lookup"))
        }
        return .success(AddedMember(key: lookup.adds, value: mapped))
    }

    /// A scalar as the text a lookup or an allow-list compares: a string's content, a
    /// number's source text, `true`/`false`, `null`.
    private static func plainText(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .null: "null"
        case .array, .object: ""
        }
    }

    // MARK: Message helpers

    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy {
            $0.value < 0x80 ? ($0.value <= 0x20 || $0.value == 0x7F) : $0.properties.isWhitespace
        }
    }

    /// A short rendering of a value for messages: `"abc"`, `42`, `boolean true`, `null`, `array`.
    static func preview(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return "boolean \(flag)"
        case .number(let text): return truncate(text, to: 40)
        case .string(let text): return JSONWriter.quoted(truncate(text, to: 40), controlEscapes: .everyShortForm)
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Like `preview`, naming the type of a string too: `string "30"`.
    static func typedPreview(_ value: JSONValue) -> String {
        if case .string = value { return "string " + preview(value) }
        return preview(value)
    }

    private static func truncate(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "…"
    }

    static func format(_ bound: Double) -> String {
        if bound == bound.rounded(), abs(bound) < 1e15 { return String(Int64(bound)) }
        return String(bound)
    }
}
