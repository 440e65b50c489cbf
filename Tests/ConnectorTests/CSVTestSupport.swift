import Connectors
import ConnectorSources
import CurlHTTP
import ETLCore
import Extraction
import Foundation
import Logging
import TestSupport

// What the CSV and local-file tests share. No Hummingbird here: its HTTPRequest would
// shadow the connectors' own.

/// A source over `config`, validated by the type's schema.
func makeCSVSource(
    _ config: [String: ConfigValue], batchSize: Int = 1000, environment: [String: String] = [:],
    clock: any PipelineClock = TestClock(), retries: Int = 0, timeoutSeconds: Double = 5
) throws -> CSVSource {
    let validated = try CSVSource.schema.validate(config, connector: "orders")
    let context = csvTestContext(batchSize: batchSize, environment: environment, clock: clock, retries: retries, timeoutSeconds: timeoutSeconds)
    return try CSVSource(config: validated, context: context)
}

func csvTestContext(
    batchSize: Int, environment: [String: String] = [:], clock: any PipelineClock = TestClock(), retries: Int = 0, timeoutSeconds: Double = 5
) -> SourceContext {
    SourceContext(secrets: SecretResolver(environment: environment), http: CSVNoRequests(), downloads: CurlSource(),
                  retry: RetryPolicy(maxRetries: retries, baseSeconds: 0.01), timeoutSeconds: timeoutSeconds, clock: clock,
                  logger: Logger(label: "csv-tests"), batchSize: batchSize)
}

/// The file sources send no requests: one would be a bug.
struct CSVNoRequests: HTTPRequesting {
    func send(_ request: HTTPRequest, timeoutSeconds: Double) async throws -> HTTPResponse {
        throw ConnectorError(.connection, connector: "test", "unexpected request to \(request.url)")
    }
}

/// Collects what a source writes.
actor CSVCollectingSink: RecordSink {
    private(set) var batches: [(records: [[UInt8]], position: String)] = []
    /// Runs once, before the first batch is kept (to change the folder while a read is under way).
    private var beforeFirstWrite: (@Sendable () -> Void)?

    init(beforeFirstWrite: (@Sendable () -> Void)? = nil) {
        self.beforeFirstWrite = beforeFirstWrite
    }

    var records: [String] { batches.flatMap { $0.records.map { String(decoding: $0, as: UTF8.self) } } }
    var batchSizes: [Int] { batches.map(\.records.count) }
    var positions: [String] { batches.map(\.position) }

    func write(_ records: [[UInt8]], position: String) async throws {
        beforeFirstWrite?()
        beforeFirstWrite = nil
        batches.append((records, position))
    }
}

/// A fresh, empty folder for one test.
func makeConnectorTestFolder() throws -> String {
    let folder = NSTemporaryDirectory() + "connector-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

