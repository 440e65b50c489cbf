public import ConnectorSources
public import Connectors
public import Contracts
import ETLCore
public import Foundation
import Transformation

/// What `discover` reports for one object of a source.
public struct DiscoveryReport: Sendable, Codable, Equatable {
    public let name: String
    public let details: [String: String]
    public let sampled: Int
    public let fields: [InferredField]
}

/// What `run --dry-run` reports: it fetched and validated, and wrote nothing.
public struct DryRunReport: Sendable, Codable, Equatable {
    public var records = 0
    public var valid = 0
    public var invalid = 0
    /// The first failures: where, and every reason of the record.
    public var firstErrors: [String] = []

    enum CodingKeys: String, CodingKey {
        case records, valid, invalid, firstErrors = "first_errors"
    }
}

/// `check`, `discover` and `run --dry-run`: the lifecycle steps that read a source without
/// writing anything (no file, row, upload or state).
public struct ConnectorInspection: Sendable {
    public let catalog: ConnectorCatalog
    public let context: SourceContext

    public init(catalog: ConnectorCatalog, context: SourceContext) {
        self.catalog = catalog
        self.context = context
    }

    public func check(_ connector: ValidatedConnector) async throws {
        try await catalog.source(for: connector, context: context).check()
    }

    public func discover(_ connector: ValidatedConnector, sampleSize: Int = 100) async throws -> [DiscoveryReport] {
        try await catalog.source(for: connector, context: context).discover(sampleSize: sampleSize).map { object in
            DiscoveryReport(name: object.name, details: object.details, sampled: object.sample.count,
                            fields: FieldInference.fields(of: object.sample))
        }
    }

    /// Reads the whole source (after the saved `state`) through the connector's contract.
    /// `ageRange` and `departments` are the users contract's, when the connector uses it;
    /// other contracts' lookups are read relative to `lookupDirectory`.
    public func dryRun(_ connector: ValidatedConnector, after state: IncrementalState?, ageRange: ClosedRange<Double>,
                       departments: [String: String], lookupDirectory: URL, keepErrors: Int = 10) async throws -> DryRunReport {
        let validator: RecordValidator
        switch connector.definition.contract {
        case .users: validator = RecordValidator(contract: .users(ageRange: ageRange), lookups: ["company.department": departments])
        case .declared(let contract):
            validator = RecordValidator(contract: contract, lookups: try LookupTables.load(for: contract, relativeTo: lookupDirectory))
        case nil: validator = RecordValidator(contract: Contract(name: connector.definition.dataset, fields: []), lookups: [:])
        }
        let sink = ValidatingSink(transformer: LineTransformer(validator: validator), keepErrors: keepErrors)
        _ = try await catalog.source(for: connector, context: context).read(after: state, into: sink)
        return await sink.report
    }
}

/// Counts and validates records instead of writing them.
actor ValidatingSink: RecordSink {
    let transformer: LineTransformer
    let keepErrors: Int
    private(set) var report = DryRunReport()

    init(transformer: LineTransformer, keepErrors: Int) {
        self.transformer = transformer
        self.keepErrors = keepErrors
    }

    func write(_ records: [[UInt8]], position: String) {
        for record in records {
            report.records += 1
            let verdict = record.withUnsafeBufferPointer { transformer.verdict(for: $0) }
            if verdict.failures.isEmpty {
                report.valid += 1
            } else {
                report.invalid += 1
                if report.firstErrors.count < keepErrors {
                    let reasons = verdict.failures.map { "\($0.code.rawValue): \($0.message)" }.joined(separator: "; ")
                    report.firstErrors.append("record \(report.records) (in the batch from \(position)): \(reasons)")
                }
            }
        }
    }
}
