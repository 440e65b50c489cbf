public import Connectors
import ETLCore
import Foundation

/// `simple_csv`: one CSV file, local or over HTTP(S), each row a JSON object whose keys are
/// the column names. A remote file is downloaded to a temporary file first, then read like a
/// local one, so memory stays flat whatever its size.
public struct CSVSource: RecordSource {
    public static let schema = ConfigSchema(fields: [
        .required("url", .string, "the CSV file: an http(s) URL, a file:// URL or a file path"),
        .optional("headers", .stringMap, "HTTP request headers for an http(s) url; values may be ${ENV_VAR}"),
    ] + CSVOptions.fields, rules: { config in
        var problems = CSVOptions.problems(in: config)
        guard let url = config.string("url") else { return problems }
        switch Location(url) {
        case nil:
            problems.append(("url", "must be an http(s) URL, a file:// URL or a file path, got \"\(url)\""))
        case .file?:
            if config.stringMap("headers") != nil { problems.append(("headers", "apply to an http(s) url only")) }
        case .http?:
            break
        }
        return problems
    })

    /// Where the file is.
    enum Location: Sendable, Equatable {
        case file(path: String)
        case http(url: String)

        init?(_ text: String) {
            let lower = text.lowercased()
            if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
                self = .http(url: text)
            } else if lower.hasPrefix("file://") {
                guard let path = URL(string: text)?.path, !path.isEmpty else { return nil }
                self = .file(path: path)
            } else if text.contains("://") {
                return nil
            } else {
                self = .file(path: text)
            }
        }
    }

    private let connector: String
    private let location: Location
    private let options: CSVOptions
    private let batchSize: Int
    /// nil for a local file.
    private let download: CSVDownload?

    public init(config: ConnectorConfig, context: SourceContext) throws(ConnectorError) {
        connector = config.connector
        guard let location = Location(config.string("url") ?? "") else {
            throw .configuration(connector: connector, field: "url", "must be an http(s) URL, a file:// URL or a file path")
        }
        self.location = location
        options = CSVOptions(config: config)
        batchSize = context.batchSize
        var headers: [String: String] = [:]
        for (name, value) in config.stringMap("headers") ?? [:] {
            headers[name] = try context.secrets.expand(value, field: "headers.\(name)", connector: connector)
        }
        if case .http(let url) = location {
            download = CSVDownload(connector: connector, url: url, headers: headers, context: context)
        } else {
            download = nil
        }
    }

    /// The file is there and readable, and its header (or, with `columns`, its first row) parses.
    public func check() async throws {
        try await withReader { reader, _ in
            if options.columns != nil { _ = try reader.nextRecord() }
        }
    }

    public func discover(sampleSize: Int) async throws -> [DiscoveredObject] {
        try await withReader { reader, path in
            var details = [String: String]()
            switch location {
            case .file(let path): details["path"] = path
            case .http(let url): details["url"] = url
            }
            if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int { details["size"] = String(size) }
            return [DiscoveredObject(name: fileName, details: details, sample: try reader.nextBatch(upTo: sampleSize)?.records ?? [])]
        }
    }

    /// Every row, every run: a CSV file has no cursor to resume from.
    public func read(after state: IncrementalState?, into sink: any RecordSink) async throws -> IncrementalState? {
        try await withReader { reader, _ in
            try await reader.write(to: sink, batchSize: batchSize)
        }
        return nil
    }

    /// The last part of the path, without a query.
    private var fileName: String {
        switch location {
        case .file(let path): return URL(fileURLWithPath: path).lastPathComponent
        case .http(let url): return URL(string: url)?.lastPathComponent.nonEmpty ?? url
        }
    }

    private var object: String {
        switch location {
        case .file(let path): path
        case .http(let url): url
        }
    }

    /// `body` with a reader on the file (downloaded first when remote) and the local path it reads.
    private func withReader<T>(_ body: (CSVRecordReader, String) async throws -> T) async throws -> T {
        guard let download else { return try await withReader(ofLocalFile: object, body) }
        return try await download.withDownloadedFile { path in try await withReader(ofLocalFile: path, body) }
    }

    private func withReader<T>(ofLocalFile path: String, _ body: (CSVRecordReader, String) async throws -> T) async throws -> T {
        let reader = try CSVRecordReader(path: path, object: object, name: fileName, options: options, connector: connector)
        return try await body(reader, path)
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty || self == "/" ? nil : self }
}
