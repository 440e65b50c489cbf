import AccessControl
import ETLCore
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import ResultsAPI
import Testing
import TestSupport

/// Logins through the api's routes, against a real redis-server for the sessions: open until
/// an account exists, then a credential on every data route; a session cookie from
/// `POST /session` (password and current code), ended by `DELETE /session`; per-client tokens
/// accepted until revoked.
@Suite(.serialized) struct LoginRouteTests {
    static let password = "a long enough password"

    @Test func anAccountClosesTheAPIAndASessionOrATokenOpensIt() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let fixture = try APIFixture()
        try await fixture.seed(runs: 2)
        var configuration = APIConfiguration(databasePath: fixture.databasePath, corsOrigins: ["*"])
        configuration.redisURL = redis.url
        let app = Application(router: try makeAPIRouter(configuration: configuration, logger: fixture.logger))
        let directory = AccountDirectory(database: try DatabaseQueue(path: fixture.databasePath), hasher: PasswordHasher(cost: 4))

        try await app.test(.router) { client in
            // Nobody to log in: open, as before accounts existed.
            try await client.execute(uri: "/etl_runs", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/session", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""login_required":false"#))
            }

            let enrolment = try await directory.addAccount("ada", password: Self.password)
            try await client.execute(uri: "/etl_runs", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            try await client.execute(uri: "/session", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }

            let wrongCode = OneTimeCode.code(secret: enrolment.secret, at: Date().addingTimeInterval(-600))
            try await logIn(client, code: wrongCode) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("wrong_credentials"))
                #expect(response.headers[.setCookie] == nil)
            }
            try await client.execute(uri: "/session", method: .post, headers: [.contentType: "text/plain"],
                                     body: ByteBuffer(string: "ada")) { #expect($0.status == .unsupportedMediaType) }

            let cookie = try await logIn(client, code: OneTimeCode.code(secret: enrolment.secret, at: Date())) { response in
                #expect(response.status == .ok)
                let setCookie = try #require(response.headers[.setCookie])
                #expect(setCookie.hasPrefix("etl_session=etl_"))
                for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] { #expect(setCookie.contains(attribute), "\(setCookie)") }
                #expect(!setCookie.contains("Secure"), "plain HTTP without SESSION_COOKIE_SECURE")
                #expect(String(buffer: response.body).contains(#""username":"ada""#))
                return String(setCookie.split(separator: ";")[0])
            }
            try await client.execute(uri: "/etl_runs", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/session", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""username":"ada""#))
            }
            try await client.execute(uri: "/etl_runs", method: .get, headers: [.cookie: "etl_session=etl_forged"]) {
                #expect($0.status == .unauthorized)
            }

            try await client.execute(uri: "/session", method: .delete, headers: [.cookie: cookie]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/etl_runs", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .unauthorized) }

            let token = try await directory.createToken("reporting")
            try await client.execute(uri: "/etl_runs", method: .get, headers: [.authorization: "Bearer \(token.token)"]) {
                #expect($0.status == .ok)
            }
            try await directory.revokeToken("reporting")
            try await client.execute(uri: "/etl_runs", method: .get, headers: [.authorization: "Bearer \(token.token)"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @discardableResult
    private func logIn<T>(_ client: some TestClientProtocol, code: String,
                          _ check: @escaping (TestResponse) async throws -> T) async throws -> T {
        let body = #"{"username":"ada","password":"\#(Self.password)","code":"\#(code)"}"#
        return try await client.execute(uri: "/session", method: .post, headers: [.contentType: "application/json"],
                                        body: ByteBuffer(string: body), testCallback: check)
    }
}
