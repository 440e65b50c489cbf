import Foundation

/// Why an event was refused. A refused event is logged and acknowledged, never processed.
public enum EventRejection: Error, Equatable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    case unsigned
    case badSignature
    case malformed(String)
    case fieldTooLong(field: String, bytes: Int, limit: Int)
    case invalidField(field: String, reason: String)
    /// No file of the run exists: the event names a run that never happened.
    case phantomRun(RunID)
    /// The ledger says the run is finished (or failed for good); a message cannot change that.
    case contradictsLedger(runID: RunID, ledger: String, incoming: String)

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit): "payload of \(bytes) bytes is over the \(limit)-byte limit"
        case .unsigned: "no signature (events must carry an HMAC-SHA256 made with EVENT_HMAC_KEY)"
        case .badSignature: "the signature does not match (a forged event, or a stage with another EVENT_HMAC_KEY)"
        case .malformed(let reason): "not a run event: \(reason)"
        case .fieldTooLong(let field, let bytes, let limit): "field \(field) has \(bytes) bytes, over its \(limit)-byte limit"
        case .invalidField(let field, let reason): "field \(field) is invalid: \(reason)"
        case .phantomRun(let runID): "run \(runID) has no file on disk (raw, temporary raw, processed or DLQ): a phantom run"
        case .contradictsLedger(let runID, let ledger, let incoming):
            "run \(runID) is \(ledger) in etl_runs; an event cannot make it \(incoming)"
        }
    }
}

extension RunEvent {
    /// Bounds of what an event may carry; a real event is far below each.
    public enum Limits {
        public static let payloadBytes = 16 * 1024
        public static let errorBytes = 4096
        public static let pathBytes = 1024
        public static let shortFieldBytes = 64
        public static let maxCount = 10_000_000_000
        public static let maxAttempt = 1_000_000
        public static let maxUploadedFiles = 3
    }

    /// Checks every field against its bound and format. File fields may only name the run's
    /// own files (the name derived from the run id, in any directory, without `..`): the
    /// stages derive every path from the run id and never open a path read from an event.
    public func validate() throws {
        let derived = [
            ("raw_file", rawFile, "records_\(runID).jsonl"),
            ("processed_file", processedFile, "etl_\(runID).jsonl"),
            ("dlq_file", dlqFile, "invalid_users_\(runID).jsonl"),
        ]
        for (field, value, name) in derived {
            guard let value else { continue }
            try Self.bound(field, value, Limits.pathBytes)
            let components = value.split(separator: "/", omittingEmptySubsequences: false)
            guard components.last.map(String.init) == name, !components.contains("..") else {
                throw EventRejection.invalidField(field: field, reason: "must name the run's own file \(name)")
            }
        }
        try Self.bound("error", error, Limits.errorBytes)
        for (field, value) in [
            ("extract_started_at", extractStartedAt), ("extract_finished_at", extractFinishedAt),
            ("transform_started_at", transformStartedAt), ("transform_finished_at", transformFinishedAt),
            ("load_started_at", loadStartedAt), ("load_finished_at", loadFinishedAt),
        ] {
            guard let value else { continue }
            try Self.bound(field, value, Limits.shortFieldBytes)
            guard value.utf8.allSatisfy({ Self.isTimestampByte($0) }) else {
                throw EventRejection.invalidField(field: field, reason: "not an ISO-8601 timestamp")
            }
        }
        for (field, value) in [("failure_code", failureCode), ("retry_request", retryRequest)] {
            guard let value else { continue }
            try Self.bound(field, value, Limits.shortFieldBytes)
            guard !value.isEmpty, value.utf8.allSatisfy({ Self.isTokenByte($0) }) else {
                throw EventRejection.invalidField(field: field, reason: "only letters, digits and _ . : - are allowed")
            }
        }
        for (field, value) in [("extracted_count", extractedCount), ("valid_count", validCount), ("invalid_count", invalidCount)] {
            guard let value else { continue }
            guard (0...Limits.maxCount).contains(value) else {
                throw EventRejection.invalidField(field: field, reason: "\(value) is out of range")
            }
        }
        if let attempt, !(1...Limits.maxAttempt).contains(attempt) {
            throw EventRejection.invalidField(field: "attempt", reason: "\(attempt) is out of range")
        }
        if let uploadedFiles {
            guard uploadedFiles.count <= Limits.maxUploadedFiles else {
                throw EventRejection.invalidField(field: "uploaded_files", reason: "more than \(Limits.maxUploadedFiles) files")
            }
            for name in uploadedFiles { try Self.bound("uploaded_files", name, Limits.pathBytes) }
        }
    }

    private static func bound(_ field: String, _ value: String?, _ limit: Int) throws {
        guard let value else { return }
        let bytes = value.utf8.count
        guard bytes <= limit else { throw EventRejection.fieldTooLong(field: field, bytes: bytes, limit: limit) }
        // Control characters (NUL, newlines, escapes) have no place in any field.
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
            throw EventRejection.invalidField(field: field, reason: "contains control characters")
        }
    }

    private static func isTimestampByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || byte == UInt8(ascii: "T") || byte == UInt8(ascii: "Z") || byte == UInt8(ascii: ":")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
    }
}

extension RunFiles {
    /// Whether any file of the run exists: the raw file, the extractor's temporary raw file
    /// (a run that failed during extraction), the processed or the DLQ file. An event for a
    /// run with none of them describes a run that never happened.
    public var anyExists: Bool {
        [raw.path, raw.path + ".tmp", processed.path, deadLetter.path].contains { FileManager.default.fileExists(atPath: $0) }
    }

    /// Identifies one transform output of the run by the sizes of its three files: the
    /// transformation is deterministic, so two transformations of the same raw file give the
    /// same fingerprint, and a re-transformation that changed the output gives another one.
    /// Nil while the processed or DLQ file is missing.
    public func outputFingerprint() -> String? {
        func size(_ url: URL) -> Int64? {
            ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.int64Value
        }
        guard let processed = size(processed), let dlq = size(deadLetter) else { return nil }
        return "r\(size(raw) ?? -1)-p\(processed)-d\(dlq)"
    }
}
