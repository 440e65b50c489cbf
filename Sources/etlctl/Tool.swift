import ArgumentParser
import ConnectorRuns
import ConnectorSources
import Connectors
import ETLCommandLine
import ETLCore
import Extraction
import Foundation
import Handoff
import Loading
import Logging
import PipelineSchema
import Transformation

/// What every subcommand works with, built once from the configuration.
struct Tool {
    let configuration: ConnectorToolConfiguration
    let registry: ConnectorRegistry
    let catalog = ConnectorCatalog.product
    let inspection: ConnectorInspection
    let json: Bool
    let logger: Logger

    /// Runs `body` with a tool; prints what went wrong and exits 1 (a failed operation) or 2
    /// (a bad definition or configuration) on errors.
    static func run(_ options: CommonOptions, _ body: (Tool) async throws -> Void) async throws {
        guard let configuration = options.configurationOptions.configurationToRun(ConnectorToolConfiguration.self) else { return }
        PipelineLogging.bootstrap(level: configuration.common.logLevel)
        let logger = Logger(label: "etlctl")
        do {
            let database = try await PipelineDatabase.open(path: configuration.databasePath)
            let source = CurlSource()
            let context = SourceContext(http: source, downloads: source, retry: configuration.common.retry,
                                        timeoutSeconds: configuration.httpTimeoutSeconds, logger: logger)
            try await body(Tool(configuration: configuration, registry: ConnectorRegistry(database: database.pool),
                                inspection: ConnectorInspection(catalog: .product, context: context), json: options.json, logger: logger))
        } catch let error as ConnectorError {
            FileHandle.standardError.write(Data("etlctl: \(error)\n".utf8))
            throw ExitCode(error.kind == .configuration ? 2 : 1)
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("etlctl: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    static func definition(at path: String) throws -> ConnectorDefinition {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConnectorError(.configuration, connector: "?", object: path, "cannot read the definition: \((error as NSError).localizedDescription)")
        }
        return try ConnectorDefinition.parse(text, source: path)
    }

    func validatedConnector(_ name: String) async throws -> ValidatedConnector {
        try catalog.validate(try ConnectorRegistry.definition(of: try await registry.connector(name)))
    }

    func view(_ record: DataSourceRecord) -> ConnectorView { catalog.view(of: record, now: Date()) }

    func requests() throws -> any RunRequestQueue {
        try RedisRunRequestQueue(url: configuration.common.redisURL, eventKey: configuration.common.eventKey, logger: logger)
    }

    func dryRun(_ connector: ValidatedConnector, state: IncrementalState?) async throws -> DryRunReport {
        let departments = connector.definition.contract == .users
            ? try DepartmentLookup(contentsOf: configuration.departmentsCSV).codes : [:]
        return try await inspection.dryRun(connector, after: state, ageRange: configuration.ageRange, departments: departments,
                                           lookupDirectory: configuration.departmentsCSV.deletingLastPathComponent())
    }

    func print<Value: Encodable>(_ value: Value, text: @autoclosure () -> String) throws {
        Swift.print(json ? String(decoding: try ConnectorView.encoder().encode(value), as: UTF8.self) : text())
    }

    static func prettyJSON<Value: Encodable>(_ value: Value) -> String {
        let encoder = ConnectorView.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }

    static func table(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
