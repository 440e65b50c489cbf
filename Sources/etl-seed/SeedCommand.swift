import ArgumentParser
import ETLCore
import FixtureSource
import Foundation
import Loading

/// `etl-seed`: fills a database with generated runs, as the pipeline would have left them,
/// for API benchmarks, demos and the conformance check. Each run's users come from
/// `FixtureUsers`; its raw, processed and dead-letter files are written to a temporary
/// directory, shaped like the transformer's, then loaded with the saver's own `RunLoader`
/// and recorded in `etl_runs` as completed.
@main
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etl-seed", abstract: "Fills a pipeline database with generated, completed runs.")

    @Option(help: "SQLite database to fill (created and migrated if missing).")
    var database: String

    @Option(help: "Number of runs.")
    var runs = 100

    @Option(help: "Users per run (valid and invalid together).")
    var usersPerRun = 1000

    @Option(help: "Share of invalid users, 0 to 1.")
    var invalidRate = 0.1

    @Option(help: "Seed of the generated users (run n uses seed + n).")
    var seed: UInt64 = 42

    @Option(help: "UTC time of the first run (ISO-8601); runs follow one a day.")
    var start = "2026-01-01T03:00:00Z"

    func validate() throws {
        guard runs >= 0, usersPerRun >= 0 else { throw ValidationError("--runs and --users-per-run must be ≥ 0") }
        guard invalidRate.isFinite, (0...1).contains(invalidRate) else { throw ValidationError("--invalid-rate must be in 0…1") }
        guard startDate != nil else { throw ValidationError("--start must be an ISO-8601 UTC time, e.g. 2026-01-01T03:00:00Z") }
    }

    private var startDate: Date? { try? Date(start, strategy: .iso8601) }

    func run() async throws {
        let database = try await PipelineDatabase.open(path: database)
        let loader = RunLoader(database: database)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("etl-seed-\(UUID().uuidString)")
        try RunFiles.createDirectories(under: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let began = ContinuousClock.now
        for index in 0..<runs {
            let runID = RunID(date: startDate!.addingTimeInterval(Double(index) * 86_400))
            let files = RunFiles(dataDirectory: scratch, runID: runID)
            let users = FixtureUsers(count: usersPerRun, invalidRate: invalidRate, seed: seed &+ UInt64(index))
            let counts = try SeedFiles.write(users, to: files)
            try await record(runID: runID, files: files, counts: counts, loader: loader, database: database)
            for file in [files.raw, files.processed, files.deadLetter] { try? FileManager.default.removeItem(at: file) }
        }
        let elapsed = ContinuousClock.now - began
        print("etl-seed: \(runs) runs × \(usersPerRun) users into \(database.path) in \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
    }

    /// Loads the three files and records the run as the stages would have, phase by phase.
    private func record(runID: RunID, files: RunFiles, counts: SeedFiles.Counts, loader: RunLoader, database: PipelineDatabase) async throws {
        let started = ISO8601.string(from: runID.date)
        let loadStarted = ISO8601.string(from: Date())
        _ = try await loader.load(files.raw, into: .raw, runID: runID)
        _ = try await loader.load(files.processed, into: .processed, runID: runID)
        _ = try await loader.load(files.deadLetter, into: .invalid, runID: runID)
        var event = RunEvent(runID: runID, status: .completed)
        event.attempt = 1
        event.rawFile = files.raw.lastPathComponent
        event.processedFile = files.processed.lastPathComponent
        event.dlqFile = files.deadLetter.lastPathComponent
        event.extractedCount = counts.valid + counts.invalid
        event.validCount = counts.valid
        event.invalidCount = counts.invalid
        event.extractStartedAt = started
        event.extractFinishedAt = ISO8601.string(from: runID.date.addingTimeInterval(20))
        event.transformStartedAt = ISO8601.string(from: runID.date.addingTimeInterval(21))
        event.transformFinishedAt = ISO8601.string(from: runID.date.addingTimeInterval(23))
        event.loadStartedAt = loadStarted
        event.loadFinishedAt = ISO8601.string(from: Date())
        event.uploadedFiles = [files.raw, files.processed, files.deadLetter].map { "upload/" + $0.lastPathComponent }
        try await database.recordEvent(event)
    }
}
