import Connectors
import Contracts
import ETLCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOFoundationEssentialsCompat
import Loading
import PipelineSchema
import Testing

/// The registry and the datasets as the api serves them: masked, paged, filtered, refused.
@Suite struct ConnectorRouteTests {
    /// A registry with one REST connector whose key is a literal secret, and one dataset run.
    func seed(_ fixture: APIFixture) async throws -> Int64 {
        let database = try PipelineDatabase(path: fixture.databasePath)
        let registry = ConnectorRegistry(database: database.pool)
        let definition = ConnectorDefinition(
            name: "shop", type: .apiRest,
            config: ["endpoint": .string("https://shop.example/items"), "auth_type": .string("bearer"), "api_key": .string("s3cret-key"),
                     "headers": .object(["X-Token": .string("abc123"), "Accept": .string("application/json")])],
            contract: .declared(Contract(name: "items", fields: [ContractField("sku", type: .string), ContractField("price", type: .number)])),
            dataset: "shop_items", schedule: "02:30")
        let record = try await registry.create(ValidatedConnector(definition: definition, config: ConnectorConfig(connector: "shop", values: definition.config)))
        let lines = [#"{"sku":"A1","price":2.5,"secret":"never-served"}"#, #"{"sku":"B2","price":3}"#]
        let file = URL(fileURLWithPath: fixture.root.path).appendingPathComponent("etl.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let table = DatasetTable(dataset: "shop_items", contract: try #require(definition.resolvedContract(ageRange: 0...1)))
        _ = try await RunLoader(database: database).load(file, into: table, runID: RunID("20270115_000000")!)
        return try #require(record.id)
    }

    @Test func connectorsArePagedWithTheirNextRunAndNoSecret() async throws {
        let fixture = try APIFixture()
        let id = try await seed(fixture)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/connectors?skip=0&limit=10", method: .get) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(!body.contains("s3cret-key") && !body.contains("abc123"), "a secret was served")
                let page = try #require(json(response) as? [String: Any])
                #expect(page["total"] as? Int == 1 && page["skip"] as? Int == 0 && page["limit"] as? Int == 10)
                let connector = try #require((page["connectors"] as? [[String: Any]])?.first)
                #expect(connector["name"] as? String == "shop" && connector["status"] as? String == "idle")
                #expect((connector["next_run_at"] as? String)?.hasSuffix("T02:30:00Z") == true)
                let config = try #require(connector["config"] as? [String: Any])
                #expect(config["api_key"] as? String == SecretReference.mask)
                #expect((config["headers"] as? [String: String])?["Accept"] == "application/json")
            }
            try await client.execute(uri: "/connectors/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                #expect((json(response) as? [String: Any])?["dataset"] as? String == "shop_items")
            }
            try await client.execute(uri: "/connectors/999", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/connectors/abc", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/connectors?limit=1001", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    @Test func datasetRecordsServeTheDeclaredFieldsOnlyAndFilterOnThem() async throws {
        let fixture = try APIFixture()
        _ = try await seed(fixture)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/datasets/shop_items/records", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.init("X-Total-Count")!] == "2")
                #expect(!String(buffer: response.body).contains("never-served"))
                let rows = try #require(json(response) as? [[String: Any]])
                #expect(rows.map { $0["sku"] as? String } == ["A1", "B2"])
                #expect(Set(rows[0].keys) == ["run_id", "line_no", "sku", "price"])
            }
            try await client.execute(uri: "/datasets/shop_items/records?sku=B2", method: .get) { response in
                #expect((json(response) as? [[String: Any]])?.map { $0["price"] as? Double } == [3])
            }
            try await client.execute(uri: "/datasets/shop_items/records?price=2.5", method: .get) { response in
                #expect((json(response) as? [[String: Any]])?.count == 1)
            }
            try await client.execute(uri: "/datasets/shop_items/records?secret=x", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "unknown_filter")
            }
            try await client.execute(uri: "/datasets/nothing_here/records", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/datasets/Bad-Name/records", method: .get) { #expect($0.status == .badRequest) }
        }
    }
}
