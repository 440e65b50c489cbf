/// One field a connector type reads from its `config`.
public struct ConfigField: Sendable {
    public enum Kind: Sendable, Equatable {
        case string
        case integer(ClosedRange<Int>)
        case boolean
        case choice([String])
        case strings
        case stringMap
    }

    public let name: String
    public let kind: Kind
    public let isRequired: Bool
    /// A secret is never printed, logged or served; it may be given as `${ENV_VAR}` or as a
    /// file through the sibling field `<name>_file`.
    public let isSecret: Bool
    public let defaultValue: ConfigValue?
    /// What the field means, for `etlctl connectors types` and error messages.
    public let help: String

    public static func required(_ name: String, _ kind: Kind, secret: Bool = false, _ help: String) -> ConfigField {
        ConfigField(name: name, kind: kind, isRequired: true, isSecret: secret, defaultValue: nil, help: help)
    }

    public static func optional(_ name: String, _ kind: Kind, default value: ConfigValue? = nil, secret: Bool = false, _ help: String) -> ConfigField {
        ConfigField(name: name, kind: kind, isRequired: false, isSecret: secret, defaultValue: value, help: help)
    }

    /// The problem with `value` for this field, nil when it fits.
    func problem(with value: ConfigValue) -> String? {
        switch (kind, value) {
        case (.string, .string(let text)):
            return text.isEmpty ? "must not be empty" : nil
        case (.integer(let range), .integer(let number)):
            return range.contains(number) ? nil : "must be between \(range.lowerBound) and \(range.upperBound), got \(number)"
        case (.boolean, .boolean):
            return nil
        case (.choice(let choices), .string(let text)):
            return choices.contains(text) ? nil : "must be one of \(choices.joined(separator: ", ")), got \"\(text)\""
        case (.strings, .array(let items)):
            return items.allSatisfy { $0.stringValue != nil } ? nil : "must be an array of strings"
        case (.stringMap, .object(let members)):
            return members.values.allSatisfy { $0.stringValue != nil } ? nil : "must be an object whose values are strings"
        case (.choice(let choices), _):
            return "must be one of \(choices.joined(separator: ", ")), got \(value.typeName)"
        default:
            return "must be \(expected), got \(value.typeName)"
        }
    }

    private var expected: String {
        switch kind {
        case .string: "a string"
        case .integer: "an integer"
        case .boolean: "a boolean (true or false)"
        case .choice: "a string"
        case .strings: "an array of strings"
        case .stringMap: "an object of strings"
        }
    }
}

/// The fields of one connector type and the rules between them (`auth_type: bearer` needs an
/// `api_key`). Validation names every bad field at once.
public struct ConfigSchema: Sendable {
    public let fields: [ConfigField]
    /// Rules that span fields, given the config with defaults applied; each returns
    /// `(field, problem)` pairs.
    public let rules: @Sendable (ConnectorConfig) -> [(field: String, problem: String)]

    public init(fields: [ConfigField], rules: @escaping @Sendable (ConnectorConfig) -> [(field: String, problem: String)] = { _ in [] }) {
        self.fields = fields
        self.rules = rules
    }

    public func field(named name: String) -> ConfigField? { fields.first { $0.name == name } }

    /// The config with defaults applied, or a configuration error naming every bad field.
    /// Secrets are checked for shape here and resolved only when a source is built.
    public func validate(_ values: [String: ConfigValue], connector: String) throws(ConnectorError) -> ConnectorConfig {
        var problems: [(field: String, problem: String)] = []
        var checked: [String: ConfigValue] = [:]
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            if let secretName = SecretReference.secretField(ofFileField: name), field(named: secretName)?.isSecret == true {
                if value.stringValue?.isEmpty ?? true { problems.append((name, "must be the path of a file holding \(secretName)")) }
                if values[secretName] != nil { problems.append((name, "give \(secretName) or \(name), not both")) }
                checked[name] = value
                continue
            }
            guard let field = field(named: name) else {
                problems.append((name, "is not a field of this connector type (known: \(fields.map(\.name).joined(separator: ", ")))"))
                continue
            }
            if case .null = value, !field.isRequired { continue }
            if let problem = field.problem(with: value) { problems.append((name, problem)) } else { checked[name] = value }
        }
        for field in fields where checked[field.name] == nil && values[field.name] == nil {
            if field.isSecret, values[field.name + SecretReference.fileSuffix] != nil { continue }
            if field.isRequired { problems.append((field.name, "is required: \(field.help)")) }
            else if let value = field.defaultValue { checked[field.name] = value }
        }
        let config = ConnectorConfig(connector: connector, values: checked)
        if problems.isEmpty { problems = rules(config) }
        guard problems.isEmpty else {
            let list = problems.map { "\($0.field) \($0.problem)" }.joined(separator: "; ")
            throw ConnectorError(.configuration, connector: connector, object: "config", list)
        }
        return config
    }
}

/// A validated connector config: the fields its type declares, defaults applied. Reading a
/// declared field as its declared kind never fails.
public struct ConnectorConfig: Sendable, Equatable {
    public let connector: String
    public let values: [String: ConfigValue]

    public init(connector: String, values: [String: ConfigValue]) {
        self.connector = connector
        self.values = values
    }

    public func string(_ name: String) -> String? { values[name]?.stringValue }

    public func integer(_ name: String) -> Int? {
        if case .integer(let value)? = values[name] { return value }
        return nil
    }

    public func boolean(_ name: String) -> Bool? {
        if case .boolean(let value)? = values[name] { return value }
        return nil
    }

    public func strings(_ name: String) -> [String]? {
        guard case .array(let items)? = values[name] else { return nil }
        return items.compactMap(\.stringValue)
    }

    public func stringMap(_ name: String) -> [String: String]? {
        guard case .object(let members)? = values[name] else { return nil }
        return members.compactMapValues(\.stringValue)
    }
}
