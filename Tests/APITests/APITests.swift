import ETLCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Loading
import Logging
import ResultsAPI
import Testing
import TestSupport
import NIOFoundationEssentialsCompat
import GRDB

/// A temporary database path (not created until a test asks) and an API over it.
final class APIFixture: Sendable {
    let root: URL
    let databasePath: String
    let logger: Logger = {
        var logger = Logger(label: "api-tests")
        logger.logLevel = .critical
        return logger
    }()

    init() throws {
        root = try TestEnvironment.temporaryDirectory("api-tests")
        databasePath = root.appendingPathComponent("database/data.db").path
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func app(corsOrigins: [String] = ["*"], apiToken: String? = nil, admin: AdminBackend? = nil) throws -> some ApplicationProtocol {
        let configuration = APIConfiguration(databasePath: databasePath, corsOrigins: corsOrigins, apiToken: apiToken)
        return Application(router: try makeAPIRouter(configuration: configuration, logger: logger, admin: admin))
    }

    /// Creates the database (as the saver does) with `count` runs, one every hour from
    /// 2027-01-15 00:00 UTC; every third one failed, the others completed.
    @discardableResult
    func seed(runs count: Int) async throws -> [RunID] {
        let database = try PipelineDatabase(path: databasePath)
        var ids: [RunID] = []
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        // Inserted in a shuffled order: the API must sort, not rely on insertion order.
        for index in (0..<count).shuffled() {
            let id = RunID(date: start.addingTimeInterval(Double(index) * 3600))
            var event = RunEvent(runID: id, status: .transformed)
            event.rawFile = "data/raw_users/records_\(id).jsonl"
            event.processedFile = "data/processed_users/etl_\(id).jsonl"
            event.dlqFile = "data/dlq/invalid_users_\(id).jsonl"
            event.extractedCount = 208
            event.validCount = 200
            event.invalidCount = 8
            event.extractStartedAt = ISO8601.string(from: id.date)
            try await database.recordEvent(event)
            if index % 3 == 2 {
                var failed = RunEvent(runID: id, status: .failed)
                failed.error = "boom \(index)"
                try await database.recordEvent(failed)
            } else {
                try await database.recordUploadSucceeded(runID: id, uploadedFiles: ["upload/records_\(id).jsonl"])
            }
            ids.append(id)
        }
        return ids.sorted()
    }
}

/// The body as JSON; nil when it is not JSON (which fails the expectation using it).
func json(_ response: TestResponse) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(buffer: response.body))
}

func errorCode(_ response: TestResponse) -> String? {
    (json(response) as? [String: Any])?["error"] as? String
}

@Suite struct APITests {
    @Test func etlRunsListsEveryFieldNewestFirstWithTotalCount() async throws {
        let fixture = try APIFixture()
        let ids = try await fixture.seed(runs: 5)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/etl_runs", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(response.headers[.init("X-Total-Count")!] == "5")
                let runs = try #require(json(response) as? [[String: Any]])
                #expect(runs.map { $0["id"] as? String } == ids.reversed().map(\.timestamp))
                let newest = runs[0]
                for key in ["id", "run_timestamp", "status", "raw_file", "processed_file", "dlq_file", "extracted_count",
                            "valid_count", "invalid_count", "extract_started_at", "extract_finished_at",
                            "transform_started_at", "transform_finished_at", "load_started_at", "load_finished_at",
                            "upload_finished_at", "uploaded_files", "error"] {
                    #expect(newest.keys.contains(key), "missing \(key)")
                }
                #expect(newest["run_timestamp"] as? String == ids.last!.isoTimestamp)
                #expect(newest["extracted_count"] as? Int == 208)
                #expect(newest["valid_count"] as? Int == 200)
                #expect(newest["invalid_count"] as? Int == 8)
                #expect(newest["raw_file"] as? String == "data/raw_users/records_\(ids.last!).jsonl")
                #expect(newest["extract_finished_at"] is NSNull)
                let completed = try #require(runs.first { $0["status"] as? String == "completed" })
                #expect(completed["uploaded_files"] as? [String] == ["upload/records_\(completed["id"] as! String).jsonl"])
                let failed = try #require(runs.first { $0["status"] as? String == "failed" })
                #expect((failed["error"] as? String)?.hasPrefix("boom") == true)
                #expect(failed["uploaded_files"] as? [String] == [])
            }
        }
    }

    @Test func limitOffsetAndStatusFilter() async throws {
        let fixture = try APIFixture()
        let ids = Array(try await fixture.seed(runs: 7).reversed())  // newest first
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/etl_runs?limit=2&offset=3", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.init("X-Total-Count")!] == "7")
                let runs = try #require(json(response) as? [[String: Any]])
                #expect(runs.map { $0["id"] as? String } == ids[3..<5].map(\.timestamp))
            }
            try await client.execute(uri: "/etl_runs?offset=100", method: .get) { response in
                #expect(response.status == .ok)
                #expect((json(response) as? [Any])?.isEmpty == true)
            }
            // Indices 2 and 5 failed (index % 3 == 2).
            try await client.execute(uri: "/etl_runs?status=failed", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.init("X-Total-Count")!] == "2")
                let runs = try #require(json(response) as? [[String: Any]])
                #expect(runs.allSatisfy { $0["status"] as? String == "failed" })
                #expect(runs.count == 2)
            }
            try await client.execute(uri: "/etl_runs?status=completed&limit=1", method: .get) { response in
                #expect(response.headers[.init("X-Total-Count")!] == "5")
                #expect((json(response) as? [Any])?.count == 1)
            }
            try await client.execute(uri: "/etl_runs?status=upload_pending", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.init("X-Total-Count")!] == "0")
            }
            try await client.execute(uri: "/etl_runs?limit=1000", method: .get) { response in
                #expect(response.status == .ok)
                #expect((json(response) as? [Any])?.count == 7)
            }
        }
    }

    @Test(arguments: [
        "limit=abc", "limit=", "limit=0", "limit=1001", "limit=-1", "limit=1.5", "limit=%2B5", "limit=99999999999999999999",
        "offset=-1", "offset=x", "offset=", "status=bogus", "status=", "status=COMPLETED",
    ])
    func badParametersAre400JSON(_ query: String) async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/etl_runs?\(query)", method: .get) { response in
                #expect(response.status == .badRequest)
                let body = try #require(json(response) as? [String: Any])
                #expect(body["error"] as? String == "invalid_parameter")
                #expect((body["message"] as? String)?.isEmpty == false)
            }
        }
    }

    @Test func oneRunByID() async throws {
        let fixture = try APIFixture()
        let ids = try await fixture.seed(runs: 3)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/etl_runs/\(ids[1])", method: .get) { response in
                #expect(response.status == .ok)
                let run = try #require(json(response) as? [String: Any])
                #expect(run["id"] as? String == ids[1].timestamp)
                #expect(run["run_timestamp"] as? String == ids[1].isoTimestamp)
            }
            try await client.execute(uri: "/etl_runs/20990101_000000", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(errorCode(response) == "run_not_found")
            }
            for bad in ["nope", "20270115", "20271345_000000", "20270115_080000x", "%27%20OR%201=1"] {
                try await client.execute(uri: "/etl_runs/\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect(errorCode(response) == "invalid_run_id")
                }
            }
        }
    }

    @Test func writeMethodsAre405AndUnknownRoutes404() async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            for method: HTTPRequest.Method in [.post, .put, .patch, .delete] {
                for path in ["/etl_runs", "/etl_runs/20270115_080000", "/health", "/nowhere"] {
                    try await client.execute(uri: path, method: method, body: ByteBuffer(string: "{}")) { response in
                        #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                        #expect(errorCode(response) == "method_not_allowed")
                        #expect(response.headers[.allow] == "GET, HEAD, OPTIONS")
                    }
                }
            }
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(errorCode(response) == "not_found")
            }
            try await client.execute(uri: "/etl_runs", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test func serviceUnavailableUntilTheDatabaseExistsThenServes() async throws {
        let fixture = try APIFixture()
        try await fixture.app().test(.router) { client in
            for path in ["/etl_runs", "/etl_runs/20270115_080000"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(errorCode(response) == "database_unavailable")
                }
            }
            // Parameters are still checked first.
            try await client.execute(uri: "/etl_runs?limit=0", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let body = try #require(json(response) as? [String: Any])
                #expect(body["status"] as? String == "ok")
                #expect(body["database"] as? String == "missing")
                #expect(body["latest_run"] is NSNull)
            }
            #expect(!FileManager.default.fileExists(atPath: fixture.databasePath), "the API must not create the database")

            // The saver creates it: the same app serves it, no restart.
            let ids = try await fixture.seed(runs: 2)
            try await client.execute(uri: "/etl_runs", method: .get) { response in
                #expect(response.status == .ok)
                #expect((json(response) as? [Any])?.count == 2)
            }
            try await client.execute(uri: "/health", method: .get) { response in
                let body = try #require(json(response) as? [String: Any])
                #expect(body["database"] as? String == "ok")
                #expect((body["latest_run"] as? [String: Any])?["id"] as? String == ids.last!.timestamp)
            }
        }
    }

    @Test func anEmptyFileIsUnavailableNotAnError() async throws {
        let fixture = try APIFixture()
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: fixture.databasePath).deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: fixture.databasePath, contents: nil)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/etl_runs", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(errorCode(response) == "database_unavailable")
            }
        }
    }

    @Test func corsHeaders() async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/etl_runs", method: .get, headers: [.origin: "http://localhost:3000"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(response.headers[.accessControlExposeHeaders]?.contains("X-Total-Count") == true)
            }
            try await client.execute(uri: "/etl_runs?limit=0", method: .get, headers: [.origin: "http://x"]) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.accessControlAllowOrigin] == "*")  // on errors too
            }
            try await client.execute(uri: "/etl_runs", method: .options, headers: [
                .origin: "http://x", .accessControlRequestMethod: "GET",
            ]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowMethods]?.contains("GET") == true)
            }
        }
        try await fixture.app(corsOrigins: ["http://a.example", "http://b.example"]).test(.router) { client in
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "http://b.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == "http://b.example")
            }
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "http://evil.example"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test func theDatabaseIsOpenedReadOnly() async throws {
        let fixture = try APIFixture()
        try await fixture.seed(runs: 1)
        let store = ResultsStore(path: fixture.databasePath, logger: fixture.logger)
        await #expect(throws: (any Error).self) {
            try await store.read { db in try db.execute(sql: "DELETE FROM etl_runs") }
        }
        let count = try await store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM etl_runs") }
        #expect(count == 1)
    }
}
