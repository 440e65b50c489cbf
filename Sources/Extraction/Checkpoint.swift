public import ETLCore
public import Foundation

/// What survives a crash of the extractor: which run is in progress, how many users are
/// durably in its temporary raw file, and how many bytes that is. A resumed run cuts the
/// file back to `bytes` (dropping a page written after the last checkpoint) and asks the
/// source for `skip = fetched`, so no user is missing or repeated.
public struct ExtractionCheckpoint: Codable, Equatable, Sendable {
    public var runID: RunID
    public var fetched: Int
    public var bytes: Int64
    public var total: Int?
    public var attempt: Int
    public var startedAt: String
    public var lastError: String?

    public init(runID: RunID, fetched: Int, bytes: Int64, total: Int?, attempt: Int, startedAt: String, lastError: String? = nil) {
        self.runID = runID
        self.fetched = fetched
        self.bytes = bytes
        self.total = total
        self.attempt = attempt
        self.startedAt = startedAt
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", fetched, bytes, total, attempt
        case startedAt = "started_at", lastError = "last_error"
    }
}

/// Reads and writes the checkpoint file (`DATA_DIR/state/extractor_checkpoint.json`)
/// atomically: a crash leaves the previous checkpoint or the new one, never half of one.
public struct CheckpointStore: Sendable {
    public let path: String

    public init(dataDirectory: URL) {
        path = RunFiles.stateDirectory(dataDirectory).appendingPathComponent("extractor_checkpoint.json").path
    }

    public func load() throws -> ExtractionCheckpoint? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(ExtractionCheckpoint.self, from: data)
        } catch {
            throw CheckpointError.unreadable(path: path, reason: "\(error)")
        }
    }

    public func save(_ checkpoint: ExtractionCheckpoint) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try writeFileAtomically(try encoder.encode(checkpoint), to: path)
    }

    public func clear() throws {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }
}

public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "checkpoint \(path) is unreadable (\(reason)); inspect it, then delete it to start a fresh run"
        }
    }
}
