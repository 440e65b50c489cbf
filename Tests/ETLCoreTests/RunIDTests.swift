import ETLCore
import Foundation
import Testing
import TestSupport

@Suite struct RunIDTests {
    /// Clocks are rarely on the second: two runs asked for within one second, at any fractions
    /// of it, and runs asked for with the clock going back, each get an id of their own, later
    /// than every id issued before, with nothing of the runs left on disk to tell them apart.
    @Test("issued ids are unique and increasing whatever the fractions of a second",
          arguments: [(0.2, 0.6), (0.0, 0.999), (0.5, 0.5), (0.9, 0.1), (0.7, -3.2)])
    func issuedIdsAreUniqueAndIncreasing(first: Double, second: Double) throws {
        let directory = try TestEnvironment.temporaryDirectory("run-id")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        var issued: [RunID] = []
        for offset in [first, second, second + 0.3, second + 1.0] {
            issued.append(try RunFiles.issueRunID(at: base.addingTimeInterval(offset), dataDirectory: directory))
        }
        #expect(Set(issued).count == issued.count, "\(issued)")
        #expect(issued == issued.sorted(), "\(issued)")
        #expect(issued[0] == RunID(date: base.addingTimeInterval(first)))
    }

    @Test("an id whose raw file exists is skipped, as is the one after it")
    func existingFilesAreSkipped() throws {
        let directory = try TestEnvironment.temporaryDirectory("run-id")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = Date(timeIntervalSince1970: 1_800_000_000.4)
        try RunFiles.createDirectories(under: directory)
        for id in [RunID(date: base), RunID(date: base.addingTimeInterval(1))] {
            try Data().write(to: RunFiles(dataDirectory: directory, runID: id).raw)
        }
        #expect(try RunFiles.issueRunID(at: base, dataDirectory: directory) == RunID(date: base.addingTimeInterval(2)))
    }
}
