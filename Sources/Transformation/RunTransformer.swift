public import ETLCore
import Foundation

public enum RunTransformerError: Error, Equatable, CustomStringConvertible, ClassifiedFailure {
    case rawFileMissing(runID: RunID, path: String)

    /// The raw file may still appear (written by the extractor under its final name).
    public var failureReason: FailureReason { FailureReason(.transient, "input_missing") }

    public var description: String {
        switch self {
        case .rawFileMissing(let runID, let path):
            "run \(runID): raw file \(path) does not exist; nothing to transform"
        }
    }
}

/// What transforming a run produced.
public struct TransformResult: Sendable, Equatable {
    public var validCount: Int
    public var invalidCount: Int
    /// Lines read from the raw file (`validCount + invalidCount`).
    public var lineCount: Int
    /// True when the outputs already existed and were only counted (a re-delivered run).
    public var alreadyTransformed: Bool

    public init(validCount: Int, invalidCount: Int, lineCount: Int, alreadyTransformed: Bool) {
        self.validCount = validCount
        self.invalidCount = invalidCount
        self.lineCount = lineCount
        self.alreadyTransformed = alreadyTransformed
    }
}

/// Transforms one run's raw file into its processed and DLQ files.
///
/// - Streams line by line (`LineReader`): memory stays flat whatever the file size.
/// - Both outputs are written under temporary names unique to this writer
///   (`<final>.tmp-<pid>-<random>`, see `AtomicLineFile`), synced, then renamed: the DLQ first, the
///   processed file last, so "the processed file exists" means the run is completely done.
/// - Idempotent: when both outputs already exist they are only counted, so a re-delivered
///   announcement never rewrites or duplicates anything. A DLQ without its processed file
///   (a crash between the two renames) is simply replaced; temporary files of a crashed
///   writer are never reused (the service removes them at start). Two replicas transforming
///   the same run concurrently each write their own temporary files and rename complete,
///   identical files over each other: never a mix, never a line twice.
public struct RunTransformer: Sendable {
    public let lineTransformer: LineTransformer

    public init(lineTransformer: LineTransformer) {
        self.lineTransformer = lineTransformer
    }

    public init(validator: RecordValidator) {
        self.init(lineTransformer: LineTransformer(validator: validator))
    }

    /// Whether both outputs of the run are in place.
    public static func isTransformed(_ files: RunFiles) -> Bool {
        FileManager.default.fileExists(atPath: files.processed.path) && FileManager.default.fileExists(atPath: files.deadLetter.path)
    }

    public func transform(_ files: RunFiles) throws -> TransformResult {
        if Self.isTransformed(files) {
            let valid = try LineReader.countLines(path: files.processed.path)
            let invalid = try LineReader.countLines(path: files.deadLetter.path)
            return TransformResult(validCount: valid, invalidCount: invalid, lineCount: valid + invalid, alreadyTransformed: true)
        }
        guard FileManager.default.fileExists(atPath: files.raw.path) else {
            throw RunTransformerError.rawFileMissing(runID: files.runID, path: files.raw.path)
        }
        let reader = try LineReader(path: files.raw.path)
        try FileManager.default.createDirectory(at: files.processed.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: files.deadLetter.deletingLastPathComponent(), withIntermediateDirectories: true)
        let processed = try AtomicLineFile(finalPath: files.processed.path)
        let deadLetter: AtomicLineFile
        do {
            deadLetter = try AtomicLineFile(finalPath: files.deadLetter.path)
        } catch {
            processed.discard()
            throw error
        }
        do {
            var valid = 0
            var invalid = 0
            var output: [UInt8] = []
            output.reserveCapacity(4096)
            try reader.forEachLine { line in
                switch lineTransformer.transform(line: line, into: &output) {
                case .valid:
                    try processed.writer.writeLine(output)
                    valid += 1
                case .invalid:
                    try deadLetter.writer.writeLine(output)
                    invalid += 1
                }
            }
            try deadLetter.commit()
            try processed.commit()
            return TransformResult(validCount: valid, invalidCount: invalid, lineCount: valid + invalid, alreadyTransformed: false)
        } catch {
            processed.discard()
            deadLetter.discard()
            throw error
        }
    }
}
