public import Connectors
import Foundation

/// One connector type: the fields its config takes and how a source is built from them.
public struct ConnectorKind: Sendable {
    public let schema: ConfigSchema
    public let make: @Sendable (ConnectorConfig, SourceContext) throws(ConnectorError) -> any RecordSource

    public init(schema: ConfigSchema, make: @escaping @Sendable (ConnectorConfig, SourceContext) throws(ConnectorError) -> any RecordSource) {
        self.schema = schema
        self.make = make
    }
}

/// The connector types a process knows: the product's four (`ConnectorCatalog.product`), or
/// others in tests. Every definition is validated here before it is stored or run.
public struct ConnectorCatalog: Sendable {
    public let kinds: [ConnectorType: ConnectorKind]

    public init(kinds: [ConnectorType: ConnectorKind]) {
        self.kinds = kinds
    }

    public func kind(of type: ConnectorType) throws(ConnectorError) -> ConnectorKind {
        guard let kind = kinds[type] else {
            throw ConnectorError(.configuration, connector: "?", object: "type", "connector type \(type.rawValue) is not available in this build")
        }
        return kind
    }

    /// The definition checked whole: its name, dataset, contract and schedule, and its config
    /// against its type's fields. One error names every problem.
    public func validate(_ definition: ConnectorDefinition) throws(ConnectorError) -> ValidatedConnector {
        var problems = definition.problems()
        var config: ConnectorConfig?
        do {
            config = try kind(of: definition.type).schema.validate(definition.config, connector: definition.name)
        } catch {
            problems.append("config: \(error.message)")
        }
        guard problems.isEmpty, let config else {
            throw ConnectorError(.configuration, connector: definition.name, problems.joined(separator: "; "))
        }
        return ValidatedConnector(definition: definition, config: config)
    }

    /// A source for the connector, its secrets resolved now.
    public func source(for connector: ValidatedConnector, context: SourceContext) throws(ConnectorError) -> any RecordSource {
        try kind(of: connector.definition.type).make(connector.config, context)
    }

    /// The config as it may be shown: secrets masked (`SecretReference.masked`).
    public func maskedConfig(_ definition: ConnectorDefinition) -> [String: ConfigValue] {
        guard let schema = kinds[definition.type]?.schema else { return [:] }
        return SecretReference.masked(definition.config, schema: schema)
    }
}
