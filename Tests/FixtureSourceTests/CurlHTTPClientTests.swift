import CurlHTTP
import FixtureSource
import Foundation
import Testing
import TestSupport

@Suite("CurlHTTPClient against the fixture source")
struct CurlHTTPClientTests {
    @Test func returnsStatusLowerCasedHeadersAndBody() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 5)) { server in
            let response = try await fetch(server.usersURL + "?limit=2")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json; charset=utf-8")
            #expect(response.header("Content-Length") == String(response.body.count))
            #expect(response.headers.keys.allSatisfy { $0 == $0.lowercased() })
            // A non-200 answer is returned, not thrown.
            let missing = try await fetch(server.baseURL + "/missing")
            #expect(missing.status == 404)
        }
    }

    @Test func timesOutQuicklyAgainstASlowSource() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 5, slowMilliseconds: 1500)) { server async throws -> Void in
            let (result, elapsed) = await timedFetch(server.usersURL, timeout: 0.3)
            if case .failure(let error) = result, case .timedOut(let url, let seconds)? = error as? HTTPClientError {
                #expect(url == server.usersURL)
                #expect(seconds == 0.3)
                #expect(String(describing: error).contains("timed out"))
            } else {
                Issue.record("expected .timedOut, got \(result)")
            }
            // Well before the source's answer at 1.5 s.
            #expect(elapsed < 1.2, "the call took \(elapsed) s")
            // With a long enough timeout the slow source answers.
            let answered = try await fetch(server.usersURL, timeout: 10)
            #expect(answered.status == 200)
        }
    }

    @Test func connectionRefusedOnAClosedPort() async throws {
        let port = try Loopback.freePort()
        let url = "http://127.0.0.1:\(port)/users"
        await #expect {
            _ = try await fetch(url, timeout: 5)
        } throws: { error in
            guard case .connectionFailed(let failedURL, let reason) = error as? HTTPClientError else { return false }
            return failedURL == url && !reason.isEmpty
        }
    }

    @Test func unresolvableHostIsAConnectionFailure() async throws {
        await #expect {
            _ = try await fetch("http://no-such-host.invalid/users", timeout: 5)
        } throws: { error in
            if case .connectionFailed = error as? HTTPClientError { return true }
            return false
        }
    }

    @Test func capsTheBodySize() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 50)) { server in
            let small = CurlHTTPClient(maxBodyBytes: 4096)
            await #expect {
                _ = try await fetch(server.usersURL + "?limit=50", client: small)
            } throws: { error in
                if case .bodyTooLarge(_, let limit) = error as? HTTPClientError { return limit == 4096 }
                return false
            }
        }
        // Streamed (chunked, no Content-Length) bodies are capped by the write callback.
        _ = try await withFixtureServer(FixtureOptions(userCount: 2100)) { server in
            await #expect {
                _ = try await fetch(server.usersURL + "?limit=0", client: CurlHTTPClient(maxBodyBytes: 100_000))
            } throws: { error in
                if case .bodyTooLarge(_, let limit) = error as? HTTPClientError { return limit == 100_000 }
                return false
            }
        }
    }

    /// Issue 9, finding 11: libcurl used to follow any redirect; another host:port is now refused
    /// before it is contacted, unless it is allowed (as `host` or `host:port`).
    @Test func followsRedirectsOnlyToAllowedHosts() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 3)) { target in
            try await withFixtureServer(FixtureOptions(userCount: 0, redirectTo: target.usersURL)) { redirecting in
                let url = redirecting.usersURL + "?limit=2&skip=1"
                await #expect {
                    _ = try await fetch(url)
                } throws: { error in
                    guard case .redirectRefused(let from, let location) = error as? HTTPClientError else { return false }
                    return from == url && location == target.usersURL + "?limit=2&skip=1"
                }
                #expect(target.state.requestCount == 0)
                for allowed in ["127.0.0.1", "127.0.0.1:\(target.port)"] {
                    let response = try await fetch(url, client: CurlHTTPClient(allowedRedirectHosts: [allowed]))
                    #expect(response.status == 200)
                    #expect(String(decoding: response.body, as: UTF8.self).contains(#""skip":1,"limit":2"#))
                }
                // Another port of the same address is another host.
                let elsewhere = CurlHTTPClient(allowedRedirectHosts: ["127.0.0.1:\(redirecting.port)"])
                await #expect(throws: HTTPClientError.self) { _ = try await fetch(url, client: elsewhere) }
            }
        }
    }

    @Test func reusesConnectionsAcrossSequentialAndConcurrentCalls() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 500)) { server in
            let client = CurlHTTPClient()
            for skip in stride(from: 0, to: 500, by: 100) {
                let page = try parsePage(try await fetch(server.usersURL + "?limit=100&skip=\(skip)", client: client))
                #expect(page.ids.first == skip + 1)
            }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for skip in stride(from: 0, to: 500, by: 50) {
                    group.addTask { try parsePage(try await fetch(server.usersURL + "?limit=50&skip=\(skip)", client: client)).users.count }
                }
                var total = 0
                for try await count in group { total += count }
                #expect(total == 500)
            }
        }
    }
}
