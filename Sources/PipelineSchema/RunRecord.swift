public import ETLCore
import Foundation
public import GRDB

/// One `etl_runs` row, every column of it: the ledger the saver keeps and the API serves
/// (the served subset is `ServedFields.etlRuns`). Its `CodingKeys` are the table's columns,
/// in the table's order; `SchemaTests` checks them against the migrated table.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "etl_runs"

    public var id: String
    public var runTimestamp: String
    public var status: String
    public var rawFile: String?
    public var processedFile: String?
    public var dlqFile: String?
    public var extractedCount: Int?
    public var validCount: Int?
    public var invalidCount: Int?
    public var extractStartedAt: String?
    public var extractFinishedAt: String?
    public var transformStartedAt: String?
    public var transformFinishedAt: String?
    public var loadStartedAt: String?
    public var loadFinishedAt: String?
    public var uploadFinishedAt: String?
    /// Stored as a JSON array text; `[]` when the column holds anything else.
    public var uploadedFiles: [String]
    public var uploadAttempts: Int
    /// The extraction attempt the ledger follows (`RunEvent.attempt`).
    public var attempt: Int?
    public var nextUploadAt: String?
    public var error: String?
    public var createdAt: String?
    public var updatedAt: String?
    /// `RunEvent.duplicateIDs`.
    public var duplicateCount: Int?
    /// `FailureKind` raw value.
    public var failureKind: String?
    public var failureCode: String?
    /// `RunFiles.outputFingerprint` of the transform output that was loaded.
    public var loadedFingerprint: String?
    public var retryRequest: String?
    /// The connector (`data_sources.id`) the run came from; nil for the built-in users source.
    public var sourceID: Int64?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, runTimestamp = "run_timestamp", status
        case rawFile = "raw_file", processedFile = "processed_file", dlqFile = "dlq_file"
        case extractedCount = "extracted_count", validCount = "valid_count", invalidCount = "invalid_count"
        case extractStartedAt = "extract_started_at", extractFinishedAt = "extract_finished_at"
        case transformStartedAt = "transform_started_at", transformFinishedAt = "transform_finished_at"
        case loadStartedAt = "load_started_at", loadFinishedAt = "load_finished_at"
        case uploadFinishedAt = "upload_finished_at", uploadedFiles = "uploaded_files", uploadAttempts = "upload_attempts"
        case attempt, nextUploadAt = "next_upload_at", error, createdAt = "created_at", updatedAt = "updated_at"
        // Added by migrations v2 and v3 (ALTER TABLE appends, so they come last).
        case duplicateCount = "duplicate_count"
        case failureKind = "failure_kind", failureCode = "failure_code"
        case loadedFingerprint = "loaded_fingerprint", retryRequest = "retry_request"
        // Added by migration v4.
        case sourceID = "source_id"
    }

    /// The columns, for SQL and the query interface (GRDB's record guide).
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let runTimestamp = Column(CodingKeys.runTimestamp)
        public static let status = Column(CodingKeys.status)
        public static let rawFile = Column(CodingKeys.rawFile)
        public static let processedFile = Column(CodingKeys.processedFile)
        public static let dlqFile = Column(CodingKeys.dlqFile)
        public static let extractedCount = Column(CodingKeys.extractedCount)
        public static let validCount = Column(CodingKeys.validCount)
        public static let invalidCount = Column(CodingKeys.invalidCount)
        public static let extractStartedAt = Column(CodingKeys.extractStartedAt)
        public static let extractFinishedAt = Column(CodingKeys.extractFinishedAt)
        public static let transformStartedAt = Column(CodingKeys.transformStartedAt)
        public static let transformFinishedAt = Column(CodingKeys.transformFinishedAt)
        public static let loadStartedAt = Column(CodingKeys.loadStartedAt)
        public static let loadFinishedAt = Column(CodingKeys.loadFinishedAt)
        public static let uploadFinishedAt = Column(CodingKeys.uploadFinishedAt)
        public static let uploadedFiles = Column(CodingKeys.uploadedFiles)
        public static let uploadAttempts = Column(CodingKeys.uploadAttempts)
        public static let attempt = Column(CodingKeys.attempt)
        public static let nextUploadAt = Column(CodingKeys.nextUploadAt)
        public static let error = Column(CodingKeys.error)
        public static let createdAt = Column(CodingKeys.createdAt)
        public static let updatedAt = Column(CodingKeys.updatedAt)
        public static let duplicateCount = Column(CodingKeys.duplicateCount)
        public static let failureKind = Column(CodingKeys.failureKind)
        public static let failureCode = Column(CodingKeys.failureCode)
        public static let loadedFingerprint = Column(CodingKeys.loadedFingerprint)
        public static let retryRequest = Column(CodingKeys.retryRequest)
        public static let sourceID = Column(CodingKeys.sourceID)
    }

    /// Lenient on purpose: a row written by an older saver (or by hand) still reads, with
    /// `uploaded_files` as `[]` unless it is a JSON array of strings.
    public init(row: Row) {
        id = row[Columns.id]
        runTimestamp = row[Columns.runTimestamp] ?? ""
        status = row[Columns.status] ?? ""
        rawFile = row[Columns.rawFile]
        processedFile = row[Columns.processedFile]
        dlqFile = row[Columns.dlqFile]
        extractedCount = row[Columns.extractedCount]
        validCount = row[Columns.validCount]
        invalidCount = row[Columns.invalidCount]
        extractStartedAt = row[Columns.extractStartedAt]
        extractFinishedAt = row[Columns.extractFinishedAt]
        transformStartedAt = row[Columns.transformStartedAt]
        transformFinishedAt = row[Columns.transformFinishedAt]
        loadStartedAt = row[Columns.loadStartedAt]
        loadFinishedAt = row[Columns.loadFinishedAt]
        uploadFinishedAt = row[Columns.uploadFinishedAt]
        uploadedFiles = Self.decodeStringArray(row[Columns.uploadedFiles])
        uploadAttempts = row[Columns.uploadAttempts] ?? 0
        attempt = row[Columns.attempt]
        nextUploadAt = row[Columns.nextUploadAt]
        error = row[Columns.error]
        createdAt = row[Columns.createdAt]
        updatedAt = row[Columns.updatedAt]
        duplicateCount = row[Columns.duplicateCount]
        failureKind = row[Columns.failureKind]
        failureCode = row[Columns.failureCode]
        loadedFingerprint = row[Columns.loadedFingerprint]
        retryRequest = row[Columns.retryRequest]
        sourceID = row[Columns.sourceID]
    }

    /// Explicit nulls (the synthesized encoder would drop nil members), and `uploaded_files`
    /// as the same JSON text the ledger writes (`encodeStringArray`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(runTimestamp, forKey: .runTimestamp)
        try container.encode(status, forKey: .status)
        try container.encode(rawFile, forKey: .rawFile)
        try container.encode(processedFile, forKey: .processedFile)
        try container.encode(dlqFile, forKey: .dlqFile)
        try container.encode(extractedCount, forKey: .extractedCount)
        try container.encode(validCount, forKey: .validCount)
        try container.encode(invalidCount, forKey: .invalidCount)
        try container.encode(extractStartedAt, forKey: .extractStartedAt)
        try container.encode(extractFinishedAt, forKey: .extractFinishedAt)
        try container.encode(transformStartedAt, forKey: .transformStartedAt)
        try container.encode(transformFinishedAt, forKey: .transformFinishedAt)
        try container.encode(loadStartedAt, forKey: .loadStartedAt)
        try container.encode(loadFinishedAt, forKey: .loadFinishedAt)
        try container.encode(uploadFinishedAt, forKey: .uploadFinishedAt)
        try container.encode(Self.encodeStringArray(uploadedFiles), forKey: .uploadedFiles)
        try container.encode(uploadAttempts, forKey: .uploadAttempts)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(nextUploadAt, forKey: .nextUploadAt)
        try container.encode(error, forKey: .error)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(duplicateCount, forKey: .duplicateCount)
        try container.encode(failureKind, forKey: .failureKind)
        try container.encode(failureCode, forKey: .failureCode)
        try container.encode(loadedFingerprint, forKey: .loadedFingerprint)
        try container.encode(retryRequest, forKey: .retryRequest)
        try container.encode(sourceID, forKey: .sourceID)
    }

    public var runStatus: RunStatus? { RunStatus(rawValue: status) }

    /// The row as a run event (what the saver announces on `phase3_complete`).
    public var event: RunEvent? {
        guard let runID = RunID(id), let status = runStatus else { return nil }
        var event = RunEvent(runID: runID, status: status)
        event.rawFile = rawFile
        event.processedFile = processedFile
        event.dlqFile = dlqFile
        event.extractedCount = extractedCount
        event.validCount = validCount
        event.invalidCount = invalidCount
        event.extractStartedAt = extractStartedAt
        event.extractFinishedAt = extractFinishedAt
        event.transformStartedAt = transformStartedAt
        event.transformFinishedAt = transformFinishedAt
        event.loadStartedAt = loadStartedAt
        event.loadFinishedAt = loadFinishedAt
        event.uploadedFiles = uploadedFiles.isEmpty ? nil : uploadedFiles
        event.error = error
        event.sourceID = sourceID
        return event
    }

    /// The ledger columns an event carries, with its values (nil: the event does not say).
    /// The other direction of `event`; `id`, `run_timestamp`, `status` and the times of the
    /// row itself are the ledger's own (`PipelineDatabase.upsert`).
    public static func eventColumns(_ event: RunEvent) -> [(column: Column, value: (any DatabaseValueConvertible)?)] {
        [
            (Columns.attempt, event.attempt),
            (Columns.rawFile, event.rawFile), (Columns.processedFile, event.processedFile), (Columns.dlqFile, event.dlqFile),
            (Columns.extractedCount, event.extractedCount), (Columns.duplicateCount, event.duplicateIDs),
            (Columns.validCount, event.validCount), (Columns.invalidCount, event.invalidCount),
            (Columns.extractStartedAt, event.extractStartedAt), (Columns.extractFinishedAt, event.extractFinishedAt),
            (Columns.transformStartedAt, event.transformStartedAt), (Columns.transformFinishedAt, event.transformFinishedAt),
            (Columns.loadStartedAt, event.loadStartedAt), (Columns.loadFinishedAt, event.loadFinishedAt),
            (Columns.uploadedFiles, event.uploadedFiles.map(encodeStringArray)), (Columns.error, event.error),
            (Columns.failureKind, event.failureKind?.rawValue), (Columns.failureCode, event.failureCode),
            (Columns.retryRequest, event.retryRequest), (Columns.sourceID, event.sourceID),
        ]
    }

    /// A string list as stored in a JSON-array column (`uploaded_files`, `error_codes`):
    /// compact, slashes unescaped (file paths stay readable in the database).
    public static func encodeStringArray(_ strings: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: strings, options: [.withoutEscapingSlashes])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeStringArray(_ text: String?) -> [String] {
        text.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
    }
}
