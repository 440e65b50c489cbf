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

/// `etlctl`: manages the connector registry and starts connector runs.
@main
struct EtlctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etlctl",
        abstract: "Manages the pipeline's connectors, accounts and tokens.",
        discussion: "Configured like the stages (environment and .env: DATABASE_PATH, REDIS_URL, EVENT_HMAC_KEY, …).",
        subcommands: [Connectors.self, Users.self, Tokens.self, Audit.self])

    @OptionGroup var configurationOptions: ConfigurationOptions

    /// `etlctl --print-configuration` lists what every subcommand reads; anything else asks for one.
    func run() async throws {
        guard configurationOptions.printConfiguration else { throw CleanExit.helpRequest(self) }
        _ = configurationOptions.configurationToRun(ConnectorToolConfiguration.self)
    }

    struct Connectors: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register, inspect and run connectors.",
            subcommands: [Create.self, List.self, Show.self, Update.self, Delete.self, Check.self, Discover.self, Run.self])
    }
}

/// The flags every subcommand takes.
struct CommonOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var configurationOptions: ConfigurationOptions
}

extension EtlctlCommand.Connectors {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a connector from a JSON or YAML file.")
        @Option(name: .shortAndLong, help: "The connector definition (JSON or YAML).") var file: String
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await Tool.run(options) { tool in
                let connector = try tool.catalog.validate(try Tool.definition(at: file))
                let record = try await tool.registry.create(connector)
                try tool.print(tool.view(record), text: "created connector \(record.name) (id \(record.id ?? 0))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the connectors with their status, last and next run.")
        @Option(help: "Connectors to skip.") var skip = 0
        @Option(help: "Connectors to list at most (1 to 1000).") var limit = 100
        @OptionGroup var options: CommonOptions

        func validate() throws {
            guard skip >= 0, (1...1000).contains(limit) else { throw ValidationError("--skip must be 0 or more and --limit 1 to 1000") }
        }

        func run() async throws {
            try await Tool.run(options) { tool in
                let (records, total) = try await tool.registry.list(skip: skip, limit: limit)
                let views = records.map(tool.view)
                let rows = views.map { view in
                    [String(view.id), view.name, view.type, view.status, view.lastRunAt ?? "-", view.nextRunAt ?? "-", view.dataset]
                }
                let table = Tool.table(header: ["ID", "NAME", "TYPE", "STATUS", "LAST RUN", "NEXT RUN", "DATASET"], rows: rows)
                try tool.print(ConnectorPage(connectors: views, total: total, skip: skip, limit: limit), text: table)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one connector (secrets masked).")
        @Argument(help: "The connector's name or id.") var name: String
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await Tool.run(options) { tool in
                let view = tool.view(try await tool.registry.connector(name))
                try tool.print(view, text: Tool.prettyJSON(view))
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a connector's definition (its status and state stay).")
        @Argument(help: "The connector's name or id.") var name: String
        @Option(name: .shortAndLong, help: "The new definition (JSON or YAML).") var file: String
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await Tool.run(options) { tool in
                let connector = try tool.catalog.validate(try Tool.definition(at: file))
                let record = try await tool.registry.update(name, to: connector)
                try tool.print(tool.view(record), text: "updated connector \(record.name)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a connector (its runs stay in etl_runs).")
        @Argument(help: "The connector's name or id.") var name: String
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await Tool.run(options) { tool in
                try await tool.registry.delete(name)
                try tool.print(["deleted": name], text: "deleted connector \(name)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Connect and authenticate; exit 1 with the reason when that fails.")
        @Argument(help: "The connector's name or id.") var name: String
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await Tool.run(options) { tool in
                let connector = try await tool.validatedConnector(name)
                try await tool.inspection.check(connector)
                try tool.print(["connector": connector.definition.name, "check": "ok"], text: "connector \(connector.definition.name): ok")
            }
        }
    }

    struct Discover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the objects the source offers and their inferred fields.")
        @Argument(help: "The connector's name or id.") var name: String
        @Option(help: "Records sampled per object.") var sample = 100
        @Flag(help: "Print a contract to start from instead (JSON), for the first object.") var contract = false
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await Tool.run(options) { tool in
                let connector = try await tool.validatedConnector(name)
                let reports = try await tool.inspection.discover(connector, sampleSize: sample)
                if contract {
                    let suggested = FieldInference.suggestedContract(named: connector.definition.dataset, from: reports.first?.fields ?? [])
                    Swift.print(Tool.prettyJSON(suggested))
                    return
                }
                let text = reports.map { report in
                    let details = report.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    let fields = Tool.table(header: ["FIELD", "TYPE", "NULLS"], rows: report.fields.map {
                        [$0.name, $0.type, String(format: "%.0f%%", $0.nullShare * 100)]
                    })
                    return "\(report.name) (\(report.sampled) sampled) \(details)\n\(fields)"
                }.joined(separator: "\n")
                try tool.print(reports, text: text)
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the extractor to run a connector now (prints the task id), or --dry-run it here.",
            discussion: "--dry-run fetches and validates every record and writes nothing: no file, row, upload or state.")
        @Argument(help: "The connector's name or id.") var name: String
        @Flag(help: "Fetch and validate, report counts and the first errors, write nothing.") var dryRun = false
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await Tool.run(options) { tool in
                let record = try await tool.registry.connector(name)
                let connector = try tool.catalog.validate(try ConnectorRegistry.definition(of: record))
                if dryRun {
                    let report = try await tool.dryRun(connector, state: record.stateJSON.map(IncrementalState.init(json:)))
                    let errors = report.firstErrors.map { "  \($0)" }.joined(separator: "\n")
                    try tool.print(report, text: "connector \(record.name): \(report.records) records, \(report.valid) valid, \(report.invalid) invalid (nothing written)"
                        + (errors.isEmpty ? "" : "\nfirst errors:\n" + errors))
                    return
                }
                let request = RunRequest(sourceID: record.id!, connector: record.name, requestedAt: ISO8601.string(from: Date()), requestedBy: "etlctl")
                try await tool.requests().submit(request)
                try tool.print(["task_id": request.taskID, "connector": record.name],
                               text: "run of connector \(record.name) requested: task \(request.taskID) (etlctl connectors show \(record.name) follows it)")
            }
        }
    }
}

/// A page of `list --json`, shaped like the api's `GET /connectors`.
struct ConnectorPage: Encodable {
    let connectors: [ConnectorView]
    let total: Int
    let skip: Int
    let limit: Int
}
