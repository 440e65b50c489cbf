public import Foundation

/// A run is named by the UTC second it started, `YYYYMMDD_HHMMSS`; the same `<ts>` names
/// its raw, processed and dead-letter files, and is its `id` in `etl_runs`.
public struct RunID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let timestamp: String

    public init(date: Date) {
        timestamp = RunID.formatter.string(from: date)
    }

    public init?(_ timestamp: String) {
        guard timestamp.utf8.count == 15, RunID.formatter.date(from: timestamp) != nil else { return nil }
        self.timestamp = timestamp
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = RunID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a run id: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(timestamp)
    }

    public var description: String { timestamp }
    public var date: Date { RunID.formatter.date(from: timestamp)! }
    /// ISO-8601 UTC, e.g. `2026-11-22T03:00:00Z`.
    public var isoTimestamp: String { ISO8601.string(from: date) }

    /// The id of the following second.
    public var next: RunID { RunID(date: date.addingTimeInterval(1)) }

    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.timestamp < rhs.timestamp }

    private static let formatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        formatter.isLenient = false
        return formatter
    }()
}

public enum ISO8601 {
    public static func string(from date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}

/// Where a run's files live under `DATA_DIR`.
public struct RunFiles: Sendable {
    public let dataDirectory: URL
    public let runID: RunID

    public init(dataDirectory: URL, runID: RunID) {
        self.dataDirectory = dataDirectory
        self.runID = runID
    }

    public var raw: URL { Self.rawDirectory(dataDirectory).appendingPathComponent("records_\(runID).jsonl") }
    public var processed: URL { Self.processedDirectory(dataDirectory).appendingPathComponent("etl_\(runID).jsonl") }
    public var deadLetter: URL { Self.deadLetterDirectory(dataDirectory).appendingPathComponent("invalid_users_\(runID).jsonl") }
    /// A connector run's manifest (its connector, dataset and contract), written beside the
    /// raw file before the raw file gets its final name; absent for the built-in users source.
    public var manifest: URL { Self.rawDirectory(dataDirectory).appendingPathComponent("records_\(runID).manifest.json") }

    public static func rawDirectory(_ data: URL) -> URL { data.appendingPathComponent("raw_users") }
    public static func processedDirectory(_ data: URL) -> URL { data.appendingPathComponent("processed_users") }
    public static func deadLetterDirectory(_ data: URL) -> URL { data.appendingPathComponent("dlq") }
    public static func stateDirectory(_ data: URL) -> URL { data.appendingPathComponent("state") }

    /// The run id of a complete raw file name (`records_<ts>.jsonl`), nil for anything else.
    public static func runID(ofRawFileNamed name: String) -> RunID? {
        guard name.hasPrefix("records_"), name.hasSuffix(".jsonl") else { return nil }
        return RunID(String(name.dropFirst("records_".count).dropLast(".jsonl".count)))
    }

    /// A new run's id: the second `date` falls in, or the first later second that no run of
    /// this data directory has had. The last id issued is kept in the state folder, because a
    /// run that failed leaves no file behind: without it, a run started in the same second as
    /// a failed one would take the failed run's id, and its ledger row with it.
    /// Callers hold the extraction lock, so two runs never race for an id.
    public static func issueRunID(at date: Date, dataDirectory: URL) throws -> RunID {
        let marker = lastIssuedRunIDFile(dataDirectory)
        // Compared as ids, whole seconds: `date` is rarely on the second, and 12:00:00.6 is
        // later than the 12:00:00 of an id issued at 12:00:00.2, yet names the same run.
        var runID = RunID(date: date)
        if let text = try? String(contentsOf: marker, encoding: .utf8),
            let last = RunID(text.trimmingCharacters(in: .whitespacesAndNewlines)), last >= runID {
            runID = last.next
        }
        while FileManager.default.fileExists(atPath: RunFiles(dataDirectory: dataDirectory, runID: runID).raw.path)
            || FileManager.default.fileExists(atPath: RunFiles(dataDirectory: dataDirectory, runID: runID).manifest.path) {
            runID = runID.next
        }
        try FileManager.default.createDirectory(at: stateDirectory(dataDirectory), withIntermediateDirectories: true)
        try Data(runID.timestamp.utf8).write(to: marker, options: .atomic)
        return runID
    }

    /// Where `issueRunID` keeps the last run id it issued.
    public static func lastIssuedRunIDFile(_ data: URL) -> URL {
        stateDirectory(data).appendingPathComponent("last_run_id")
    }

    /// Creates every directory a stage writes to.
    public static func createDirectories(under data: URL) throws {
        for directory in [rawDirectory(data), processedDirectory(data), deadLetterDirectory(data), stateDirectory(data)] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
    }
}

/// Lifecycle of a run as recorded in `etl_runs`. Status only moves forward (see `rank`),
/// so late or re-delivered events never roll a finished run back.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case extracting, extracted, transforming, transformed, loading, uploading
    case uploadPending = "upload_pending"
    case completed, failed

    public var rank: Int {
        switch self {
        case .extracting: 0
        case .extracted: 1
        case .transforming: 2
        case .transformed: 3
        case .loading: 4
        case .uploading: 5
        case .uploadPending: 6
        case .completed: 7
        case .failed: 8
        }
    }

    /// A stage at work on the run, reported while it works (the ledger shows it; nothing is
    /// loaded for it).
    public var isProgress: Bool { self == .extracting || self == .transforming }
}

/// The payload announced between stages (JSON on the SPEC's channels and streams). Each
/// stage copies what it received and adds what it learned, so the last one knows everything.
public struct RunEvent: Codable, Sendable, Equatable {
    public var runID: RunID
    public var status: RunStatus
    /// Which extraction attempt of this run the event belongs to: a run that failed and is
    /// resumed later gets a higher attempt, which may move its status on from `failed`.
    public var attempt: Int?
    public var rawFile: String?
    public var processedFile: String?
    public var dlqFile: String?
    public var extractedCount: Int?
    /// Users of the run whose top-level `id` an earlier user of the same run already had
    /// (a source that repeats itself); they are kept, counted and reported, not dropped.
    public var duplicateIDs: Int?
    public var validCount: Int?
    public var invalidCount: Int?
    public var extractStartedAt: String?
    public var extractFinishedAt: String?
    public var transformStartedAt: String?
    public var transformFinishedAt: String?
    public var loadStartedAt: String?
    public var loadFinishedAt: String?
    public var uploadedFiles: [String]?
    public var error: String?
    /// With `failed`: whether the cause can pass (`transient`, retried when it clears) or not.
    public var failureKind: FailureKind?
    /// With `failed`: the stable code of the cause (`disk_full`, `corrupt_input`, ...).
    public var failureCode: String?
    /// Set by an operator retry (`saver --retry`): lets a `failed` run start over even for a
    /// permanent cause, and makes the retry's announcements distinct from earlier ones.
    public var retryRequest: String?
    /// The connector (`data_sources.id`) the run came from; nil for the built-in users source.
    /// Its dataset and contract are in the run's manifest (`RunFiles.manifest`).
    public var sourceID: Int64?

    public init(runID: RunID, status: RunStatus) {
        self.runID = runID
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", status, attempt
        case rawFile = "raw_file", processedFile = "processed_file", dlqFile = "dlq_file"
        case extractedCount = "extracted_count", duplicateIDs = "duplicate_ids", validCount = "valid_count", invalidCount = "invalid_count"
        case extractStartedAt = "extract_started_at", extractFinishedAt = "extract_finished_at"
        case transformStartedAt = "transform_started_at", transformFinishedAt = "transform_finished_at"
        case loadStartedAt = "load_started_at", loadFinishedAt = "load_finished_at"
        case uploadedFiles = "uploaded_files", error
        case failureKind = "failure_kind", failureCode = "failure_code", retryRequest = "retry_request"
        case sourceID = "source_id"
    }

    /// Records `reason` (a `failed` event).
    public mutating func setFailure(_ reason: FailureReason) {
        failureKind = reason.kind
        failureCode = reason.code
    }

    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and ints cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// Decodes and checks an event (`validate`): a payload over `Limits.payloadBytes`, a field
    /// over its bound or a file name that is not the run's own throws `EventRejection`.
    public static func decode(_ json: String) throws -> RunEvent {
        guard json.utf8.count <= Limits.payloadBytes else {
            throw EventRejection.tooLarge(bytes: json.utf8.count, limit: Limits.payloadBytes)
        }
        let event: RunEvent
        do {
            event = try JSONDecoder().decode(RunEvent.self, from: Data(json.utf8))
        } catch {
            throw EventRejection.malformed("\(error)")
        }
        try event.validate()
        return event
    }
}
