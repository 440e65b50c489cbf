public import Contracts
public import ETLCore
public import Foundation
import Yams

/// The kinds of source a connector can be.
public enum ConnectorType: String, Sendable, Codable, CaseIterable {
    case apiRest = "api_rest"
    case simpleCSV = "simple_csv"
    case localFile = "local_file"
    case postgresql
}

/// A connector as an operator writes it (JSON or YAML):
///
/// ```yaml
/// name: shop-orders
/// type: api_rest
/// config: { endpoint: https://shop.example/orders, pagination: page, records_path: data }
/// contract: { name: orders, fields: [{ name: id, type: integer, required: true }] }
/// schedule: "02:30"
/// ```
///
/// `contract` is `users` (today's rules) or a contract document; absent, every record that
/// parses is valid. `dataset` defaults to `users` for the users contract and to the name
/// (in snake case) otherwise.
public struct ConnectorDefinition: Sendable, Equatable, Codable {
    public enum ContractChoice: Sendable, Equatable, Codable {
        case users
        case declared(Contract)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let name = try? container.decode(String.self) {
                guard name == Contract.usersName else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "the only named contract is \"users\"; declare any other inline")
                }
                self = .users
            } else {
                self = .declared(try container.decode(Contract.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .users: try container.encode(Contract.usersName)
            case .declared(let contract): try container.encode(contract)
            }
        }
    }

    public var name: String
    public var type: ConnectorType
    public var clientID: String
    public var config: [String: ConfigValue]
    public var contract: ContractChoice?
    public var dataset: String
    /// `HH:MM`, UTC: one run a day at that time.
    public var schedule: String?

    public init(name: String, type: ConnectorType, clientID: String = "default", config: [String: ConfigValue],
                contract: ContractChoice? = nil, dataset: String? = nil, schedule: String? = nil) {
        self.name = name
        self.type = type
        self.clientID = clientID
        self.config = config
        self.contract = contract
        self.dataset = dataset ?? Self.defaultDataset(name: name, contract: contract)
        self.schedule = schedule
    }

    enum CodingKeys: String, CodingKey {
        case name, type, clientID = "client_id", config, contract, dataset, schedule
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            type: try container.decode(ConnectorType.self, forKey: .type),
            clientID: try container.decodeIfPresent(String.self, forKey: .clientID) ?? "default",
            config: try container.decodeIfPresent([String: ConfigValue].self, forKey: .config) ?? [:],
            contract: try container.decodeIfPresent(ContractChoice.self, forKey: .contract),
            dataset: try container.decodeIfPresent(String.self, forKey: .dataset),
            schedule: try container.decodeIfPresent(String.self, forKey: .schedule))
    }

    static func defaultDataset(name: String, contract: ContractChoice?) -> String {
        if contract == .users { return RunManifest.usersDataset }
        return ContractField.snakeCase(name)
    }

    /// The contract runs are checked against (nil: accept every record that parses);
    /// `ageRange` is the users contract's (`AGE_MIN`…`AGE_MAX` of the stage that checks).
    public func resolvedContract(ageRange: ClosedRange<Double>) -> Contract? {
        switch contract {
        case .users: .users(ageRange: ageRange)
        case .declared(let contract): contract
        case nil: nil
        }
    }

    /// Reads a definition from JSON or YAML text; `source` names it in errors (a file name).
    public static func parse(_ text: String, source: String) throws(ConnectorError) -> ConnectorDefinition {
        do {
            let trimmed = text.drop(while: \.isWhitespace)
            if trimmed.hasPrefix("{") {
                return try JSONDecoder().decode(ConnectorDefinition.self, from: Data(text.utf8))
            }
            return try YAMLDecoder().decode(ConnectorDefinition.self, from: text)
        } catch {
            throw ConnectorError(.configuration, connector: "?", object: source, Self.explain(error))
        }
    }

    /// A decoding error as a field path and what was wrong with it.
    static func explain(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the document" : keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent == "the document" ? "" : parent + ".")\(key.stringValue) is required"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(path(context)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        default:
            return "not valid JSON or YAML: \(error)"
        }
    }

    /// Every problem of the definition outside its config (which its type's schema checks).
    public func problems() -> [String] {
        var problems: [String] = []
        if !Self.isValidName(name) {
            problems.append("name must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (got \"\(name)\")")
        }
        if clientID.isEmpty || clientID.count > 64 { problems.append("client_id must be 1 to 64 characters") }
        if let problem = RunManifest.datasetProblem(dataset) { problems.append("dataset: \(problem)") }
        if dataset == RunManifest.usersDataset, contract != .users {
            problems.append("dataset users holds records of the users contract only: set contract: users, or another dataset")
        }
        if case .declared(let declared)? = contract {
            if declared.name == Contract.usersName { problems.append("contract: the name users is the built-in users contract; write contract: users, or name yours otherwise") }
            problems += declared.problems().map { "contract: \($0)" }
        }
        if let schedule, DailySchedule(schedule) == nil { problems.append("schedule must be HH:MM (UTC, 00:00 to 23:59), got \"\(schedule)\"") }
        return problems
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count <= 64 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}
