import ETLCore
import FixtureSource
import Foundation
import Testing
@testable import Transformation

/// A generated raw file with known counts: mostly valid users, some invalid records, some broken lines.
struct GeneratedRun {
    var lines: [String] = []
    var valid = 0
    var invalid = 0

    init(count: Int, seed: UInt64 = 7) {
        var random = SplitMix64(seed: seed)
        let departments = standardDepartments.codes.keys.sorted()
        for index in 0..<count {
            let department = departments[index % departments.count]
            switch Int.random(in: 0..<10, using: &random) {
            case 0:
                lines.append(userLine(id: "\(index)", age: "\(Int.random(in: 66...99, using: &random))"))
                invalid += 1
            case 1:
                lines.append(["", "[\(index)]", "{\"id\":\(index),", "null", "   "].randomElement(using: &random)!)
                invalid += 1
            case 2:
                lines.append(userLine(id: "\(index)", email: #""broken@""#, company: #"{"department":"Mystery"}"#))
                invalid += 1
            default:
                lines.append(userLine(
                    id: "\(index)", firstName: jsonQuoted("Ünïcode \(index)"),
                    age: "\(Int.random(in: 18...65, using: &random))",
                    company: #"{"department":"\#(department)","name":"Co \#(index)"}"#))
                valid += 1
            }
        }
    }
}

@Suite("Run transformer")
struct RunTransformerTests {
    let transformer = RunTransformer(validator: standardValidator)

    @Test func transformsAGeneratedRunAndIsIdempotent() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_030000")!)
        let run = GeneratedRun(count: 3000)
        try writeLines(run.lines, to: files.raw)

        let result = try transformer.transform(files)
        #expect(result == TransformResult(validCount: run.valid, invalidCount: run.invalid, lineCount: 3000, alreadyTransformed: false))
        #expect(run.valid > 2000 && run.invalid > 500)

        let processed = try readLines(files.processed)
        let deadLetter = try readLines(files.deadLetter)
        #expect(processed.count == run.valid)
        #expect(deadLetter.count == run.invalid)
        #expect(listDirectory(files.processed.deletingLastPathComponent()) == ["etl_20261122_030000.jsonl"])
        #expect(listDirectory(files.deadLetter.deletingLastPathComponent()) == ["invalid_users_20261122_030000.jsonl"])
        // Valid lines are the raw lines in order, enriched.
        let validRaw = run.lines.filter { standardTransformer.verdict(for: $0).codes.isEmpty }
        #expect(processed == validRaw.map { String($0.dropLast()) + #","department_code":"\#(standardDepartments.code(for: department(of: $0))!)"}"# })
        for line in deadLetter {
            let object = try foundationObject(line)
            #expect((object["error_codes"] as? [String])?.isEmpty == false)
            #expect(object["error_reason"] is String)
        }

        // Re-running only counts; the files are not rewritten.
        let before = try FileManager.default.attributesOfItem(atPath: files.processed.path)[.modificationDate] as? Date
        let processedBytes = try Data(contentsOf: files.processed)
        Thread.sleep(forTimeInterval: 0.01)
        let again = try transformer.transform(files)
        #expect(again == TransformResult(validCount: run.valid, invalidCount: run.invalid, lineCount: 3000, alreadyTransformed: true))
        #expect(try Data(contentsOf: files.processed) == processedBytes)
        #expect(try FileManager.default.attributesOfItem(atPath: files.processed.path)[.modificationDate] as? Date == before)
    }

    @Test func aMissingRawFileIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_030000")!)
        #expect(throws: RunTransformerError.rawFileMissing(runID: files.runID, path: files.raw.path)) {
            try transformer.transform(files)
        }
        #expect(RunTransformerError.rawFileMissing(runID: files.runID, path: "/d/raw.jsonl").description
            == "run 20261122_030000: raw file /d/raw.jsonl does not exist; nothing to transform")
        #expect(!FileManager.default.fileExists(atPath: files.processed.path))
    }

    @Test func leftoversOfACrashedAttemptAreOverwritten() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_030000")!)
        try writeLines([userLine(), "[]"], to: files.raw)
        // A crash after the DLQ was renamed but before the processed file was: the dead
        // writer's temporary file stays, under its own name, and is never appended to.
        let stale = files.processed.path + ".tmp-999999-dead"
        try writeLines(["stale tmp"], to: URL(fileURLWithPath: stale))
        try writeLines(["stale dlq 1", "stale dlq 2", "stale dlq 3"], to: files.deadLetter)

        let result = try transformer.transform(files)
        #expect(result == TransformResult(validCount: 1, invalidCount: 1, lineCount: 2, alreadyTransformed: false))
        #expect(try readLines(files.deadLetter).count == 1)
        #expect(try readLines(files.processed).count == 1)
        #expect(listDirectory(files.processed.deletingLastPathComponent()) == ["etl_20261122_030000.jsonl", "etl_20261122_030000.jsonl.tmp-999999-dead"])
        // What the service does at start: a dead writer's temporary file goes.
        let removed = AtomicLineFile.removeStaleTemporaries(in: files.processed.deletingLastPathComponent().path, quietSeconds: 0)
        #expect(removed == [stale])
        #expect(listDirectory(files.processed.deletingLastPathComponent()) == ["etl_20261122_030000.jsonl"])
    }

    /// The weakness the chaos work fixed: with the fixed name `<final>.tmp`, two writers of
    /// the same run (two replicas after a claim of a slow consumer) truncated and interleaved
    /// each other's temporary file. Unique temporary names give each its own file.
    @Test func twoWritersOfTheSameRunNeverMixTheirFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_030000")!)
        let run = GeneratedRun(count: 3000)
        try writeLines(run.lines, to: files.raw)
        let transformer = self.transformer
        let results = try await withThrowingTaskGroup(of: TransformResult.self) { group in
            for _ in 0..<4 { group.addTask { try transformer.transform(files) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 4)
        #expect(try readLines(files.processed).count == run.valid)
        #expect(try readLines(files.deadLetter).count == run.invalid)
        #expect(listDirectory(files.processed.deletingLastPathComponent()) == ["etl_20261122_030000.jsonl"])
        #expect(listDirectory(files.deadLetter.deletingLastPathComponent()) == ["invalid_users_20261122_030000.jsonl"])
    }

    @Test func temporaryNamesAreUniqueAndCarryTheWriterPID() throws {
        let a = AtomicLineFile.uniqueTemporaryPath(for: "/d/etl_1.jsonl")
        let b = AtomicLineFile.uniqueTemporaryPath(for: "/d/etl_1.jsonl")
        #expect(a != b)
        #expect(a.hasPrefix("/d/etl_1.jsonl.tmp-\(getpid())-"))
        #expect(AtomicLineFile.writerPID(ofTemporaryNamed: (a as NSString).lastPathComponent) == getpid())
        #expect(AtomicLineFile.writerPID(ofTemporaryNamed: "etl_1.jsonl") == nil)
        #expect(AtomicLineFile.writerPID(ofTemporaryNamed: "records_1.jsonl.tmp") == nil)
    }

    @Test func aLiveWritersTemporaryFileIsKept() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let mine = try AtomicLineFile(finalPath: directory.url.appendingPathComponent("etl_x.jsonl").path)
        try mine.writer.writeLine("x")
        #expect(AtomicLineFile.removeStaleTemporaries(in: directory.url.path, quietSeconds: 0).isEmpty)
        try mine.commit()
        #expect(listDirectory(directory.url) == ["etl_x.jsonl"])
    }

    @Test func anEmptyRawFileGivesEmptyOutputs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_030000")!)
        try writeLines([], to: files.raw)
        #expect(try transformer.transform(files) == TransformResult(validCount: 0, invalidCount: 0, lineCount: 0, alreadyTransformed: false))
        #expect(RunTransformer.isTransformed(files))
    }

    @Test func aFinalLineWithoutNewlineAndCRLFLinesCount() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = RunFiles(dataDirectory: directory.url, runID: RunID("20261122_030000")!)
        try FileManager.default.createDirectory(at: files.raw.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((userLine() + "\r\n\r\n" + userLine(id: "2")).utf8).write(to: files.raw)
        let result = try transformer.transform(files)
        #expect(result == TransformResult(validCount: 2, invalidCount: 1, lineCount: 3, alreadyTransformed: false))
        #expect(try readLines(files.processed).allSatisfy { !$0.contains("\r") })
    }

    private func department(of line: String) -> String {
        (try? JSONParser.parse(line))?["company"]?["department"]?.stringValue ?? ""
    }
}
