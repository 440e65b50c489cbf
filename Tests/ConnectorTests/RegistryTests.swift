import ConnectorSources
import Connectors
import Contracts
import ETLCore
import Foundation
import GRDB
import PipelineSchema
import Testing

@Suite struct ConnectorDefinitionTests {
    @Test func aYAMLDefinitionReadsWithItsDefaults() throws {
        let definition = try ConnectorDefinition.parse("""
            name: shop-orders
            type: local_file
            config: { path: /data/in }
            contract:
              name: orders
              fields:
                - { name: id, type: integer, required: true }
            schedule: "02:30"
            """, source: "shop.yaml")
        #expect(definition.dataset == "shop_orders")
        #expect(definition.clientID == "default")
        #expect(definition.problems().isEmpty)
        let validated = try ConnectorCatalog.product.validate(definition)
        #expect(validated.config.string("glob") == "*")
    }

    @Test func everyProblemOfADefinitionIsNamedAtOnce() {
        let definition = ConnectorDefinition(
            name: "bad name!", type: .postgresql, config: ["port": .integer(0), "colour": .string("red")],
            contract: .declared(Contract(name: "x", fields: [ContractField("record", type: .string)])), schedule: "25:00")
        #expect {
            try ConnectorCatalog.product.validate(definition)
        } throws: { error in
            let text = "\(error)"
            return ["name must be", "schedule must be HH:MM", "column record is one every dataset table has", "database is required",
                    "port must be between", "colour is not a field"].allSatisfy(text.contains)
        }
    }

    @Test func aDocumentThatIsNotADefinitionSaysWhere() {
        #expect { try ConnectorDefinition.parse("name: x\nconfig: {}\n", source: "x.yaml") } throws: { "\($0)".contains("type is required") }
        #expect { try ConnectorDefinition.parse("{\"name\": \"x\", \"type\": \"ftp\"}", source: "x.json") } throws: { "\($0)".contains("x.json") }
        #expect { try ConnectorDefinition.parse("name: x\ntype: local_file\ncontract: orders\n", source: "x.yaml") } throws: {
            "\($0)".contains("the only named contract is \"users\"")
        }
    }
}

@Suite struct ConnectorRegistryTests {
    func registry() throws -> ConnectorRegistry {
        let database = try DatabaseQueue()
        try SchemaMigrations.migrator.migrate(database)
        return ConnectorRegistry(database: database)
    }

    func connector(_ name: String, path: String = "/in") throws -> ValidatedConnector {
        try ConnectorCatalog.product.validate(ConnectorDefinition(name: name, type: .localFile, config: ["path": .string(path)]))
    }

    @Test func namesAreUniqueAndDefinitionsReadBack() async throws {
        let registry = try registry()
        let created = try await registry.create(connector("a"))
        await #expect(throws: RegistryError.nameTaken("a")) { try await registry.create(connector("a")) }
        let updated = try await registry.update("a", to: connector("a", path: "/other"))
        #expect(updated.id == created.id)
        #expect(try ConnectorRegistry.definition(of: updated).config["path"] == .string("/other"))
        #expect(try await registry.connector(String(created.id!)).name == "a")
        try await registry.delete("a")
        await #expect(throws: RegistryError.notFound("a")) { try await registry.connector("a") }
    }

    @Test func statusFollowsTheLatestRunOnly() async throws {
        let registry = try registry()
        let id = try #require(try await registry.create(connector("a")).id)
        let first = RunID("20270101_000000")!, second = RunID("20270101_000100")!
        try await registry.markProcessing(id, runID: first)
        try await registry.markProcessing(id, runID: second)
        await #expect(throws: RegistryError.running("a")) { try await registry.delete("a") }
        try await registry.markSucceeded(id, runID: first, at: "2027-01-01T00:00:30Z")
        #expect(try await registry.connector("a").status == .processing, "a late completion of an older run changes nothing")
        try await registry.markFailed(id, reason: "fetch error")
        #expect(try await registry.connector("a").statusReason == "fetch error")
        try await registry.markSucceeded(id, runID: second, at: "2027-01-01T00:01:30Z")
        let record = try await registry.connector("a")
        #expect(record.status == .idle && record.lastRunAt == "2027-01-01T00:01:30Z" && record.statusReason == nil)
    }
}
