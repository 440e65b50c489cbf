import Connectors
import ConnectorSources
import CurlHTTP
import ETLCore
import Extraction
import FixtureSource
import Foundation
import Logging
import Testing
import TestSupport

@Suite struct RESTSourceTests {
    // MARK: Pagination

    @Test func limitSkipWithTotalReadsEveryRecordOnceInOrder() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource([
                "endpoint": .string("\(server.baseURL)/limit-skip"), "pagination": .string("limit_skip"),
                "records_path": .string("data.items"), "total_path": .string("meta.total"), "page_size": .integer(100),
            ], batchSize: 64)
            let state = try await source.read(after: nil, into: sink)
            #expect(state == nil)
            #expect(ids(await sink.records) == Array(1...1050))
            #expect(await sink.batchSizes.allSatisfy { $0 <= 64 })
            #expect(await sink.positions.last == "skip=1000")
            #expect(server.requests.count == 11)
            #expect(server.requests.last == "/limit-skip?limit=100&skip=1000")
        }
    }

    @Test func pageNumbersStopAtAShortPage() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource([
                "endpoint": .string("\(server.baseURL)/pages"), "pagination": .string("page"),
                "records_path": .string("results"), "page_size": .integer(100),
            ])
            _ = try await source.read(after: nil, into: sink)
            #expect(ids(await sink.records) == Array(1...1050))
            #expect(server.requests.count == 11)
            #expect(await sink.positions.last == "page 11")
        }
    }

    @Test func pageNumbersStopAtAnEmptyPageWhenTheLastIsFull() async throws {
        try await withServer(count: 300) { server in
            let sink = RESTCollectingSink()
            let source = try makeSource([
                "endpoint": .string("\(server.baseURL)/pages"), "pagination": .string("page"),
                "records_path": .string("results"), "page_size": .integer(100),
            ])
            _ = try await source.read(after: nil, into: sink)
            #expect(ids(await sink.records) == Array(1...300))
            #expect(server.requests == (1...4).map { "/pages?page=\($0)&per_page=100" })
        }
    }

    @Test func cursorsAreFollowedUntilTheNextIsNull() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource([
                "endpoint": .string("\(server.baseURL)/cursor"), "pagination": .string("cursor"),
                "records_path": .string("items"), "cursor_path": .string("meta.next"), "page_size": .integer(100),
            ])
            _ = try await source.read(after: nil, into: sink)
            #expect(ids(await sink.records) == Array(1...1050))
            #expect(server.requests.count == 11)
            // The cursor's `+`, `/` and `=` reach the API percent-encoded.
            #expect(server.requests[1] == "/cursor?limit=100&cursor=o%2B%2F%3D100")
        }
    }

    @Test func linkHeadersAreFollowedUntilThereIsNoNext() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource(["endpoint": .string("\(server.baseURL)/link?per_page=100"), "pagination": .string("link_header")])
            _ = try await source.read(after: nil, into: sink)
            #expect(ids(await sink.records) == Array(1...1050))
            #expect(server.requests.first == "/link?per_page=100")
            #expect(server.requests.last == "/link?page=11&per_page=100")
            #expect(server.requests.count == 11)
        }
    }

    @Test func noPaginationIsOneRequestWrittenInBatches() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource(["endpoint": .string("\(server.baseURL)/all")], batchSize: 400)
            _ = try await source.read(after: nil, into: sink)
            #expect(ids(await sink.records) == Array(1...1050))
            #expect(await sink.batchSizes == [400, 400, 250])
            #expect(server.requests == ["/all"])
        }
    }

    @Test func theFixtureSourceReadsLikeDummyJSON() async throws {
        let server = try await RunningFixtureServer.start(options: FixtureOptions(userCount: 208))
        do {
            let sink = RESTCollectingSink()
            let source = try makeSource([
                "endpoint": .string(server.usersURL), "pagination": .string("limit_skip"), "records_path": .string("users"),
                "total_path": .string("total"), "page_size": .integer(50),
            ], batchSize: 30)
            _ = try await source.read(after: nil, into: sink)
            #expect(ids(await sink.records) == Array(1...208))
            #expect(await sink.batchSizes.allSatisfy { $0 <= 30 })
            #expect(server.state.requestCount == 5)
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }

    // MARK: Authentication

    static let credentialCases: [(path: String, right: [String: ConfigValue], wrong: [String: ConfigValue])] = [
        ("bearer", ["auth_type": .string("bearer"), "api_key": .string(RESTTestAPI.secret)],
         ["auth_type": .string("bearer"), "api_key": .string("wrong-token")]),
        ("api-key-header", ["auth_type": .string("api_key"), "api_key": .string(RESTTestAPI.secret)],
         ["auth_type": .string("api_key"), "api_key": .string("wrong-key")]),
        ("api-key-query", ["auth_type": .string("api_key"), "api_key_in": .string("query"), "api_key": .string(RESTTestAPI.secret)],
         ["auth_type": .string("api_key"), "api_key_in": .string("query"), "api_key": .string("wrong-key")]),
        ("basic", ["auth_type": .string("basic"), "username": .string(RESTTestAPI.username), "password": .string(RESTTestAPI.password)],
         ["auth_type": .string("basic"), "username": .string(RESTTestAPI.username), "password": .string("wrong-password")]),
    ]

    @Test(arguments: RESTSourceTests.credentialCases.indices)
    func credentialsAreSentAndWrongOnesRefusedAtOnce(_ index: Int) async throws {
        let (path, right, wrong) = Self.credentialCases[index]
        try await withServer { server in
            let endpoint: [String: ConfigValue] = ["endpoint": .string("\(server.baseURL)/\(path)")]
            let sink = RESTCollectingSink()
            _ = try await makeSource(endpoint.merging(right) { $1 }).read(after: nil, into: sink)
            #expect(ids(await sink.records) == [1])

            let before = server.requests.count
            let error = try #require(await connectorError { try await makeSource(endpoint.merging(wrong) { $1 }).check() })
            #expect(error.kind == .authentication)
            #expect(error.message.contains("HTTP 401"))
            #expect(server.requests.count == before + 1, "a refused credential is not retried")
            for secret in wrong.values.compactMap(\.stringValue) where secret.hasPrefix("wrong") {
                #expect(!"\(error)".contains(secret))
            }
        }
    }

    @Test func headersResolveEnvironmentVariables() async throws {
        try await withServer { server in
            let values: [String: ConfigValue] = [
                "endpoint": .string("\(server.baseURL)/echo-headers"), "headers": .object(["X-Tenant": .string("${SHOP_TENANT}")]),
            ]
            let sink = RESTCollectingSink()
            _ = try await makeSource(values, environment: ["SHOP_TENANT": "acme"]).read(after: nil, into: sink)
            #expect(await sink.records.map { String(decoding: $0, as: UTF8.self) } == [#"{"tenant":"acme"}"#])

            let error = try #require(await connectorError { _ = try makeSource(values, environment: [:]) })
            #expect(error.kind == .configuration)
            #expect(error.object == "field headers.X-Tenant")
        }
    }

    @Test func postSendsTheBodyAsJSON() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource([
                "endpoint": .string("\(server.baseURL)/search"), "method": .string("POST"), "body": .string(#"{"q": "x"}"#),
            ])
            _ = try await source.read(after: nil, into: sink)
            #expect(await sink.records.map { String(decoding: $0, as: UTF8.self) } == [#"{"id":1,"received":{"q":"x"},"type":"application/json"}"#])
        }
    }

    // MARK: Failures

    @Test func aMissingEndpointIsNotFound() async throws {
        try await withServer { server in
            let error = try #require(await connectorError { try await makeSource(["endpoint": .string("\(server.baseURL)/nothing-here")]).check() })
            #expect(error.kind == .notFound)
            #expect(error.object == "GET \(server.baseURL)/nothing-here")
            #expect(server.requests.count == 1)
        }
    }

    @Test func retryAfterIsHonouredOnTheInjectedClock() async throws {
        try await withServer { server in
            let clock = TestClock()
            let sink = RESTCollectingSink()
            _ = try await makeSource(["endpoint": .string("\(server.baseURL)/busy")], clock: clock).read(after: nil, into: sink)
            #expect(ids(await sink.records) == [1, 2])
            #expect(clock.sleeps == [7])
            #expect(server.requests.count == 2)
        }
    }

    @Test func aNonJSONBodyIsRetriedThenFailsNamingPageAndByte() async throws {
        try await withServer { server in
            let clock = TestClock()
            let error = try #require(await connectorError {
                try await makeSource(["endpoint": .string("\(server.baseURL)/not-json")], clock: clock).check()
            })
            #expect(error.kind == .fetch)
            #expect(error.object == "GET \(server.baseURL)/not-json")
            #expect(error.position == "page 1 byte 0")
            #expect(error.message.contains("not valid JSON") && error.message.contains("after 3 attempts"))
            #expect(server.requests.count == 3)
            #expect(clock.sleeps.count == 2)
        }
    }

    @Test func aTruncatedPageFailsNamingItsSkipAndByteAfterTheEarlierPagesWereWritten() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource([
                "endpoint": .string("\(server.baseURL)/truncated"), "pagination": .string("limit_skip"),
                "records_path": .string("items"), "total_path": .string("total"), "page_size": .integer(100),
            ])
            let error = try #require(await connectorError { _ = try await source.read(after: nil, into: sink) })
            #expect(error.kind == .fetch)
            #expect(error.object == "GET \(server.baseURL)/truncated?limit=100&skip=200")
            let position = try #require(error.position)
            #expect(position.hasPrefix("skip=200 byte "))
            #expect((Int(position.dropFirst("skip=200 byte ".count)) ?? 0) > 1000)
            #expect(ids(await sink.records) == Array(1...200))
        }
    }

    @Test func aRecordsPathThatIsMissingOrNotAnArrayFailsAtOnce() async throws {
        try await withServer { server in
            let missing = try #require(await connectorError {
                try await makeSource(["endpoint": .string("\(server.baseURL)/limit-skip"), "records_path": .string("users")]).check()
            })
            #expect(missing.kind == .fetch)
            #expect(missing.message == #"records_path "users" is not in the answer"#)
            let notArray = try #require(await connectorError {
                try await makeSource(["endpoint": .string("\(server.baseURL)/wrong-shape"), "records_path": .string("data.items")]).check()
            })
            #expect(notArray.message == #"records_path "data.items" is an object, not an array"#)
            #expect(server.requests.count == 2, "a body of the wrong shape is not retried")
        }
    }

    @Test func aRefusedConnectionIsAConnectionError() async throws {
        let port = try Loopback.freePort()
        let error = try #require(await connectorError {
            try await makeSource(["endpoint": .string("http://127.0.0.1:\(port)/users")]).check()
        })
        #expect(error.kind == .connection)
        #expect(error.message.contains("could not connect"))
    }

    @Test func theSinksOwnErrorsPassThrough() async throws {
        try await withServer { server in
            await #expect(throws: SinkIsFull.self) {
                _ = try await makeSource(["endpoint": .string("\(server.baseURL)/all")]).read(after: nil, into: FullSink())
            }
        }
    }

    @Test func aNextLinkToAnotherHostIsNotFollowed() async throws {
        try await withServer { server in
            let sink = RESTCollectingSink()
            let source = try makeSource(["endpoint": .string("\(server.baseURL)/link-away"), "pagination": .string("link_header")])
            let error = try #require(await connectorError { _ = try await source.read(after: nil, into: sink) })
            #expect(error.kind == .fetch)
            #expect(error.message.contains("on another host"))
            #expect(ids(await sink.records) == [1])
            #expect(server.requests == ["/link-away"])
        }
    }

    @Test func aCancelledReadStopsBeforeTheNextPage() async throws {
        try await withServer { server in
            let source = try makeSource([
                "endpoint": .string("\(server.baseURL)/limit-skip"), "pagination": .string("limit_skip"),
                "records_path": .string("data.items"), "total_path": .string("meta.total"),
            ])
            await #expect(throws: CancellationError.self) {
                _ = try await source.read(after: nil, into: CancellingSink())
            }
            #expect(server.requests.count == 1)
        }
    }

    // MARK: The HTTP client's requests (through CurlSource: a blocking call must not hold the test's thread)

    @Test func a307RepeatsThePostAndA303ContinuesAsAGet() async throws {
        try await withServer { server in
            let http = CurlSource()
            let body = Array(#"{"q":"x"}"#.utf8)
            let repeated = try await http.send(
                HTTPRequest(method: "POST", url: "\(server.baseURL)/moved-307", headers: ["Content-Type": "application/json"], body: body),
                timeoutSeconds: 10)
            #expect(String(decoding: repeated.body, as: UTF8.self) == #"[{"id":1,"received":{"q":"x"},"type":"application/json"}]"#)
            let continued = try await http.send(
                HTTPRequest(method: "POST", url: "\(server.baseURL)/moved-303", headers: ["Authorization": "Bearer t"], body: body),
                timeoutSeconds: 10)
            #expect(String(decoding: continued.body, as: UTF8.self) == #"[{"method":"GET","auth":"Bearer t"}]"#)
            #expect(server.requests == ["/moved-307", "/search", "/moved-303", "/echo-request"])
        }
    }

    @Test func credentialsStayWithTheirHostAcrossRedirects() async throws {
        try await withServer { server in
            let request = HTTPRequest(url: "\(server.baseURL)/to-localhost", headers: ["Authorization": "Bearer t"])
            await #expect(throws: HTTPClientError.redirectRefused(url: request.url, location: "http://localhost:\(server.port)/echo-request")) {
                try await CurlSource().send(request, timeoutSeconds: 10)
            }
            let response = try await CurlSource(allowedRedirectHosts: ["localhost"]).send(request, timeoutSeconds: 10)
            #expect(String(decoding: response.body, as: UTF8.self) == #"[{"method":"GET","auth":"none"}]"#)
        }
    }

    // MARK: Check, discover, config

    @Test func checkAsksForTheSmallestPage() async throws {
        try await withServer { server in
            try await makeSource([
                "endpoint": .string("\(server.baseURL)/limit-skip"), "pagination": .string("limit_skip"), "records_path": .string("data.items"),
            ]).check()
            #expect(server.requests == ["/limit-skip?limit=1&skip=0"])
        }
    }

    @Test func discoverSamplesTheFirstPage() async throws {
        try await withServer { server in
            let objects = try await makeSource([
                "endpoint": .string("\(server.baseURL)/limit-skip"), "pagination": .string("limit_skip"),
                "records_path": .string("data.items"), "total_path": .string("meta.total"),
            ]).discover(sampleSize: 5)
            #expect(objects.map(\.name) == ["data.items"])
            #expect(ids(objects[0].sample) == [1, 2, 3, 4, 5])
            #expect(objects[0].details["total"] == "1050")
            let bare = try await makeSource(["endpoint": .string("\(server.baseURL)/all")]).discover(sampleSize: 3)
            #expect(bare.map(\.name) == ["all"])
            #expect(ids(bare[0].sample) == [1, 2, 3])
        }
    }

    @Test func crossFieldRulesNameTheField() {
        let cases: [([String: ConfigValue], String)] = [
            (["endpoint": .string("ftp://example.com/x")], "endpoint must be an http or https URL"),
            (["endpoint": .string("http://x/items"), "auth_type": .string("bearer")], "api_key is required when auth_type is bearer"),
            (["endpoint": .string("http://x/items"), "auth_type": .string("basic"), "username": .string("u")], "password is required"),
            (["endpoint": .string("http://x/items"), "body": .string("{}")], "body is only sent with method POST"),
            (["endpoint": .string("http://x/items"), "pagination": .string("cursor")], "cursor_path is required"),
            (["endpoint": .string("http://x/items"), "records_path": .string("data..items")], "records_path must be a dot path"),
        ]
        for (values, expected) in cases {
            #expect(throws: ConnectorError.self) { try RESTSource.schema.validate(values, connector: "shop") }
            #expect(errorText { try RESTSource.schema.validate(values, connector: "shop") }.contains(expected), "\(values)")
        }
    }
}

// MARK: - Helpers

/// Runs `body` against a fresh test API and always stops it.
private func withServer(count: Int = 1050, _ body: (RESTTestServer) async throws -> Void) async throws {
    let server = try await RESTTestServer.start(count: count)
    do {
        try await body(server)
        await server.stop()
    } catch {
        await server.stop()
        throw error
    }
}

private func makeSource(
    _ values: [String: ConfigValue], environment: [String: String] = [:], clock: TestClock = TestClock(), batchSize: Int = 1000
) throws -> RESTSource {
    let config = try RESTSource.schema.validate(values, connector: "shop")
    var logger = Logger(label: "rest-source-tests")
    logger.logLevel = .error  // the retries' warnings are expected here
    let context = SourceContext(
        secrets: SecretResolver(environment: environment), http: CurlSource(), downloads: NoDownloads(),
        retry: RetryPolicy(maxRetries: 2, baseSeconds: 1, factor: 2), timeoutSeconds: 10, clock: clock,
        logger: logger, batchSize: batchSize)
    return try RESTSource(config: config, context: context)
}

private func connectorError(_ body: () async throws -> Void) async -> ConnectorError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? ConnectorError
    }
}

private func errorText(_ body: () throws -> Any) -> String {
    do {
        _ = try body()
        return ""
    } catch {
        return "\(error)"
    }
}

/// The top-level `id` of each record (-1 where there is none).
private func ids(_ records: [[UInt8]]) -> [Int] {
    records.map { record in
        let object = try? JSONSerialization.jsonObject(with: Data(record)) as? [String: Any]
        return object?["id"] as? Int ?? -1
    }
}

private actor RESTCollectingSink: RecordSink {
    private var batches: [(records: [[UInt8]], position: String)] = []

    func write(_ records: [[UInt8]], position: String) async throws {
        batches.append((records, position))
    }

    var records: [[UInt8]] { batches.flatMap(\.records) }
    var batchSizes: [Int] { batches.map(\.records.count) }
    var positions: [String] { batches.map(\.position) }
}

/// Cancels the reading task when the first batch arrives.
private struct CancellingSink: RecordSink {
    func write(_ records: [[UInt8]], position: String) async throws {
        withUnsafeCurrentTask { $0?.cancel() }
    }
}

private struct SinkIsFull: Error {}

private struct FullSink: RecordSink {
    func write(_ records: [[UInt8]], position: String) async throws { throw SinkIsFull() }
}

/// REST sources never download; a test that reached this would be wrong.
private struct NoDownloads: HTTPDownloading {
    struct Unexpected: Error {}
    func download(_ request: HTTPRequest, to file: URL, timeoutSeconds: Double) async throws -> HTTPResponse { throw Unexpected() }
}
