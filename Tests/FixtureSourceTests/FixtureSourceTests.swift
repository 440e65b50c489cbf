import CurlHTTP
import FixtureSource
import Foundation
import Testing

@Suite("Fixture source: DummyJSON /users contract")
struct FixtureContractTests {
    @Test func envelopeDefaultsAndUserShape() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 75)) { server in
            let first = try await fetchPage(server, "")
            #expect(first.total == 75)
            #expect(first.skip == 0)
            #expect(first.limit == 30)  // DummyJSON's default page
            #expect(first.ids == Array(1...30))

            let middle = try await fetchPage(server, "?limit=10&skip=5")
            #expect(middle.ids == Array(6...15))
            #expect((middle.skip, middle.limit, middle.total) == (5, 10, 75))

            // The returned count is what `limit` reports, not the requested one.
            let last = try await fetchPage(server, "?limit=50&skip=60")
            #expect(last.ids == Array(61...75))
            #expect(last.limit == 15)

            let slash = try await fetchPage(server, "/?limit=2")
            #expect(slash.ids == [1, 2])

            for user in middle.users {
                #expect(Set(user.keys) == dummyJSONUserKeys)
                #expect(brokenRules(user).isEmpty, "valid user \(user["id"] ?? "?") breaks \(brokenRules(user))")
                let hair = try #require(user["hair"] as? [String: Any])
                #expect(Set(hair.keys) == ["color", "type"])
                let address = try #require(user["address"] as? [String: Any])
                #expect(Set(address.keys) == addressKeys)
                let coordinates = try #require(address["coordinates"] as? [String: Any])
                #expect(coordinates["lat"] is Double && coordinates["lng"] is Double)
                let bank = try #require(user["bank"] as? [String: Any])
                #expect(Set(bank.keys) == ["cardExpire", "cardNumber", "cardType", "currency", "iban"])
                let company = try #require(user["company"] as? [String: Any])
                #expect(Set(company.keys) == ["department", "name", "title", "address"])
                #expect(Set(try #require(company["address"] as? [String: Any]).keys) == addressKeys)
                let crypto = try #require(user["crypto"] as? [String: Any])
                #expect(Set(crypto.keys) == ["coin", "wallet", "network"])
            }
            let size = try await fetch(server.usersURL + "?limit=10").body.count / 10
            #expect((1000...2000).contains(size), "about 1.5 KB per user, got \(size)")
        }
    }

    @Test func pagingCoversEveryUserExactlyOnce() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 257, invalidRate: 0.1)) { server in
            var seen: [Int] = []
            var skip = 0
            var pages = 0
            while true {
                let page = try await fetchPage(server, "?limit=50&skip=\(skip)")
                #expect(page.total == 257)
                #expect(page.limit == page.users.count)
                if page.users.isEmpty { break }
                // Invalid users may carry their id as a string: count them too.
                seen += page.users.map { ($0["id"] as? Int) ?? Int(($0["id"] as? String) ?? "") ?? -1 }
                skip += page.limit
                pages += 1
                if skip >= page.total { break }
            }
            #expect(pages == 6)
            #expect(seen == Array(1...257))
        }
    }

    @Test func limitZeroReturnsEverything() async throws {
        // 2,500 users is above the streaming threshold: the chunked path is exercised too.
        try await withFixtureServer(FixtureOptions(userCount: 2500)) { server in
            let all = try await fetchPage(server, "?limit=0")
            #expect(all.ids == Array(1...2500))
            #expect((all.total, all.limit, all.skip) == (2500, 2500, 0))
            let rest = try await fetchPage(server, "?limit=0&skip=2400")
            #expect(rest.ids == Array(2401...2500))
            #expect(rest.limit == 100)
        }
    }

    @Test func skipPastTheEndIsEmptyWithTheRightTotal() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 40)) { server in
            let page = try await fetchPage(server, "?limit=10&skip=40")
            #expect(page.users.isEmpty)
            #expect((page.total, page.skip, page.limit) == (40, 40, 0))
            let far = try await fetchPage(server, "?skip=1000000")
            #expect(far.users.isEmpty && far.total == 40)
        }
    }

    @Test(arguments: ["limit=abc", "limit=-1", "limit=1.5", "skip=x", "skip=-10", "limit=", "limit=10&skip=ten"])
    func badParametersAre400WithMessage(_ query: String) async throws {
        try await withFixtureServer(FixtureOptions(userCount: 10)) { server in
            let response = try await fetch(server.usersURL + "?" + query)
            #expect(response.status == 400)
            let object = try #require(try parseJSON(response.body) as? [String: Any])
            let message = try #require(object["message"] as? String)
            #expect(!message.isEmpty)
            #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
        }
    }

    @Test func otherPathsAre404JSON() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 10)) { server in
            for path in ["/", "/user", "/users/1/extra", "/products"] {
                let response = try await fetch(server.baseURL + path)
                #expect(response.status == 404, "\(path)")
                let object = try parseJSON(response.body) as? [String: Any]
                #expect(object?["message"] is String, "\(path)")
            }
            #expect(server.state.requestCount == 0)
        }
    }
}

@Suite("Fixture source: deterministic users")
struct FixtureDeterminismTests {
    @Test func sameSeedSameBytesAcrossInstances() async throws {
        let options = FixtureOptions(userCount: 300, invalidRate: 0.2, seed: 7)
        let first = try await withFixtureServer(options) { try await fetch($0.usersURL + "?limit=100&skip=150").body }
        let second = try await withFixtureServer(options) { try await fetch($0.usersURL + "?limit=100&skip=150").body }
        #expect(first == second)
        #expect(first.count > 100_000)

        var other = options
        other.seed = 8
        let reseeded = try await withFixtureServer(other) { try await fetch($0.usersURL + "?limit=100&skip=150").body }
        #expect(reseeded != first)

        // The served users are exactly the library's users.
        let generated = FixtureUsers.generate(count: 300, invalidRate: 0.2, seed: 7)
        var expected = Array("{\"users\":[".utf8)
        expected += generated[150..<250].joined(separator: [UInt8(ascii: ",")])
        expected += Array("],\"total\":300,\"skip\":150,\"limit\":100}".utf8)
        #expect(first == expected)
    }

    @Test func userBytesDependOnlyOnSeedAndID() {
        let users = FixtureUsers(count: 1_000_000, invalidRate: 0.1, seed: 42)
        #expect(users.user(id: 999_999) == users.user(id: 999_999))
        #expect(users.user(id: 1) != users.user(id: 2))
        // Same user whether the run has 1,000 or 1,000,000 users (when its validity is the same).
        let small = FixtureUsers(count: 1000, invalidRate: 0, seed: 42)
        let large = FixtureUsers(count: 1_000_000, invalidRate: 0, seed: 42)
        #expect(small.user(id: 500) == large.user(id: 500))
    }

    @Test(arguments: [(1000, 0.1, 100), (10, 0.333, 3), (257, 0.05, 13), (50, 0.0, 0), (20, 1.0, 20)])
    func invalidRateYieldsExactlyTheExpectedUsers(count: Int, rate: Double, expected: Int) async throws {
        let options = FixtureOptions(userCount: count, invalidRate: rate, seed: 99)
        let planned = FixtureUsers.invalidIDs(count: count, invalidRate: rate, seed: 99)
        #expect(planned.count == expected)
        try await withFixtureServer(options) { server in
            let page = try await fetchPage(server, "?limit=0")
            #expect(page.users.count == count)
            var invalid: Set<Int> = []
            for (index, user) in page.users.enumerated() {
                let broken = brokenRules(user)
                if !broken.isEmpty { invalid.insert(index + 1) }
                let kind = FixtureUsers(count: count, invalidRate: rate, seed: 99).invalidKind(id: index + 1)
                #expect(broken == (kind?.brokenRules ?? []), "user \(index + 1) (\(kind?.rawValue ?? "valid")) breaks \(broken)")
            }
            #expect(invalid == planned)
        }
    }

    @Test func invalidUsersAreSpreadAndVaried() throws {
        let users = FixtureUsers(count: 1000, invalidRate: 0.1, seed: 42)
        let kinds = users.invalidKinds()
        #expect(kinds.count == 100)
        #expect(Set(kinds.values) == Set(FixtureUsers.InvalidKind.allCases))
        let ids = kinds.keys.sorted()
        // Evenly spread: one in each slice of 10.
        for (slice, id) in ids.enumerated() { #expect((slice * 10 + 1...slice * 10 + 10).contains(id)) }

        let samples = Dictionary(kinds.map { ($0.value, $0.key) }, uniquingKeysWith: min)
        func user(_ kind: FixtureUsers.InvalidKind) throws -> [String: Any] {
            let id = try #require(samples[kind])
            return try #require(try parseJSON(users.user(id: id)) as? [String: Any])
        }
        #expect(try user(.idAsString)["id"] is String)
        #expect(try user(.missingFirstName)["firstName"] == nil)
        #expect(try user(.emptyFirstName)["firstName"] as? String == "")
        #expect(try user(.ageAsString)["age"] as? String == "thirty")
        #expect(try user(.ageTooYoung)["age"] as? Int == 12)
        #expect(try user(.ageTooOld)["age"] as? Int == 80)
        #expect(try (user(.unknownDepartment)["company"] as? [String: Any])?["department"] as? String == "Astrology")
        #expect(try (user(.missingDepartment)["company"] as? [String: Any])?["department"] == nil)
        #expect(try user(.severalProblems)["email"] as? String == "no-at-sign")
        #expect(try (user(.emailWithoutAt)["email"] as? String)?.contains("@") == false)
        #expect(try (user(.emailWithSpace)["email"] as? String)?.contains(" ") == true)
    }

    @Test func validUsersHaveRealisticValues() throws {
        let users = FixtureUsers.generate(count: 500, invalidRate: 0, seed: 3)
        var departments: Set<String> = []
        var ages: Set<Int> = []
        for bytes in users {
            let user = try #require(try parseJSON(bytes) as? [String: Any])
            #expect(brokenRules(user).isEmpty)
            ages.insert(try #require(user["age"] as? Int))
            departments.insert(try #require((user["company"] as? [String: Any])?["department"] as? String))
            #expect(!bytes.contains(UInt8(ascii: "\n")))
        }
        #expect(departments == Set(FixtureUsers.departments))
        #expect(ages.min()! >= 18 && ages.max()! <= 65 && ages.count > 30)
    }
}

@Suite("Fixture source: injected faults")
struct FixtureFaultTests {
    @Test func everyFaultKindBehavesAsAdvertised() async throws {
        let options = FixtureOptions(userCount: 100, seed: 5, faultRate: 1.0, retryAfterSeconds: 7)
        try await withFixtureServer(options) { server in
            var kinds: Set<FixtureFault> = []
            for number in 1...40 {
                let response = try await fetch(server.usersURL + "?limit=20")
                let planned = try #require(FixtureFault.planned(requestNumber: number, seed: 5, rate: 1.0))
                kinds.insert(planned)
                switch planned {
                case .internalError:
                    #expect(response.status == 500)
                case .tooManyRequests:
                    #expect(response.status == 429)
                    #expect(response.headers["retry-after"] == "7")
                    #expect(response.retryAfterSeconds == 7)
                case .serviceUnavailable:
                    #expect(response.status == 503)
                    #expect(response.header("Retry-After") == "7")
                case .truncatedBody:
                    #expect(response.status == 200)
                    #expect(throws: (any Error).self) { try parseJSON(response.body) }
                    #expect(response.body.count > 1000)
                }
            }
            #expect(kinds == Set(FixtureFault.allCases))
            #expect(server.state.requestCount == 40)
            #expect(server.state.faultsInjected == 40)
        }
    }

    @Test func partialFaultRateIsReproducible() async throws {
        let options = FixtureOptions(userCount: 100, seed: 11, faultRate: 0.3)
        func statuses() async throws -> [Int] {
            try await withFixtureServer(options) { server in
                var statuses: [Int] = []
                for _ in 0..<60 {
                    let response = try await fetch(server.usersURL + "?limit=5")
                    let parses = (try? parseJSON(response.body)) != nil
                    statuses.append(response.status == 200 && !parses ? -200 : response.status)
                }
                let failed = statuses.filter { $0 != 200 }.count
                #expect(server.state.faultsInjected == failed)
                return statuses
            }
        }
        let first = try await statuses()
        let second = try await statuses()
        #expect(first == second)
        let failures = first.filter { $0 != 200 }.count
        #expect((5...35).contains(failures), "about 30% of 60 requests should fail, got \(failures)")
    }

    @Test func failingSkipAlwaysFails() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 300, failingSkip: 100)) { server in
            for _ in 0..<3 {
                let failing = try await fetch(server.usersURL + "?limit=100&skip=100")
                #expect(failing.status == 500)
                let healthy = try await fetch(server.usersURL + "?limit=100&skip=0")
                #expect(healthy.status == 200)
            }
            let next = try await fetch(server.usersURL + "?limit=100&skip=200")
            #expect(next.status == 200)
            #expect(server.state.faultsInjected == 3)
        }
    }

    @Test func failFirstRequestsThenHealthy() async throws {
        try await withFixtureServer(FixtureOptions(userCount: 10, failFirstRequests: 2)) { server in
            let first = try await fetch(server.usersURL)
            let second = try await fetch(server.usersURL)
            let third = try await fetchPage(server, "")
            #expect(first.status == 500)
            #expect(second.status == 500)
            #expect(third.ids == Array(1...10))
            #expect(server.state.requestCount == 3)
        }
    }

    @Test func badOptionsAreRefused() async throws {
        #expect(throws: FixtureOptionsError.self) { try FixtureOptions(invalidRate: 1.5).validate() }
        #expect(throws: FixtureOptionsError.self) { try FixtureOptions(userCount: -1).validate() }
        await #expect(throws: (any Error).self) { _ = try await RunningFixtureServer.start(options: FixtureOptions(faultRate: -0.1)) }
    }
}

@Suite("Fixture source: fixture files")
struct FixtureFileTests {
    static let twoUsers = """
    {
      "users": [
        { "id": 1, "firstName": "Emily", "age": 29, "email": "emily.johnson@x.dummyjson.com",
          "company": { "department": "Engineering", "title": "Sales \\"Manager\\"" }, "height": 193.240 },
        { "id": 2, "firstName": "Michael", "age": 35, "email": "michael.williams@x.dummyjson.com",
          "company": { "department": "Support" }, "tags": [ "a b", "c" ] }
      ],
      "total": 2, "skip": 0, "limit": 2
    }
    """

    @Test func loadsAnEnvelopeOrAnArrayCompactingEachUser() throws {
        let envelope = try temporaryFile("users.json", contents: Self.twoUsers)
        defer { try? FileManager.default.removeItem(at: envelope.deletingLastPathComponent()) }
        let users = try FixtureUsers.load(fixtureFile: envelope.path)
        #expect(users.count == 2)
        #expect(String(decoding: users[0], as: UTF8.self) ==
            #"{"id":1,"firstName":"Emily","age":29,"email":"emily.johnson@x.dummyjson.com","company":{"department":"Engineering","title":"Sales \"Manager\""},"height":193.240}"#)
        #expect(String(decoding: users[1], as: UTF8.self).hasSuffix(#""tags":["a b","c"]}"#))

        let array = try temporaryFile("array.json", contents: "\n [ {\"id\": 7}, {\"id\": 8} ,{\"id\":9}]\n")
        defer { try? FileManager.default.removeItem(at: array.deletingLastPathComponent()) }
        #expect(try FixtureUsers.load(fixtureFile: array.path).map { String(decoding: $0, as: UTF8.self) } == [#"{"id":7}"#, #"{"id":8}"#, #"{"id":9}"#])
    }

    @Test func rejectsBadFixtureFiles() throws {
        let notJSON = try temporaryFile("bad.json", contents: "{\"users\": [ {\"id\": 1}, ")
        defer { try? FileManager.default.removeItem(at: notJSON.deletingLastPathComponent()) }
        #expect(throws: FixtureError.self) { try FixtureUsers.load(fixtureFile: notJSON.path) }
        let wrongShape = try temporaryFile("shape.json", contents: "{\"people\": []}")
        defer { try? FileManager.default.removeItem(at: wrongShape.deletingLastPathComponent()) }
        #expect(throws: FixtureError.self) { try FixtureUsers.load(fixtureFile: wrongShape.path) }
        #expect(throws: FixtureError.self) { try FixtureUsers.load(fixtureFile: "/nonexistent/users.json") }
    }

    @Test func servesTheFileUsers() async throws {
        let file = try temporaryFile("users.json", contents: Self.twoUsers)
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        // userCount is ignored when a fixture file is given.
        try await withFixtureServer(FixtureOptions(userCount: 999, fixtureFile: file.path)) { server in
            let page = try await fetchPage(server, "?limit=1&skip=1")
            #expect((page.total, page.skip, page.limit) == (2, 1, 1))
            #expect(page.ids == [2])
            let all = try await fetchPage(server, "?limit=0")
            #expect(all.ids == [1, 2])
        }
    }
}
