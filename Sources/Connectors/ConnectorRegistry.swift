public import Contracts
public import ETLCore
public import Foundation
public import GRDB
public import PipelineSchema

/// A definition whose config its type's schema accepted (defaults applied): the only thing
/// the registry stores. `ConnectorCatalog.validate` makes one.
public struct ValidatedConnector: Sendable, Equatable {
    public let definition: ConnectorDefinition
    public let config: ConnectorConfig

    public init(definition: ConnectorDefinition, config: ConnectorConfig) {
        self.definition = definition
        self.config = config
    }
}

public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case nameTaken(String)
    case running(String)

    public var description: String {
        switch self {
        case .notFound(let name): "no connector named or numbered \"\(name)\" (etlctl connectors list shows them)"
        case .nameTaken(let name): "a connector named \"\(name)\" exists already: update it, or choose another name"
        case .running(let name): "connector \"\(name)\" is processing a run; wait until its status is idle or error"
        }
    }
}

/// The `data_sources` table: connectors registered by `etlctl` (or the api's admin routes),
/// and the status the stages give them as their runs go.
public struct ConnectorRegistry: Sendable {
    public let database: any DatabaseWriter
    public let clock: any PipelineClock

    public init(database: any DatabaseWriter, clock: any PipelineClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    private var now: String { ISO8601.string(from: clock.now()) }

    public func create(_ connector: ValidatedConnector) async throws -> DataSourceRecord {
        let definition = connector.definition
        let record = DataSourceRecord(
            clientID: definition.clientID, name: definition.name, type: definition.type.rawValue,
            configJSON: ConfigValue.jsonText(definition.config), createdAt: now, updatedAt: now,
            contractJSON: Self.contractJSON(definition.contract), dataset: definition.dataset, schedule: definition.schedule)
        return try await database.write { db in
            guard try Self.find(definition.name, in: db) == nil else { throw RegistryError.nameTaken(definition.name) }
            var inserted = record
            try inserted.insert(db)
            return inserted
        }
    }

    /// Replaces the definition of the connector named `name` (its status, state and history stay).
    public func update(_ name: String, to connector: ValidatedConnector) async throws -> DataSourceRecord {
        let definition = connector.definition
        let timestamp = now
        return try await database.write { db in
            guard var record = try Self.find(name, in: db) else { throw RegistryError.notFound(name) }
            if definition.name != record.name, try Self.find(definition.name, in: db) != nil {
                throw RegistryError.nameTaken(definition.name)
            }
            if definition.type.rawValue != record.type { record.stateJSON = nil }  // another source: start over
            record.name = definition.name
            record.clientID = definition.clientID
            record.type = definition.type.rawValue
            record.configJSON = ConfigValue.jsonText(definition.config)
            record.contractJSON = Self.contractJSON(definition.contract)
            record.dataset = definition.dataset
            record.schedule = definition.schedule
            record.updatedAt = timestamp
            try record.update(db)
            return record
        }
    }

    public func delete(_ name: String) async throws {
        try await database.write { db in
            guard let record = try Self.find(name, in: db) else { throw RegistryError.notFound(name) }
            guard record.status != .processing else { throw RegistryError.running(record.name) }
            _ = try record.delete(db)
        }
    }

    public func connector(_ nameOrID: String) async throws -> DataSourceRecord {
        try await database.read { db in
            guard let record = try Self.find(nameOrID, in: db) else { throw RegistryError.notFound(nameOrID) }
            return record
        }
    }

    public func connector(id: Int64) async throws -> DataSourceRecord? {
        try await database.read { db in try DataSourceRecord.fetchOne(db, key: id) }
    }

    /// A page of connectors by id, and how many there are.
    public func list(skip: Int = 0, limit: Int = 1000) async throws -> (connectors: [DataSourceRecord], total: Int) {
        try await database.read { db in
            let rows = try DataSourceRecord.order(DataSourceRecord.Columns.id).limit(limit, offset: skip).fetchAll(db)
            return (rows, try DataSourceRecord.fetchCount(db))
        }
    }

    // MARK: Status, as runs go

    public func markProcessing(_ id: Int64, runID: RunID) async throws {
        try await set(id) {
            [DataSourceRecord.Columns.status.set(to: DataSourceRecord.Status.processing.rawValue),
             DataSourceRecord.Columns.statusReason.set(to: nil),
             DataSourceRecord.Columns.lastRunID.set(to: runID.timestamp)]
        }
    }

    public func markFailed(_ id: Int64, reason: String) async throws {
        try await set(id) {
            [DataSourceRecord.Columns.status.set(to: DataSourceRecord.Status.error.rawValue),
             DataSourceRecord.Columns.statusReason.set(to: String(reason.prefix(2000)))]
        }
    }

    /// The run `runID` completed: the connector is idle again, with `last_run_at` set. A
    /// run that is not the connector's latest (a late completion) changes nothing.
    public func markSucceeded(_ id: Int64, runID: RunID, at finished: String) async throws {
        try await database.write { db in
            try DataSourceRecord.filter(key: id).filter(DataSourceRecord.Columns.lastRunID == runID.timestamp).updateAll(db, [
                DataSourceRecord.Columns.status.set(to: DataSourceRecord.Status.idle.rawValue),
                DataSourceRecord.Columns.statusReason.set(to: nil),
                DataSourceRecord.Columns.lastRunAt.set(to: finished),
            ])
        }
    }

    /// The incremental state the next run starts from: saved only once a run's output is durable.
    public func saveState(_ id: Int64, _ state: IncrementalState?) async throws {
        try await set(id) { [DataSourceRecord.Columns.stateJSON.set(to: state?.json)] }
    }

    /// Column assignments are not Sendable: they are made inside the write.
    private func set(_ id: Int64, _ assignments: @escaping @Sendable () -> [ColumnAssignment]) async throws {
        let timestamp = now
        try await database.write { db in
            _ = try DataSourceRecord.filter(key: id).updateAll(db, assignments() + [DataSourceRecord.Columns.updatedAt.set(to: timestamp)])
        }
    }

    // MARK: Reading definitions back

    /// The definition a stored row holds.
    public static func definition(of record: DataSourceRecord) throws -> ConnectorDefinition {
        guard let type = ConnectorType(rawValue: record.type) else {
            throw ConnectorError(.configuration, connector: record.name, object: "type", "unknown connector type \(record.type)")
        }
        let config = try JSONDecoder().decode([String: ConfigValue].self, from: Data(record.configJSON.utf8))
        let contract = try record.contractJSON.map { text -> ConnectorDefinition.ContractChoice in
            text == "\"\(Contract.usersName)\"" ? .users : .declared(try Contract.decode(json: text))
        }
        return ConnectorDefinition(name: record.name, type: type, clientID: record.clientID, config: config,
                                   contract: contract, dataset: record.dataset, schedule: record.schedule)
    }

    static func contractJSON(_ choice: ConnectorDefinition.ContractChoice?) -> String? {
        switch choice {
        case .users: "\"\(Contract.usersName)\""
        case .declared(let contract): contract.jsonText
        case nil: nil
        }
    }

    static func find(_ nameOrID: String, in db: Database) throws -> DataSourceRecord? {
        if let byName = try DataSourceRecord.filter(DataSourceRecord.Columns.name == nameOrID).fetchOne(db) { return byName }
        guard let id = Int64(nameOrID) else { return nil }
        return try DataSourceRecord.fetchOne(db, key: id)
    }
}
