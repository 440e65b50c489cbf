import Connectors
import ETLCore
import Foundation
import Handoff
import Hummingbird
import HummingbirdTesting
import Loading
import Logging
import NIOFoundationEssentialsCompat
import ResultsAPI
import Testing
import TestSupport

/// `POST /connectors` and `POST /connectors/{id}/run`: absent without `API_ADMIN_TOKEN`,
/// refused without that token, validated as `etlctl` validates, handed off as `etlctl` hands off.
@Suite struct AdminRouteTests {
    static let adminToken = "admin-token-for-tests"
    static let readToken = "read-token-for-tests"
    static let shop = """
        {"name": "shop", "type": "api_rest", "dataset": "shop_items",
         "config": {"endpoint": "https://shop.example/items", "auth_type": "bearer", "api_key": "s3cret-key", "pagination": "none"}}
        """

    func post(_ client: some TestClientProtocol, _ uri: String, token: String? = adminToken, body: String = "",
              _ check: @escaping (TestResponse) throws -> Void) async throws {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        headers[.contentType] = "application/json"
        try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) { try check($0) }
    }

    @Test func withoutAnAdminTokenConfiguredTheRoutesAreRefusedAsWrites() async throws {
        let fixture = try APIFixture()
        try await fixture.app().test(.router) { client in
            for uri in ["/connectors", "/connectors/1/run"] {
                try await post(client, uri, body: Self.shop) { response in
                    #expect(response.status == .methodNotAllowed, "\(uri)")
                    #expect(errorCode(response) == "method_not_allowed")
                    #expect(String(buffer: response.body).contains("API_ADMIN_TOKEN"))
                }
            }
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.databasePath), "a refused write created the database")
    }

    /// What is documented is what is served: the admin operations, and POST in `Allow`, only
    /// when the api serves them.
    @Test func theDocumentAndAllowListTheAdminRoutesOnlyWhenServed() async throws {
        let fixture = try APIFixture()
        let admin = AdminBackend(token: Self.adminToken, databasePath: fixture.databasePath, requests: InMemoryRunRequestQueue())
        for backend in [nil, admin] {
            try await fixture.app(admin: backend).test(.router) { client in
                let paths = try await client.execute(uri: "/openapi.json", method: .get) { response in
                    try #require((json(response) as? [String: Any])?["paths"] as? [String: [String: Any]])
                }
                let served = backend != nil
                #expect((paths["/connectors"]?["post"] != nil) == served)
                #expect((paths["/connectors/{id}/run"]?["post"] != nil) == served)
                #expect(paths["/connectors"]?["get"] != nil && paths["/etl_runs"]?["get"] != nil)
                // `Allow` is what the served document declares for the path, nothing more.
                let expected = [
                    "/connectors": served ? "GET, HEAD, OPTIONS, POST" : "GET, HEAD, OPTIONS",
                    "/connectors/3/run": served ? "OPTIONS, POST" : "GET, HEAD, OPTIONS",
                ]
                for (uri, allow) in expected {
                    try await client.execute(uri: uri, method: .options) { response in
                        #expect(response.headers[.allow] == allow, "\(uri)")
                    }
                }
                try await client.execute(uri: "/connectors/3", method: .options) { response in
                    #expect(response.headers[.allow] == "GET, HEAD, OPTIONS")
                }
            }
        }
    }

    @Test func onlyTheAdminTokenCreatesAndRuns() async throws {
        let fixture = try APIFixture()
        _ = try PipelineDatabase(path: fixture.databasePath)
        let requests = InMemoryRunRequestQueue()
        let admin = AdminBackend(token: Self.adminToken, databasePath: fixture.databasePath, requests: requests)
        try await fixture.app(apiToken: Self.readToken, admin: admin).test(.router) { client in
            try await post(client, "/connectors", token: nil, body: Self.shop) { response in
                #expect(response.status == .unauthorized)
            }
            try await post(client, "/connectors", token: Self.readToken, body: Self.shop) { response in
                #expect(response.status == .forbidden)
                #expect(errorCode(response) == "forbidden")
            }
            try await post(client, "/connectors/1/run", token: Self.readToken) { response in
                #expect(response.status == .forbidden)
            }
            // Other writes stay refused even with the admin token.
            try await client.execute(uri: "/connectors", method: .put, headers: [.authorization: "Bearer \(Self.adminToken)"]) { response in
                #expect(response.status == .methodNotAllowed)
            }
            // The admin token reads as well.
            try await client.execute(uri: "/connectors", method: .get, headers: [.authorization: "Bearer \(Self.adminToken)"]) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(await requests.pendingCount == 0)
    }

    @Test func aConnectorIsValidatedStoredMaskedAndRunThroughTheQueue() async throws {
        let fixture = try APIFixture()
        let requests = InMemoryRunRequestQueue()
        let admin = AdminBackend(token: Self.adminToken, databasePath: fixture.databasePath, requests: requests)
        try await fixture.app(admin: admin).test(.router) { client in
            // Every bad field named at once, nothing stored.
            try await post(client, "/connectors", body: #"{"name": "bad", "type": "api_rest", "config": {"method": "FETCH", "pagination": "sideways"}}"#) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "invalid_connector")
                let message = String(buffer: response.body)
                #expect(message.contains("endpoint") && message.contains("method") && message.contains("pagination"), "\(message)")
            }
            try await post(client, "/connectors", body: "{not json") { #expect($0.status == .badRequest) }
            try await post(client, "/connectors", body: "") { #expect($0.status == .badRequest) }

            var id = 0
            try await post(client, "/connectors", body: Self.shop) { response in
                #expect(response.status == .created)
                #expect(!String(buffer: response.body).contains("s3cret-key"), "the secret was served")
                let connector = try #require(json(response) as? [String: Any])
                id = try #require(connector["id"] as? Int)
                #expect(response.headers[.location] == "/connectors/\(id)")
                #expect(connector["status"] as? String == "idle")
                #expect((connector["config"] as? [String: Any])?["api_key"] as? String == SecretReference.mask)
            }
            try await post(client, "/connectors", body: Self.shop) { response in
                #expect(response.status == .conflict)
                #expect(errorCode(response) == "connector_exists")
            }
            try await client.execute(uri: "/connectors", method: .get) { response in
                #expect((json(response) as? [String: Any])?["total"] as? Int == 1)
            }

            var taskID: String?
            try await post(client, "/connectors/\(id)/run") { response in
                #expect(response.status == .accepted)
                let accepted = try #require(json(response) as? [String: Any])
                #expect(accepted["connector"] as? String == "shop" && accepted["source_id"] as? Int == id)
                taskID = accepted["task_id"] as? String
            }
            let queued = try #require(try await requests.next(waitMilliseconds: 1))
            #expect(queued.request.taskID == taskID)
            #expect(queued.request.sourceID == Int64(id) && queued.request.requestedBy == "api")
            try await post(client, "/connectors/999/run") { #expect($0.status == .notFound) }
            try await post(client, "/connectors/abc/run") { #expect($0.status == .badRequest) }
        }
    }

    /// The same signed stream `etlctl connectors run` writes and the extractor reads.
    @Test func aRunRequestReachesTheExtractorsStreamSigned() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let key = String(repeating: "e", count: 32)
        let logger = Logger(label: "admin-tests")
        let fixture = try APIFixture()
        let configuration = APIConfiguration(databasePath: fixture.databasePath, admin: .init(token: Self.adminToken, redisURL: redis.url, eventKey: key))
        let admin = try #require(try AdminBackend.configured(by: configuration, logger: logger))
        try await fixture.app(admin: admin).test(.router) { client in
            var id = 0
            try await post(client, "/connectors", body: Self.shop) { response in
                id = try #require((json(response) as? [String: Any])?["id"] as? Int)
            }
            var taskID = ""
            try await post(client, "/connectors/\(id)/run") { response in
                #expect(response.status == .accepted)
                taskID = try #require((json(response) as? [String: Any])?["task_id"] as? String)
            }
            let extractor = try RedisRunRequestQueue(url: redis.url, eventKey: key, logger: logger)
            let received = try #require(try await extractor.next(waitMilliseconds: 2000))
            #expect(received.request.taskID == taskID && received.request.connector == "shop")
            // A reader with another key rejects it: the request is signed, not merely queued.
            try await post(client, "/connectors/\(id)/run") { #expect($0.status == .accepted) }
            let stranger = try RedisRunRequestQueue(url: redis.url, eventKey: String(repeating: "x", count: 32), logger: logger)
            try await extractor.acknowledge(received.id)
            #expect(try await stranger.next(waitMilliseconds: 200) == nil)
        }
    }
}
