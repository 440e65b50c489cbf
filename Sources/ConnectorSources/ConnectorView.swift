public import Connectors
import ETLCore
public import Foundation
public import PipelineSchema

/// A connector as `etlctl` prints it and the api serves it: its registry row with the config's
/// secrets masked, its contract, and when its schedule runs it next. Never a resolved secret.
public struct ConnectorView: Sendable, Codable, Equatable {
    public let id: Int64
    public let clientID: String
    public let name: String
    public let type: String
    public let status: String
    public let statusReason: String?
    public let lastRunAt: String?
    public let lastRunID: String?
    public let nextRunAt: String?
    public let dataset: String
    public let schedule: String?
    public let config: [String: ConfigValue]
    public let contract: ConnectorDefinition.ContractChoice?
    public let createdAt: String
    public let updatedAt: String

    enum CodingKeys: String, CodingKey {
        case id, clientID = "client_id", name, type, status, statusReason = "status_reason", lastRunAt = "last_run_at"
        case lastRunID = "last_run_id", nextRunAt = "next_run_at", dataset, schedule, config, contract
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    /// Explicit nulls: every member is always present, as the OpenAPI document says.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(clientID, forKey: .clientID)
        try container.encode(name, forKey: .name)
        try container.encode(type, forKey: .type)
        try container.encode(status, forKey: .status)
        try container.encode(statusReason, forKey: .statusReason)
        try container.encode(lastRunAt, forKey: .lastRunAt)
        try container.encode(lastRunID, forKey: .lastRunID)
        try container.encode(nextRunAt, forKey: .nextRunAt)
        try container.encode(dataset, forKey: .dataset)
        try container.encode(schedule, forKey: .schedule)
        try container.encode(config, forKey: .config)
        try container.encode(contract, forKey: .contract)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension ConnectorCatalog {
    /// `record` as it may be shown; `now` places its next scheduled run.
    public func view(of record: DataSourceRecord, now: Date) -> ConnectorView {
        let definition = try? ConnectorRegistry.definition(of: record)
        let stored = (try? JSONDecoder().decode([String: ConfigValue].self, from: Data(record.configJSON.utf8))) ?? [:]
        return ConnectorView(
            id: record.id ?? 0, clientID: record.clientID, name: record.name, type: record.type, status: record.status.rawValue,
            statusReason: record.statusReason, lastRunAt: record.lastRunAt, lastRunID: record.lastRunID,
            nextRunAt: record.schedule.flatMap(DailySchedule.init).map { ISO8601.string(from: $0.nextFire(after: now)) },
            dataset: record.dataset, schedule: record.schedule,
            config: definition.map(maskedConfig) ?? stored.mapValues { _ in .string(SecretReference.mask) },
            contract: definition?.contract, createdAt: record.createdAt, updatedAt: record.updatedAt)
    }
}
