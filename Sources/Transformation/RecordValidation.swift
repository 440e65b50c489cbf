import ETLCore

/// The stable machine codes of a DLQ record (its `error_codes`), in the order they are reported.
public enum ValidationCode: String, Sendable, CaseIterable, Codable {
    /// The line is not a JSON object: unparsable, another JSON type, empty or blank.
    case invalidJSON = "invalid_json"
    /// The line is JSON nested deeper than the product's limit (`JSONNesting.maximumDepth`):
    /// not read further, kept as text like an `invalid_json` line.
    case nestingTooDeep = "nesting_too_deep"
    /// `id` is missing or not an integer literal that fits in 64 bits (`1`, `-3`; not `1.0`, `1e3`, `"1"`).
    case invalidID = "invalid_id"
    /// `firstName` is missing, not a string, empty or whitespace only.
    case invalidFirstName = "invalid_first_name"
    /// `email` is missing, not a string, or not an address (see `EmailAddress`).
    case invalidEmail = "invalid_email"
    /// `age` is missing or not a JSON number (`"30"` and `true` are not numbers).
    case invalidAge = "invalid_age"
    /// `age` is a number outside [`AGE_MIN`, `AGE_MAX`] (inclusive; fractions allowed inside).
    case ageOutOfRange = "age_out_of_range"
    /// `company` is not an object, or `company.department` is missing, not a string, or blank.
    case invalidDepartment = "invalid_department"
    /// `company.department` is a valid string that is not in `DEPARTMENTS_CSV` (replayable).
    case unknownDepartment = "unknown_department"
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
    case valid(departmentCode: String)
    /// Every failure of the record, in `ValidationCode` order (at most one per field).
    case invalid([ValidationFailure])

    public var failures: [ValidationFailure] {
        if case .invalid(let failures) = self { return failures }
        return []
    }

    public var codes: [ValidationCode] { failures.map(\.code) }
}

/// The SPEC's validation rules for one user record. Every rule is checked, so a record with
/// several problems reports all of them.
public struct RecordValidator: Sendable {
    /// The top-level members validation reads (the parser materializes only these).
    public static let fields = ["id", "firstName", "email", "age", "company"]

    public let ageRange: ClosedRange<Double>
    public let departments: DepartmentLookup

    public init(ageRange: ClosedRange<Double>, departments: DepartmentLookup) {
        self.ageRange = ageRange
        self.departments = departments
    }

    public func validate(_ record: JSONValue) -> RecordVerdict {
        guard record.isObject else {
            return .invalid([ValidationFailure(.invalidJSON, "line is a JSON \(record.typeName), not an object")])
        }
        var failures: [ValidationFailure] = []
        if let failure = checkID(record["id"]) { failures.append(failure) }
        if let failure = checkFirstName(record["firstName"]) { failures.append(failure) }
        if let failure = checkEmail(record["email"]) { failures.append(failure) }
        if let failure = checkAge(record["age"]) { failures.append(failure) }
        let department = checkDepartment(record["company"])
        switch department {
        case .success(let code):
            if failures.isEmpty { return .valid(departmentCode: code) }
        case .failure(let failure):
            failures.append(failure)
        }
        return .invalid(failures)
    }

    private func checkID(_ value: JSONValue?) -> ValidationFailure? {
        guard let value else { return ValidationFailure(.invalidID, "id is missing") }
        guard let text = value.numberText else {
            return ValidationFailure(.invalidID, "id must be an integer, got \(Self.typedPreview(value))")
        }
        if value.int64Value != nil { return nil }
        if text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return ValidationFailure(.invalidID, "id must be an integer, got \(Self.typedPreview(value))")
        }
        return ValidationFailure(.invalidID, "id \(Self.preview(value)) does not fit in a 64-bit integer")
    }

    private func checkFirstName(_ value: JSONValue?) -> ValidationFailure? {
        guard let value else { return ValidationFailure(.invalidFirstName, "firstName is missing") }
        guard let text = value.stringValue else {
            return ValidationFailure(.invalidFirstName, "firstName must be a string, got \(Self.typedPreview(value))")
        }
        if text.isEmpty { return ValidationFailure(.invalidFirstName, "firstName is empty") }
        if Self.isBlank(text) { return ValidationFailure(.invalidFirstName, "firstName is only whitespace") }
        return nil
    }

    private func checkEmail(_ value: JSONValue?) -> ValidationFailure? {
        guard let value else { return ValidationFailure(.invalidEmail, "email is missing") }
        guard let text = value.stringValue else {
            return ValidationFailure(.invalidEmail, "email must be a string, got \(Self.typedPreview(value))")
        }
        guard let problem = EmailAddress.problem(in: text) else { return nil }
        return ValidationFailure(.invalidEmail, "email \(Self.preview(value)) is not a valid address: \(problem)")
    }

    private func checkAge(_ value: JSONValue?) -> ValidationFailure? {
        guard let value else { return ValidationFailure(.invalidAge, "age is missing") }
        guard value.isNumber else {
            return ValidationFailure(.invalidAge, "age must be a number, got \(Self.typedPreview(value))")
        }
        // A number too large for a Double (1e400) is out of any range.
        if let age = value.doubleValue, ageRange.contains(age) { return nil }
        return ValidationFailure(
            .ageOutOfRange,
            "age \(Self.preview(value)) is outside [\(Self.format(ageRange.lowerBound)), \(Self.format(ageRange.upperBound))]")
    }

    private func checkDepartment(_ company: JSONValue?) -> Result<String, ValidationFailure> {
        guard let company else { return .failure(ValidationFailure(.invalidDepartment, "company.department is missing (no company)")) }
        guard company.isObject else {
            return .failure(ValidationFailure(.invalidDepartment, "company must be an object, got \(Self.typedPreview(company))"))
        }
        guard let value = company["department"] else {
            return .failure(ValidationFailure(.invalidDepartment, "company.department is missing"))
        }
        guard let department = value.stringValue else {
            return .failure(ValidationFailure(.invalidDepartment, "company.department must be a string, got \(Self.typedPreview(value))"))
        }
        if department.isEmpty { return .failure(ValidationFailure(.invalidDepartment, "company.department is empty")) }
        if Self.isBlank(department) {
            return .failure(ValidationFailure(.invalidDepartment, "company.department is only whitespace"))
        }
        guard let code = departments.code(for: department) else {
            return .failure(ValidationFailure(.unknownDepartment, "department \(Self.preview(value)) is not in the department lookup"))
        }
        return .success(code)
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
