import Connectors
import ConnectorSources
import Foundation
import Testing

@Suite struct LocalFileSourceTests {
    /// A folder of every format: `a.jsonl`, `b.json`, `c.csv`, plus a text file and a hidden one.
    private func makeFolder() throws -> String {
        let folder = try makeConnectorTestFolder()
        try write("{\"id\":1}\n\n{\"id\":2}\r\n{broken\n", to: folder + "/a.jsonl")
        try write(" [ {\"id\": 3, \"tags\": [\"x\", \"y\"]},\n  {\"id\":4} ]\n", to: folder + "/b.json")
        try write("id,name\n5,Eve\n", to: folder + "/c.csv")
        try write("not records", to: folder + "/notes.txt")
        try write("{\"id\":99}\n", to: folder + "/.hidden.jsonl")
        return folder
    }

    @Test func readsEachFormatInNameOrder() async throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try makeLocalSource(["path": .string(folder), "glob": .string("*.[jc]s*")], batchSize: 2)
        let sink = CSVCollectingSink()
        let state = try await source.read(after: nil, into: sink)
        #expect(await sink.records == [#"{"id":1}"#, #"{"id":2}"#, "{broken", #"{"id":3,"tags":["x","y"]}"#, #"{"id":4}"#, #"{"id":"5","name":"Eve"}"#])
        #expect(await sink.positions == ["a.jsonl line 1", "a.jsonl line 4", "b.json element 1", "c.csv line 2"])
        let stateJSON = try #require(state?.json)
        let files = try #require(try JSONSerialization.jsonObject(with: Data(stateJSON.utf8)) as? [String: [String: Any]])
        #expect(Set(files.keys) == [folder + "/a.jsonl", folder + "/b.json", folder + "/c.csv"])
        #expect(files[folder + "/c.csv"]?["size"] as? Int == 14)
    }

    @Test func globFiltersNamesAndAnUnknownExtensionNeedsAFormat() async throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let csvOnly = try makeLocalSource(["path": .string(folder), "glob": .string("?.csv")])
        let sink = CSVCollectingSink()
        _ = try await csvOnly.read(after: nil, into: sink)
        #expect(await sink.records == [#"{"id":"5","name":"Eve"}"#])

        let everything = try makeLocalSource(["path": .string(folder)])
        await #expect { try await everything.read(after: nil, into: CSVCollectingSink()) } throws: {
            let error = $0 as? ConnectorError
            return error?.kind == .configuration && error?.object == folder + "/notes.txt"
        }
        let asLines = try makeLocalSource(["path": .string(folder), "glob": .string("notes.*"), "format": .string("jsonl")])
        let lines = CSVCollectingSink()
        _ = try await asLines.read(after: nil, into: lines)
        #expect(await lines.records == ["not records"])
    }

    @Test func discoverListsNamePathSizeModifiedAndASample() async throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let modified = Date(timeIntervalSince1970: 1_764_000_000.25)
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: folder + "/b.json")
        let source = try makeLocalSource(["path": .string(folder), "glob": .string("*.json*")])
        let objects = try await source.discover(sampleSize: 1)
        #expect(objects.map(\.name) == ["a.jsonl", "b.json"])
        let json = try #require(objects.last)
        #expect(json.details == ["name": "b.json", "path": folder + "/b.json", "size": "47", "modified": "2025-11-24T16:00:00.250Z"])
        #expect(json.sample.map { String(decoding: $0, as: UTF8.self) } == [#"{"id":3,"tags":["x","y"]}"#])
        try await source.check()
    }

    @Test func anIncrementalReadTakesOnlyNewAndChangedFiles() async throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try makeLocalSource(["path": .string(folder), "glob": .string("*.*s*")])
        let first = try await source.read(after: nil, into: CSVCollectingSink())

        try write("id,name\n5,Eve\n6,Finn\n", to: folder + "/c.csv")
        try write("{\"id\":7}\n", to: folder + "/d.jsonl")
        try FileManager.default.removeItem(atPath: folder + "/a.jsonl")
        let sink = CSVCollectingSink()
        let second = try await source.read(after: first, into: sink)
        #expect(await sink.records == [#"{"id":"5","name":"Eve"}"#, #"{"id":"6","name":"Finn"}"#, #"{"id":7}"#])
        let secondJSON = try #require(second?.json)
        let files = try #require(try JSONSerialization.jsonObject(with: Data(secondJSON.utf8)) as? [String: Any])
        #expect(Set(files.keys) == [folder + "/b.json", folder + "/c.csv", folder + "/d.jsonl"])

        let third = CSVCollectingSink()
        #expect(try await source.read(after: second, into: third) == second)
        #expect(await third.records.isEmpty)
    }

    @Test func aFileThatVanishesDuringTheReadIsAFetchErrorNamingIt() async throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try makeLocalSource(["path": .string(folder), "glob": .string("*.*s*")])
        let sink = CSVCollectingSink { try? FileManager.default.removeItem(atPath: folder + "/c.csv") }
        await #expect { try await source.read(after: nil, into: sink) } throws: {
            let error = $0 as? ConnectorError
            return error?.kind == .fetch && error?.object == folder + "/c.csv" && error?.message.contains("gone") == true
        }
    }

    @Test func aTruncatedJSONArrayFailsWithTheByteOffset() async throws {
        let folder = try makeConnectorTestFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try write("[{\"id\":1},{\"id\":2", to: folder + "/cut.json")
        let source = try makeLocalSource(["path": .string(folder)])
        let sink = CSVCollectingSink()
        await #expect { try await source.read(after: nil, into: sink) } throws: {
            let error = $0 as? ConnectorError
            return error?.kind == .fetch && error?.object == folder + "/cut.json" && error?.position == "byte 17"
        }
        #expect(await sink.records.isEmpty)
    }

    @Test func csvOptionsApplyToCSVFiles() async throws {
        let folder = try makeConnectorTestFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data([0x69, 0x64, 0x3B, 0x6E, 0x0A, 0x31, 0x3B, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: folder + "/x.csv"))
        let source = try makeLocalSource(["path": .string(folder), "delimiter": .string(";"), "encoding": .string("latin-1"),
                                          "column_types": .object(["id": .string("integer")])])
        let sink = CSVCollectingSink()
        _ = try await source.read(after: nil, into: sink)
        #expect(await sink.records == [#"{"id":1,"n":"é"}"#])
    }

    @Test func aMissingFolderIsNotFound() async throws {
        let source = try makeLocalSource(["path": .string("/nonexistent/exports")])
        await #expect { try await source.discover(sampleSize: 1) } throws: {
            let error = $0 as? ConnectorError
            return error?.kind == .notFound && error?.object == "/nonexistent/exports"
        }
    }

    private func makeLocalSource(_ config: [String: ConfigValue], batchSize: Int = 1000) throws -> LocalFileSource {
        let validated = try LocalFileSource.schema.validate(config, connector: "drop")
        return try LocalFileSource(config: validated, context: csvTestContext(batchSize: batchSize))
    }

    private func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}
