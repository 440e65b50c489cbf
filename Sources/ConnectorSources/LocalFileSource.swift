public import Connectors
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `local_file`: the files of one folder whose names match a glob, each read as JSON Lines,
/// a JSON array or CSV. Incremental: the state lists the files taken with their size and
/// modification time, and a run takes only the files that are new or have changed since.
public struct LocalFileSource: RecordSource {
    public static let schema = ConfigSchema(fields: [
        .required("path", .string, "the folder holding the files"),
        .optional("glob", .string, default: .string("*"),
                  "which file names in the folder to read: shell-style *, ? and [...]; not recursive; names starting with a dot only when the glob does"),
        .optional("format", .choice(Format.names), default: .string("auto"),
                  "auto (by extension: .jsonl and .ndjson → jsonl, .json → json, .csv → csv), jsonl, json (one array) or csv"),
    ] + CSVOptions.fields, rules: { config in CSVOptions.problems(in: config) })

    /// How a file's records are written (`format: auto` is a nil format: by extension).
    enum Format: String, Sendable {
        case jsonl, json, csv

        static let names = ["auto", "jsonl", "json", "csv"]

        /// What `auto` makes of a file name; nil for an extension it does not know.
        static func detected(forName name: String) -> Format? {
            switch (name as NSString).pathExtension.lowercased() {
            case "jsonl", "ndjson": .jsonl
            case "json": .json
            case "csv": .csv
            default: nil
            }
        }
    }

    /// One matching file as listed.
    struct ListedFile: Sendable {
        let name: String
        let path: String
        let fingerprint: Fingerprint
    }

    /// What tells a changed file from the one taken before.
    struct Fingerprint: Sendable, Codable, Equatable {
        let size: Int
        /// ISO-8601 UTC with milliseconds.
        let modified: String
    }

    private let connector: String
    private let folder: String
    private let glob: String
    /// nil: by each file's extension.
    private let format: Format?
    private let csvOptions: CSVOptions
    private let batchSize: Int

    public init(config: ConnectorConfig, context: SourceContext) throws(ConnectorError) {
        connector = config.connector
        guard let folder = config.string("path") else { throw .configuration(connector: connector, field: "path", "is required") }
        self.folder = folder
        glob = config.string("glob") ?? "*"
        format = Format(rawValue: config.string("format") ?? "auto")
        csvOptions = CSVOptions(config: config)
        batchSize = context.batchSize
    }

    /// The folder is there and readable, and so is the header of each matching file
    /// (its first record for JSON and JSON Lines).
    public func check() async throws {
        for file in try listFiles() {
            try Task.checkCancellation()
            _ = try batches(of: file).nextBatch(upTo: 1)
        }
    }

    public func discover(sampleSize: Int) async throws -> [DiscoveredObject] {
        var objects: [DiscoveredObject] = []
        for file in try listFiles() {
            try Task.checkCancellation()
            let sample = try batches(of: file).nextBatch(upTo: sampleSize)?.records ?? []
            let details = ["name": file.name, "path": file.path, "size": String(file.fingerprint.size), "modified": file.fingerprint.modified]
            objects.append(DiscoveredObject(name: file.name, details: details, sample: sample))
        }
        return objects
    }

    /// The files new or changed since `state`, in name order; the state returned lists every
    /// matching file now there (a file gone from the folder is dropped from it).
    public func read(after state: IncrementalState?, into sink: any RecordSink) async throws -> IncrementalState? {
        let taken = try takenFiles(in: state)
        let files = try listFiles()
        for file in files where taken[file.path] != file.fingerprint {
            try await batches(of: file).write(to: sink, batchSize: batchSize)
        }
        return Self.state(of: files)
    }

    // MARK: Listing

    /// The matching regular files, by name; `not_found` when the folder is not there.
    private func listFiles() throws(ConnectorError) -> [ListedFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
                throw ConnectorError(.notFound, connector: connector, object: folder, "no such folder")
            }
            let reason = isDirectory.boolValue ? "cannot list the folder: \(error.localizedDescription)" : "is a file, not a folder"
            throw ConnectorError(.fetch, connector: connector, object: folder, reason)
        }
        let folderURL = URL(fileURLWithPath: folder, isDirectory: true)
        return names.filter(matchesGlob).sorted().compactMap { name in
            let url = folderURL.appendingPathComponent(name)
            // A file that vanished since the listing is simply not listed.
            guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]),
                values.isRegularFile == true
            else { return nil }
            let modified = values.contentModificationDate.map(Self.timestamp) ?? ""
            return ListedFile(name: name, path: url.path, fingerprint: Fingerprint(size: values.fileSize ?? 0, modified: modified))
        }
    }

    /// Shell-style matching of the whole name; a leading dot must be matched explicitly
    /// (as a shell does), which also keeps editors' and writers' hidden temporaries out.
    private func matchesGlob(_ name: String) -> Bool {
        fnmatch(glob, name, FNM_PERIOD) == 0
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    // MARK: State

    private func takenFiles(in state: IncrementalState?) throws(ConnectorError) -> [String: Fingerprint] {
        guard let state else { return [:] }
        do {
            return try JSONDecoder().decode([String: Fingerprint].self, from: Data(state.json.utf8))
        } catch {
            throw ConnectorError(.fetch, connector: connector, object: "state",
                                 "the saved state is not a list of files with size and modified (\(error)); reset the connector's state to read every file again")
        }
    }

    private static func state(of files: [ListedFile]) -> IncrementalState {
        let taken = Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0.fingerprint) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers always encode.
        return IncrementalState(json: String(decoding: try! encoder.encode(taken), as: UTF8.self))
    }

    // MARK: Reading

    /// A reader of `file`'s records in its format.
    private func batches(of file: ListedFile) throws(ConnectorError) -> any RecordBatches {
        switch try format(of: file) {
        case .jsonl:
            guard let handle = FileHandle(forReadingAtPath: file.path) else { throw cannotOpen(file) }
            return JSONLinesBatches(file: handle, name: file.name, object: file.path, connector: connector)
        case .json:
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: file.path), options: .alwaysMapped) else { throw cannotOpen(file) }
            return JSONArrayBatches(data: data, name: file.name, object: file.path, connector: connector)
        case .csv:
            do throws(ConnectorError) {
                return try CSVRecordReader(path: file.path, object: file.path, name: file.name, options: csvOptions, connector: connector)
            } catch where error.kind == .notFound {
                throw cannotOpen(file)
            }
        }
    }

    private func format(of file: ListedFile) throws(ConnectorError) -> Format {
        if let format { return format }
        guard let detected = Format.detected(forName: file.name) else {
            throw ConnectorError(.configuration, connector: connector, object: file.path,
                                 "cannot tell the format from the extension (.jsonl, .ndjson, .json or .csv): set format, or narrow glob")
        }
        return detected
    }

    private func cannotOpen(_ file: ListedFile) -> ConnectorError {
        let reason = FileManager.default.fileExists(atPath: file.path)
            ? "cannot be opened for reading (check its permissions)"
            : "the file was listed but is gone (deleted or renamed while the connector ran)"
        return ConnectorError(.fetch, connector: connector, object: file.path, reason)
    }
}
