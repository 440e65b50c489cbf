import AccessControl
import ETLCore
import Loading
import Foundation
import Hummingbird
import HummingbirdTesting
import PipelineSchema
@testable import ResultsAPI
import Testing

/// Every JSON route with a query, for the checks that apply to all of them.
let dataRoutes = ["/etl_runs", "/processed_users", "/invalid_users", "/stats"]

@Suite struct BadParameterTests {
    static let badQueries = [
        "limit=abc", "limit=-1", "limit=0", "limit=1001", "limit=1e3", "limit=99999999999999999999", "limit=",
        "offset=-5", "offset=x", "offset=1000000001",
        "run_id=nope", "run_id=20271345_000000", "run_id=20270115_250000", "run_id=%27%20OR%201=1%20--", "run_id=",
        "department=", "department=\(String(repeating: "x", count: 201))",
        "department_code=%27%20OR%201=1%20--", "department_code=%25", "department_code=",
        "error_code=%27%20OR%201=1%20--", "error_code=%25", "error_code=",
        "q=", "q=\(String(repeating: "y", count: 201))",
    ]

    @Test(arguments: ["/processed_users", "/invalid_users"], badQueries)
    func malformedParametersAre400(_ path: String, _ query: String) async throws {
        // Each route ignores parameters it does not know (department on /invalid_users, …):
        // only the ones it reads are checked.
        let known: [String: Set<String>] = [
            "/processed_users": ["limit", "offset", "run_id", "department", "department_code", "q"],
            "/invalid_users": ["limit", "offset", "run_id", "error_code", "q"],
        ]
        let name = String(query.prefix { $0 != "=" })
        guard known[path]!.contains(name) else { return }
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "\(path)?\(query)", method: .get) { response in
                #expect(response.status == .badRequest, "\(path)?\(query)")
                let body = try #require(json(response) as? [String: Any])
                #expect(body["error"] as? String == "invalid_parameter")
                #expect((body["message"] as? String)?.hasPrefix(name) == true)
            }
        }
    }

    @Test(arguments: ["run_id=x", "run_id=20270115", "run_id=%27%20OR%201=1%20--", "run_id=%25"])
    func statsRefusesAMalformedRunID(_ query: String) async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/stats?\(query)", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "invalid_parameter")
            }
        }
    }

    @Test func aWellFormedButImpossibleRunIDIsNotFound() async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            for path in ["/etl_runs/20270230_000000", "/etl_runs/00000101_000000", "/stats?run_id=20270231_120000"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path)")
                    #expect(errorCode(response) == "run_not_found")
                }
            }
        }
    }
}

@Suite struct StatusCodeTests {
    @Test func everyRouteRefusesWrites() async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            for path in dataRoutes + ["/metrics", "/openapi.json", "/processed_users?limit=1"] {
                for method: HTTPRequest.Method in [.post, .put, .patch, .delete] {
                    try await client.execute(uri: path, method: method) { response in
                        #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                        #expect(errorCode(response) == "method_not_allowed")
                    }
                }
            }
        }
    }

    @Test func dataRoutesAre503UntilTheDatabaseExists() async throws {
        let fixture = try APIFixture()
        try await fixture.app().test(.router) { client in
            for path in dataRoutes {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .serviceUnavailable, "\(path)")
                    #expect(errorCode(response) == "database_unavailable")
                    #expect(response.headers[.retryAfter] != nil)
                }
            }
            // The document and the metrics do not need the database.
            for path in ["/openapi.json", "/metrics", "/health"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                }
            }
        }
    }

    @Test func headAnswersWithoutABody() async throws {
        let fixture = try APIFixture()
        _ = try await fixture.seedUsers()
        try await fixture.app().test(.router) { client in
            for path in dataRoutes {
                try await client.execute(uri: path, method: .head) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.body.readableBytes == 0)
                }
            }
        }
    }

    /// The list is written by hand (for speed): it must say exactly what `RunRecord` says.
    @Test func theFastRunListMatchesTheSingleRunEncoding() async throws {
        let fixture = try APIFixture()
        let ids = try await fixture.seed(runs: 4)
        try await fixture.app().test(.router) { client in
            let list = try await client.execute(uri: "/etl_runs", method: .get) { try #require(json($0) as? [[String: Any]]) }
            #expect(list.count == ids.count)
            for item in list {
                let id = try #require(item["id"] as? String)
                let single = try await client.execute(uri: "/etl_runs/\(id)", method: .get) { try #require(json($0) as? NSDictionary) }
                #expect(NSDictionary(dictionary: item) == single, "\(id)")
            }
        }
    }
}

@Suite struct PersonalDataLeakTests {
    /// Seeds records holding every sensitive field and reads every route, filters included:
    /// no sensitive value may appear in any body.
    @Test func noSensitiveValueAppearsInAnyResponse() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        let paths = [
            "/etl_runs", "/etl_runs/\(seeded.runID)", "/processed_users", "/processed_users?limit=1000",
            "/processed_users?run_id=\(seeded.runID)", "/processed_users?q=a", "/invalid_users", "/invalid_users?limit=1000",
            "/invalid_users?error_code=invalid_email", "/stats", "/stats?run_id=\(seeded.runID)", "/health", "/metrics",
            "/openapi.json",
        ]
        try await fixture.app().test(.router) { client in
            var checked = 0
            for path in paths {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    let body = String(buffer: response.body)
                    for secret in Secrets.all {
                        let leaked = body.contains(secret)  // not in the expression: the message would print the body
                        #expect(!leaked, "\(secret) leaked by \(path)")
                    }
                    checked += body.isEmpty ? 0 : 1
                }
            }
            #expect(checked == paths.count)
            // The check itself can fail: the seeded records do hold the secrets.
            let stored = try String(contentsOf: fixture.root.appendingPathComponent("processed_users_\(seeded.runID).jsonl"), encoding: .utf8)
            #expect(Secrets.all.filter { stored.contains($0) }.count == Secrets.all.count - 1)
        }
    }
}

/// Stored arrays (`uploaded_files`, `error_codes`) are served through the product's one JSON
/// grammar: string elements copied exactly as stored, anything else dropped.
@Suite struct StoredArrayTests {
    @Test func stringElementsAreCopiedAsStoredAndOtherElementsDropped() throws {
        let text = #" [ "q\"b\\s\/n\n\u00e9", 12, {"a": ["x"]}, null, "invalid_email" ] "#
        let served = try #require(ServedRows.stringElements(of: text))
        #expect(String(decoding: served, as: UTF8.self) == #"["q\"b\\s\/n\n\u00e9","invalid_email"]"#)
        let reparsed = try JSONSerialization.jsonObject(with: Data(served)) as? [String]
        #expect(reparsed == ["q\"b\\s/n\né", "invalid_email"])
        #expect(ServedRows.stringElements(of: "[]").map { String(decoding: $0, as: UTF8.self) } == "[]")
    }

    @Test(arguments: ["", "[", "[1,]", "[\"a\"] trailing", "{\"a\":1}", "\"a\"", "[\"\\x\"]", "[\"\u{1}\"]"])
    func anythingButAValidArrayIsNotServed(_ text: String) {
        #expect(ServedRows.stringElements(of: text) == nil)
    }
}

@Suite struct TokenTests {
    static let token = "t0ken-\(UUID().uuidString)"

    @Test func everyRouteButHealthAndTheDashboardPageNeedsTheToken() async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app(apiToken: Self.token).test(.router) { client in
            // The page and its files hold no data: it asks the person for the token.
            for path in ["/", "/assets/dashboard.css", "/assets/dashboard.js"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                }
            }
            for path in dataRoutes + ["/etl_runs/20270115_000000", "/metrics", "/openapi.json"] {
                for header: String? in [nil, "Bearer wrong", "Bearer \(Self.token)x", "Basic \(Self.token)", Self.token] {
                    let headers: HTTPFields = header.map { [.authorization: $0] } ?? [:]
                    try await client.execute(uri: path, method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(path) \(header ?? "none")")
                        #expect(errorCode(response) == "unauthorized")
                        #expect(response.headers[.wwwAuthenticate] == "Bearer")
                    }
                }
                for scheme in ["Bearer", "bearer", "BEARER"] {
                    try await client.execute(uri: path, method: .get, headers: [.authorization: "\(scheme) \(Self.token)"]) { response in
                        #expect(response.status != .unauthorized, "\(path) \(scheme)")
                        #expect(response.status.code < 500)
                    }
                }
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
            // Browsers send preflights without credentials.
            try await client.execute(uri: "/etl_runs", method: .options, headers: [
                .origin: "http://x", .accessControlRequestMethod: "GET",
            ]) { response in
                #expect(response.status == .noContent)
            }
            // A refusal still carries CORS headers, so the browser shows the 401 to the page.
            try await client.execute(uri: "/etl_runs", method: .get, headers: [.origin: "http://x"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
            }
        }
    }

    @Test func withoutATokenNothingIsRequired() async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app(apiToken: nil).test(.router) { client in
            try await client.execute(uri: "/etl_runs", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func constantTimeComparison() {
        #expect(constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!constantTimeEquals(Array("".utf8), Array("a".utf8)))
        // Lengths 256 apart must not wrap to "equal".
        #expect(!constantTimeEquals([], [UInt8](repeating: 0, count: 256)))
    }
}

@Suite struct CORSOnNewRoutesTests {
    @Test func listsExposeTheTotalCount() async throws {
        let fixture = try APIFixture()
        _ = try await fixture.seedUsers()
        try await fixture.app(corsOrigins: ["http://dash.example"]).test(.router) { client in
            for path in ["/processed_users", "/invalid_users"] {
                try await client.execute(uri: path, method: .get, headers: [.origin: "http://dash.example"]) { response in
                    #expect(response.headers[.accessControlAllowOrigin] == "http://dash.example")
                    #expect(response.headers[.accessControlExposeHeaders]?.contains("X-Total-Count") == true)
                }
            }
            try await client.execute(uri: "/stats", method: .options, headers: [
                .origin: "http://dash.example", .accessControlRequestMethod: "GET",
            ]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "http://dash.example")
            }
        }
    }
}

@Suite struct MetricsTests {
    @Test func countsRequestsByRouteAndStatusWithALatencyHistogram() async throws {
        let fixture = try APIFixture()
        let ids = try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            for path in ["/etl_runs", "/etl_runs", "/etl_runs/\(ids[0])", "/etl_runs?limit=0", "/nowhere"] {
                try await client.execute(uri: path, method: .get) { _ in }
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                #expect(text.contains(#"http_requests_total{route="/etl_runs",method="GET",status="200"} 2"#))
                #expect(text.contains(#"http_requests_total{route="/etl_runs",method="GET",status="400"} 1"#))
                #expect(text.contains(#"http_requests_total{route="/etl_runs/{id}",method="GET",status="200"} 1"#))
                #expect(text.contains(#"http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
                #expect(text.contains(#"http_request_duration_seconds_count{route="/etl_runs",method="GET"} 3"#))
                #expect(text.contains(#"http_request_duration_seconds_bucket{route="/etl_runs",method="GET",le="+Inf"} 3"#))
                #expect(!text.contains("nowhere"))
            }
        }
    }
}

@Suite struct OpenAPITests {
    @Test func describesEveryRouteAndEveryParameterTheRoutesRead() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        try await fixture.app().test(.router) { client in
            let document = try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                return try #require(json(response) as? [String: Any])
            }
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            #expect(Set(paths.keys) == [
                "/etl_runs", "/etl_runs/{id}", "/processed_users", "/invalid_users", "/stats", "/health", "/metrics",
                "/openapi.json", "/", "/assets/dashboard.css", "/assets/dashboard.js", "/assets/chart.js",
                "/connectors", "/connectors/{id}", "/datasets/{dataset}/records", "/session",
            ])
            // Reads only, but for logging in and out: without API_ADMIN_TOKEN the admin
            // operations are not served, nor documented.
            #expect(paths.filter { $0.key != "/session" }.values.allSatisfy { Set($0.keys) == ["get"] })
            #expect(paths["/session"].map { Set($0.keys) } == ["get", "post", "delete"])
            let parameters = try #require((document["components"] as? [String: Any])?["parameters"] as? [String: [String: Any]])
            func names(_ path: String) -> Set<String> {
                let refs = ((paths[path]?["get"] as? [String: Any])?["parameters"] as? [[String: String]]) ?? []
                return Set(refs.compactMap { $0["$ref"]?.split(separator: "/").last.map(String.init) }
                    .compactMap { parameters[$0]?["name"] as? String })
            }
            #expect(names("/etl_runs") == ["limit", "offset", "status"])
            #expect(names("/processed_users") == ["limit", "offset", "run_id", "department", "department_code", "q"])
            #expect(names("/invalid_users") == ["limit", "offset", "run_id", "error_code", "q"])
            #expect(names("/stats") == ["run_id"])
            #expect(names("/etl_runs/{id}") == ["id"])
            #expect(names("/connectors") == ["skip", "limit"])
            #expect(names("/connectors/{id}") == ["id"])
            #expect(names("/datasets/{dataset}/records") == ["dataset", "run_id", "limit", "offset"])
            // Every documented path answers (no 404 route) with the statuses the document lists.
            for (path, operations) in paths where path != "/assets/chart.js" {
                let uri = path.replacingOccurrences(of: "{id}", with: path.hasPrefix("/connectors") ? "1" : seeded.runID.timestamp)
                    .replacingOccurrences(of: "{dataset}", with: "shop_orders")
                for (method, operation) in operations {
                    let responses = try #require((operation as? [String: Any])?["responses"] as? [String: Any])
                    try await client.execute(uri: uri, method: HTTPRequest.Method(rawValue: method.uppercased())!) { response in
                        #expect(responses.keys.contains(String(response.status.code)), "\(method) \(path) → \(response.status.code)")
                    }
                }
            }
        }
    }

    /// The document's response objects list exactly the allow-listed fields (`ServedFields`),
    /// all of them required: what is served and what is documented cannot drift apart.
    @Test func documentedResponseFieldsAreTheAllowList() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(APIDocument.bundled.bytes)) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        func properties(_ name: String) -> [String] { ((schemas[name]?["properties"] as? [String: Any]) ?? [:]).keys.sorted() }
        func required(_ name: String) -> [String] { ((schemas[name]?["required"] as? [String]) ?? []).sorted() }
        let expected: [(String, [String])] = [
            ("Run", ServedFields.etlRuns.map(\.name)), ("ProcessedUser", ServedFields.processedUsers.map(\.name)),
            ("InvalidUser", ServedFields.invalidUserNames),
        ]
        for (schema, names) in expected {
            #expect(properties(schema) == names.sorted(), "\(schema)")
            #expect(required(schema) == names.sorted(), "\(schema)")
        }
    }

    @Test func documentedStatusValuesAreTheRunStatuses() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(APIDocument.bundled.bytes)) as? [String: Any])
        let components = try #require(document["components"] as? [String: Any])
        let status = try #require((components["parameters"] as? [String: [String: Any]])?["status"]?["schema"] as? [String: Any])
        #expect(status["enum"] as? [String] == RunStatus.allCases.map(\.rawValue))
    }
}

@Suite struct CacheTests {
    /// Answers are reused while the database is unchanged; a commit by another connection
    /// (the saver) is visible on the very next request, on every cached route.
    @Test func aCommitIsVisibleOnTheNextRequest() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        try await fixture.app().test(.router) { client in
            let status = { @Sendable (response: TestResponse) in (json(response) as? [[String: Any]])?.first?["status"] as? String }
            for _ in 0..<2 {
                try await client.execute(uri: "/etl_runs?limit=1", method: .get) { #expect(status($0) == "completed") }
                try await client.execute(uri: "/processed_users", method: .get) { #expect(totalCount($0) == "4") }
                try await client.execute(uri: "/stats", method: .get) { response in
                    #expect((json(response) as? [String: Any])?["totals"] as? [String: Int] == ["runs": 2, "processed_users": 4, "invalid_users": 3])
                }
            }
            let database = try PipelineDatabase(path: fixture.databasePath)
            // A completed run changes only by an operator retry (a message cannot fail it).
            var reopened = RunEvent(runID: seeded.runID, status: .loading)
            reopened.retryRequest = "retry-cache-test"
            try await database.recordEvent(reopened)
            try await client.execute(uri: "/etl_runs?limit=1", method: .get) { #expect(status($0) == "loading") }

            let file = fixture.root.appendingPathComponent("more.jsonl")
            try Data((userRecord(id: 9, firstName: "New", lastName: "Comer", email: "new@example.com", department: "Sales") + "\n").utf8)
                .write(to: file)
            _ = try await RunLoader(database: database).load(file, into: .processed, runID: seeded.otherRunID)
            try await client.execute(uri: "/processed_users", method: .get) { #expect(totalCount($0) == "4") }  // replaced the run's 1 row
            try await client.execute(uri: "/processed_users?q=comer", method: .get) { #expect(names($0) == ["New"]) }
            try await client.execute(uri: "/stats?run_id=\(seeded.otherRunID)", method: .get) { response in
                let departments = (json(response) as? [String: Any])?["by_department"] as? [[String: Any]]
                #expect(departments?.map { $0["department"] as? String } == ["Sales"])
            }
        }
    }
}

@Suite struct FormQueryTests {
    @Test func decodesPlusAsSpaceAndPercentEscapesAndKeepsTheFirstValue() {
        let query = FormQuery("department=Human+Resources&q=a%2Bb&q=ignored&empty=&flag&bad=%zz")
        #expect(query["department"] == "Human Resources")
        #expect(query["q"] == "a+b")
        #expect(query["empty"] == "")
        #expect(query["flag"] == "")
        #expect(query["bad"] == "%zz")
        #expect(query["missing"] == nil)
        #expect(FormQuery(nil)["x"] == nil)
    }
}
