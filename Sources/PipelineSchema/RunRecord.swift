import ETLCore
import Foundation
import GRDB

/// One `etl_runs` row: what the saver reads back and what the API serves. Encoded with every
/// field present (null when unknown), so clients see a stable shape.
public struct RunRecord: Codable, Sendable, Equatable {
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
    public var uploadedFiles: [String]
    public var uploadAttempts: Int
    public var nextUploadAt: String?
    public var error: String?
    public var createdAt: String?
    public var updatedAt: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, runTimestamp = "run_timestamp", status
        case rawFile = "raw_file", processedFile = "processed_file", dlqFile = "dlq_file"
        case extractedCount = "extracted_count", validCount = "valid_count", invalidCount = "invalid_count"
        case extractStartedAt = "extract_started_at", extractFinishedAt = "extract_finished_at"
        case transformStartedAt = "transform_started_at", transformFinishedAt = "transform_finished_at"
        case loadStartedAt = "load_started_at", loadFinishedAt = "load_finished_at"
        case uploadFinishedAt = "upload_finished_at", uploadedFiles = "uploaded_files", uploadAttempts = "upload_attempts"
        case nextUploadAt = "next_upload_at", error, createdAt = "created_at", updatedAt = "updated_at"
    }

    public init(row: Row) {
        id = row["id"]
        runTimestamp = row["run_timestamp"] ?? ""
        status = row["status"] ?? ""
        rawFile = row["raw_file"]
        processedFile = row["processed_file"]
        dlqFile = row["dlq_file"]
        extractedCount = row["extracted_count"]
        validCount = row["valid_count"]
        invalidCount = row["invalid_count"]
        extractStartedAt = row["extract_started_at"]
        extractFinishedAt = row["extract_finished_at"]
        transformStartedAt = row["transform_started_at"]
        transformFinishedAt = row["transform_finished_at"]
        loadStartedAt = row["load_started_at"]
        loadFinishedAt = row["load_finished_at"]
        uploadFinishedAt = row["upload_finished_at"]
        uploadedFiles = (row["uploaded_files"] as String?)
            .flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        uploadAttempts = row["upload_attempts"] ?? 0
        nextUploadAt = row["next_upload_at"]
        error = row["error"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
    }

    /// Explicit nulls (the synthesized encoder would drop nil members).
    public func encode(to encoder: Encoder) throws {
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
        try container.encode(uploadedFiles, forKey: .uploadedFiles)
        try container.encode(uploadAttempts, forKey: .uploadAttempts)
        try container.encode(nextUploadAt, forKey: .nextUploadAt)
        try container.encode(error, forKey: .error)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
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
        return event
    }
}
