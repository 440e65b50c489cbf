import Foundation

/// The OpenAPI document, `Resources/openapi.json`: the one description of the API's shape.
/// It is served at `GET /openapi.json` (byte for byte with `API_ADMIN_TOKEN` set; without it,
/// less the admin operations the api then does not serve), and read once at start for the rules of
/// every parameter, which the routes check each request against (`RequestParameters`): what
/// the document promises a client is what the server enforces, with no second copy of it.
public struct APIDocument: Sendable {
    public let bytes: [UInt8]
    /// Paths whose operation has an empty security requirement: served without a token.
    public let openPaths: Set<String>
    /// Path templates of the operations marked `"x-admin": true`, which exist only when
    /// `API_ADMIN_TOKEN` is set (`addAdminRoutes`).
    public let adminPaths: Set<String>
    private let parametersByPath: [String: [ParameterRule]]
    /// Each path template's operations, as upper-case methods.
    private let methodsByPath: [String: Set<String>]

    /// The document of this build, from the module's resource bundle, admin operations included.
    public static let bundled: APIDocument = {
        do {
            return try APIDocument(bytes: PackagedFile.bytes("openapi.json"))
        } catch {
            fatalError("\(error)")
        }
    }()

    /// What a read-only api serves: `bundled` without its admin operations, so a client (or
    /// schemathesis) is never promised a route that is not there.
    public static let bundledReadOnly: APIDocument = {
        do {
            return try bundled.withoutAdminOperations()
        } catch {
            fatalError("\(error)")
        }
    }()

    /// This document less the operations marked `"x-admin": true` (and any path left empty).
    func withoutAdminOperations() throws(APIDocumentError) -> APIDocument {
        do {
            guard var document = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                  var paths = document["paths"] as? [String: [String: Any]]
            else { throw APIDocumentError("openapi.json has no paths") }
            for (path, operations) in paths {
                let kept = operations.filter { ($0.value as? [String: Any])?["x-admin"] as? Bool != true }
                paths[path] = kept.isEmpty ? nil : kept
            }
            document["paths"] = paths
            let pruned = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return try APIDocument(bytes: Array(pruned))
        } catch let error as APIDocumentError {
            throw error
        } catch {
            throw APIDocumentError("openapi.json could not be pruned of its admin operations: \(error)")
        }
    }

    /// Whether a request path (`/connectors/7/run`) is one of `adminPaths` (`/connectors/{id}/run`).
    func isAdminPath(_ path: String) -> Bool {
        adminPaths.contains { Self.template($0, matches: path) }
    }

    /// The methods `Allow` names for a request path: the document's operations on the path's
    /// template (HEAD wherever GET is) and OPTIONS; for a path the document does not describe,
    /// what every path of this read-mostly API allows: GET, HEAD, OPTIONS.
    func allowedMethods(for path: String) -> [String] {
        let template = methodsByPath[path] != nil ? path : methodsByPath.keys.sorted().first { Self.template($0, matches: path) }
        var methods = template.flatMap { methodsByPath[$0] } ?? ["GET"]
        if methods.contains("GET") { methods.insert("HEAD") }
        methods.insert("OPTIONS")
        return Self.methodOrder.filter(methods.contains)
    }

    private static let methodOrder = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]

    private static func template(_ template: String, matches path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let parts = template.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == segments.count && zip(parts, segments).allSatisfy { part, segment in
            part.hasPrefix("{") && part.hasSuffix("}") ? !segment.isEmpty : part == segment
        }
    }

    public init(bytes: [UInt8]) throws(APIDocumentError) {
        let document: DocumentObject
        do {
            document = try JSONDecoder().decode(DocumentObject.self, from: Data(bytes))
        } catch {
            throw APIDocumentError("openapi.json is not an OpenAPI document this server can enforce: \(error)")
        }
        self.bytes = bytes
        parametersByPath = try document.parameterRules()
        openPaths = document.openPaths
        adminPaths = document.adminPaths
        methodsByPath = document.paths.mapValues { Set($0.keys.map { $0.uppercased() }) }
    }

    /// The parameters the document declares for `GET path` (a template such as
    /// `/etl_runs/{id}`). A route the document does not describe is a programming error.
    func parameters(of path: String) -> [ParameterRule] {
        guard let rules = parametersByPath[path] else {
            preconditionFailure("openapi.json has no operation for \(path)")
        }
        return rules
    }

    /// Every path template the document describes.
    public var paths: Set<String> { Set(parametersByPath.keys) }
}

public struct APIDocumentError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One documented parameter: where it is read from and the schema its value must meet.
struct ParameterRule: Sendable {
    enum Location: String, Decodable, Sendable {
        case query, path
    }

    let name: String
    let location: Location
    let schema: ValueSchema
}

/// The part of JSON Schema the document uses for parameter values. Decoding refuses any other
/// keyword, so the document cannot state a constraint that no code enforces.
enum ValueSchema: Sendable {
    case integer(ClosedRange<Int>, default: Int?)
    case string(StringRule)

    struct StringRule: Sendable {
        var lengths: ClosedRange<Int> = 0...Int.max
        var allowed: [String]?
        var pattern: Pattern?
    }

    /// `value` checked against the schema; the error message says what was expected.
    func check(_ raw: Substring) -> Result<ParameterValue, ParameterViolation> {
        switch self {
        case .integer(let range, _):
            guard let value = Self.plainInteger(raw), range.contains(value) else {
                return .failure(ParameterViolation("'\(raw)' is invalid; expected an integer from \(range.lowerBound) to \(range.upperBound)"))
            }
            return .success(.integer(value))
        case .string(let rule):
            return rule.check(raw).map { ParameterValue.string(String(raw)) }
        }
    }

    var defaultValue: ParameterValue? {
        if case .integer(_, let value?) = self { return .integer(value) }
        return nil
    }

    /// Plain decimal digits with an optional `-` ("+5", "1e3", " 5" and "" are refused).
    private static func plainInteger(_ raw: Substring) -> Int? {
        let digits = raw.first == "-" ? raw.dropFirst() : raw[...]
        guard !digits.isEmpty, digits.utf8.count <= 12, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return Int(raw)
    }
}

extension ValueSchema.StringRule {
    func check(_ raw: Substring) -> Result<Void, ParameterViolation> {
        if let allowed, !allowed.contains(where: { $0 == raw }) {
            return .failure(ParameterViolation("'\(raw)' is invalid; expected one of \(allowed.joined(separator: ", "))"))
        }
        // JSON Schema counts a string's length in code points.
        guard lengths.contains(raw.unicodeScalars.count) else {
            return .failure(ParameterViolation("expected \(lengths.lowerBound) to \(lengths.upperBound) characters"))
        }
        if let pattern, !pattern.matches(raw) {
            return .failure(ParameterViolation("\(Self.quoted(raw))does not match the pattern \(pattern.source)"))
        }
        return .success(())
    }

    /// The value, when it is short and printable enough to repeat in a message.
    private static func quoted(_ raw: Substring) -> String {
        let printable = raw.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
        return printable && raw.count <= 64 ? "'\(raw)' " : ""
    }
}

/// An ECMA-262-style pattern as JSON Schema uses it (unanchored unless it says `^`/`$`).
struct Pattern: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
    let source: String
    private let expression: NSRegularExpression

    init(_ source: String) throws(APIDocumentError) {
        self.source = source
        do {
            expression = try NSRegularExpression(pattern: source)
        } catch {
            throw APIDocumentError("openapi.json: the pattern \(source) does not compile: \(error)")
        }
    }

    func matches(_ text: Substring) -> Bool {
        let string = String(text)
        let range = NSRange(string.startIndex..., in: string)
        return expression.firstMatch(in: string, range: range) != nil
    }
}

enum ParameterValue: Sendable, Equatable {
    case integer(Int)
    case string(String)
}

struct ParameterViolation: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

// MARK: - The slice of OpenAPI 3.1 that is read

private struct DocumentObject: Decodable {
    let paths: [String: [String: OperationObject]]
    let components: Components

    struct Components: Decodable {
        let parameters: [String: ParameterObject]
    }

    struct OperationObject: Decodable {
        let parameters: [Reference]?
        let security: [[String: [String]]]?
        let admin: Bool?

        enum CodingKeys: String, CodingKey {
            case parameters, security, admin = "x-admin"
        }
    }

    var openPaths: Set<String> {
        Set(paths.filter { $0.value["get"]?.security?.isEmpty == true }.keys)
    }

    var adminPaths: Set<String> {
        Set(paths.filter { $0.value.values.contains { $0.admin == true } }.keys)
    }

    struct Reference: Decodable {
        let ref: String
        enum CodingKeys: String, CodingKey { case ref = "$ref" }
    }

    func parameterRules() throws(APIDocumentError) -> [String: [ParameterRule]] {
        var rules: [String: [ParameterRule]] = [:]
        for (path, operations) in paths {
            guard let get = operations["get"] else { continue }
            rules[path] = try (get.parameters ?? []).map { reference throws(APIDocumentError) in
                try resolve(reference, in: path)
            }
        }
        return rules
    }

    private func resolve(_ reference: Reference, in path: String) throws(APIDocumentError) -> ParameterRule {
        let prefix = "#/components/parameters/"
        guard reference.ref.hasPrefix(prefix), let parameter = components.parameters[String(reference.ref.dropFirst(prefix.count))] else {
            throw APIDocumentError("openapi.json: \(path) refers to \(reference.ref), which is not a parameter under \(prefix)")
        }
        return ParameterRule(name: parameter.name, location: parameter.location, schema: try parameter.schema.valueSchema(for: parameter.name))
    }
}

private struct ParameterObject: Decodable {
    let name: String
    let location: ParameterRule.Location
    let schema: SchemaObject

    enum CodingKeys: String, CodingKey {
        case name, schema
        case location = "in"
    }
}

private struct SchemaObject: Decodable {
    var type: String
    var minimum: Int?
    var maximum: Int?
    var `default`: Int?
    var `enum`: [String]?
    var minLength: Int?
    var maxLength: Int?
    var pattern: String?

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case type, minimum, maximum, `default`, `enum`, minLength, maxLength, pattern
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            .filter { CodingKeys(stringValue: $0) == nil }
        guard unknown.isEmpty else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "parameter schema keyword(s) \(unknown.sorted()) are not enforced by this server"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        minimum = try container.decodeIfPresent(Int.self, forKey: .minimum)
        maximum = try container.decodeIfPresent(Int.self, forKey: .maximum)
        `default` = try container.decodeIfPresent(Int.self, forKey: .default)
        `enum` = try container.decodeIfPresent([String].self, forKey: .enum)
        minLength = try container.decodeIfPresent(Int.self, forKey: .minLength)
        maxLength = try container.decodeIfPresent(Int.self, forKey: .maxLength)
        pattern = try container.decodeIfPresent(String.self, forKey: .pattern)
    }

    func valueSchema(for name: String) throws(APIDocumentError) -> ValueSchema {
        switch type {
        case "integer":
            let (lower, upper) = (minimum ?? Int.min, maximum ?? Int.max)
            guard lower <= upper else { throw APIDocumentError("openapi.json: parameter \(name) has minimum \(lower) above maximum \(upper)") }
            return .integer(lower...upper, default: `default`)
        case "string":
            var rule = ValueSchema.StringRule()
            guard (minLength ?? 0) <= (maxLength ?? Int.max) else {
                throw APIDocumentError("openapi.json: parameter \(name) has minLength above maxLength")
            }
            rule.lengths = (minLength ?? 0)...(maxLength ?? Int.max)
            rule.allowed = `enum`
            rule.pattern = try pattern.map { source throws(APIDocumentError) in try Pattern(source) }
            return .string(rule)
        default:
            throw APIDocumentError("openapi.json: parameter \(name) has type \(type); this server checks integer and string parameters")
        }
    }
}
