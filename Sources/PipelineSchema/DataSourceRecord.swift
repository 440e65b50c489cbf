public import GRDB

/// One `data_sources` row: a registered connector. `etlctl` and the api's admin routes write
/// it; the extractor moves `status` to `processing` and `error` and saves `state_json` once a
/// run's output is durable; the saver sets `last_run_at` when a run of it completes.
public struct DataSourceRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "data_sources"

    public enum Status: String, Codable, Sendable, CaseIterable {
        case idle, processing, error
    }

    public var id: Int64?
    public var clientID: String
    public var name: String
    public var type: String
    /// The type's config as given (secret references, never resolved secrets), sorted-key JSON.
    public var configJSON: String
    /// The last successful run's end (ISO-8601 UTC).
    public var lastRunAt: String?
    public var status: Status
    public var createdAt: String
    public var updatedAt: String
    /// The contract the connector's records must meet, as JSON; nil accepts every record that parses.
    public var contractJSON: String?
    /// Where its records land: `users` (today's tables) or a table derived from the contract.
    public var dataset: String
    /// Daily run time `HH:MM` (UTC); nil: runs only on demand.
    public var schedule: String?
    /// The incremental state of the last durable run (`IncrementalState.json`).
    public var stateJSON: String?
    /// Why `status` is `error`.
    public var statusReason: String?
    /// The run that set `status` (the last one started).
    public var lastRunID: String?

    public init(
        id: Int64? = nil, clientID: String, name: String, type: String, configJSON: String, lastRunAt: String? = nil,
        status: Status = .idle, createdAt: String, updatedAt: String, contractJSON: String?, dataset: String,
        schedule: String?, stateJSON: String? = nil, statusReason: String? = nil, lastRunID: String? = nil
    ) {
        self.id = id
        self.clientID = clientID
        self.name = name
        self.type = type
        self.configJSON = configJSON
        self.lastRunAt = lastRunAt
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.contractJSON = contractJSON
        self.dataset = dataset
        self.schedule = schedule
        self.stateJSON = stateJSON
        self.statusReason = statusReason
        self.lastRunID = lastRunID
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, clientID = "client_id", name, type, configJSON = "config_json", lastRunAt = "last_run_at", status
        case createdAt = "created_at", updatedAt = "updated_at", contractJSON = "contract_json", dataset, schedule
        case stateJSON = "state_json", statusReason = "status_reason", lastRunID = "last_run_id"
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let name = Column(CodingKeys.name)
        public static let status = Column(CodingKeys.status)
        public static let lastRunAt = Column(CodingKeys.lastRunAt)
        public static let statusReason = Column(CodingKeys.statusReason)
        public static let stateJSON = Column(CodingKeys.stateJSON)
        public static let lastRunID = Column(CodingKeys.lastRunID)
        public static let updatedAt = Column(CodingKeys.updatedAt)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
