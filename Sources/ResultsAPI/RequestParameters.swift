import ETLCore
import GRDB

/// A request's documented parameters, each checked against its schema in the OpenAPI
/// document (`APIDocument`) before a route reads it: a malformed value is a 400
/// `invalid_parameter` naming the parameter, never a 500. Parameters the document does not
/// declare for the route are ignored; absent ones are nil, or the documented default.
struct RequestParameters: Sendable {
    private var values: [String: ParameterValue] = [:]

    /// The query parameters of `query` that `rules` declare.
    init(query: FormQuery, rules: [ParameterRule]) throws(APIError) {
        for rule in rules where rule.location == .query {
            guard let raw = query[rule.name] else {
                values[rule.name] = rule.schema.defaultValue
                continue
            }
            switch rule.schema.check(raw) {
            case .success(let value): values[rule.name] = value
            case .failure(let violation): throw APIError.badParameter(rule.name, violation.message)
            }
        }
    }

    func integer(_ name: String) -> Int? {
        if case .integer(let value) = values[name] { return value }
        return nil
    }

    func string(_ name: String) -> String? {
        if case .string(let value) = values[name] { return value }
        return nil
    }

    /// A run id the document's pattern accepted (an impossible date, Feb 30, still passes:
    /// it names no run, so it is a 404 or an empty page, never a 400 the document does not
    /// announce).
    func runID(_ name: String = "run_id") -> RunIDText? {
        string(name).map(RunIDText.init(timestamp:))
    }
}

/// Checks a path parameter against the document, e.g. the `id` of `/etl_runs/{id}`.
func checkPathParameter(_ name: String, _ raw: Substring, rules: [ParameterRule]) -> ParameterViolation? {
    guard let rule = rules.first(where: { $0.location == .path && $0.name == name }) else {
        preconditionFailure("openapi.json declares no path parameter \(name)")
    }
    if case .failure(let violation) = rule.schema.check(raw) { return violation }
    return nil
}

/// SQL fragments with their bound values. Only constant SQL text is ever appended; every
/// value a client sent travels as a bound argument.
struct SQLFilter {
    private(set) var conditions: [String] = []
    private(set) var arguments: [DatabaseValue] = []

    mutating func add(_ condition: String, _ values: String...) {
        add(condition, values: values)
    }

    mutating func add(_ condition: String, values: [String]) {
        conditions.append(condition)
        arguments.append(contentsOf: values.map(\.databaseValue))
    }

    var whereClause: String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }

    /// A `LIKE … ESCAPE '\'` pattern matching `text` anywhere, its `%`, `_` and `\` literal.
    static func containsPattern(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }
}

/// A run id from a request, of the shape the document's pattern allows (`YYYYMMDD_HHMMSS`).
struct RunIDText: Sendable, Equatable {
    let timestamp: String
}
