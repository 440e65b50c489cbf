import ETLCore
import Foundation
import Hummingbird
import HummingbirdTesting
import PipelineSchema
import Testing

func totalCount(_ response: TestResponse) -> String? {
    response.headers[.init("X-Total-Count")!]
}

func names(_ response: TestResponse) -> [String] {
    ((json(response) as? [[String: Any]]) ?? []).compactMap { $0["first_name"] as? String }
}

@Suite struct ProcessedUsersTests {
    @Test func listsTheAllowListedColumnsOnlyNewestRunFirst() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/processed_users", method: .get) { response in
                #expect(response.status == .ok)
                #expect(totalCount(response) == "4")
                let users = try #require(json(response) as? [[String: Any]])
                #expect(users.map { $0["run_id"] as? String } == Array(repeating: seeded.runID.timestamp, count: 3) + [seeded.otherRunID.timestamp])
                #expect(users.map { $0["line_no"] as? Int } == [1, 2, 3, 1])
                let ada = users[0]
                #expect(ada["first_name"] as? String == "Ada")
                #expect(ada["last_name"] as? String == "Lovelace")
                #expect(ada["email"] as? String == "ada@example.com")
                #expect(ada["department"] as? String == "Engineering")
                #expect(ada["department_code"] as? String == "ENG")
                #expect(ada["age"] as? Int == 30)
                #expect(ada["user_id"] as? Int == 1)
                #expect(ada["city"] as? String == "Paris")
                // Exactly the allow-list: no stored record, no other member of the source.
                #expect(users.allSatisfy { Set($0.keys) == Set(ServedFields.processedUsers.map(\.name)) })
            }
        }
    }

    @Test func filtersByRunDepartmentCodeAndSearch() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        let cases: [(query: String, expected: [String])] = [
            ("run_id=\(seeded.otherRunID)", ["Old"]),
            ("run_id=\(seeded.runID)&department=Engineering", ["Ada", "Grace"]),
            ("department=Legal", ["Old"]),
            ("department=engineering", []),  // exact match
            ("department_code=SAL", ["100%_Sure"]),
            ("q=hopper", ["Grace"]),  // last name, case-insensitive
            ("q=navy%2Eexample", ["Grace"]),  // percent-decoded
            ("q=navy.example", ["Grace"]),  // email
            ("q=%25", ["100%_Sure"]),  // % is literal, not a wildcard
            ("q=_", ["100%_Sure"]),  // so is _
            ("q=%27%20OR%201%3D1%20--", []),
            ("q=a&department_code=ENG&limit=1&offset=1", ["Grace"]),
            ("run_id=20270230_000000", []),  // well-formed, impossible date: no run
        ]
        try await fixture.app().test(.router) { client in
            for (query, expected) in cases {
                try await client.execute(uri: "/processed_users?\(query)", method: .get) { response in
                    #expect(response.status == .ok, "\(query)")
                    #expect(names(response) == expected, "\(query)")
                }
            }
            try await client.execute(uri: "/processed_users?q=a&department_code=ENG&limit=1", method: .get) { response in
                #expect(totalCount(response) == "2")
                #expect(names(response) == ["Ada"])
            }
        }
    }
}

@Suite struct InvalidUsersTests {
    @Test func listsDeadLetterRowsWithErrorCodesAndAllowListedMembersOnly() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/invalid_users", method: .get) { response in
                #expect(response.status == .ok)
                #expect(totalCount(response) == "3")
                let rows = try #require(json(response) as? [[String: Any]])
                #expect(rows.map { $0["line_no"] as? Int } == [1, 2, 3])
                #expect(rows.allSatisfy { $0["run_id"] as? String == seeded.runID.timestamp })
                #expect(rows[0]["error_codes"] as? [String] == ["invalid_first_name", "invalid_email"])
                #expect(rows[0]["error_reason"] as? String == "firstName: empty; email: invalid")
                #expect(rows[1]["error_codes"] as? [String] == ["unknown_department"])
                #expect(rows.allSatisfy { Set($0.keys) == Set(ServedFields.invalidUserNames) })
                #expect(rows[0]["last_name"] as? String == "Nobody")
                #expect(rows[0]["first_name"] as? String == "")
                #expect(rows[0]["email"] as? String == "no-at-sign")
                #expect(rows[0]["raw_line_length"] is NSNull)
                // A line that is not JSON: its length only, never its text.
                let line = "this is not json password=\(Secrets.unparsedLineSecret)"
                #expect(rows[2]["raw_line_length"] as? Int == line.utf8.count)
                #expect(rows[2]["first_name"] is NSNull)
                #expect(rows[2]["error_codes"] is [Any])
            }
        }
    }

    @Test func filtersByErrorCodeRunAndSearch() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        let cases: [(query: String, expected: [Int])] = [
            ("error_code=invalid_email", [1]),
            ("error_code=unknown_department", [2]),
            ("error_code=invalid_id", []),
            ("error_code=invalid", []),  // whole codes only
            ("q=young", [2]),
            ("q=no-at", [1]),
            ("q=hunter2", []),  // only names and emails are searched
            ("q=\(Secrets.password)", []),  // never an oracle for personal fields
            ("run_id=\(seeded.otherRunID)", []),
            ("run_id=\(seeded.runID)&limit=2&offset=1", [2, 3]),
        ]
        try await fixture.app().test(.router) { client in
            for (query, expected) in cases {
                let encoded = query.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["!"]))!
                try await client.execute(uri: "/invalid_users?\(encoded)", method: .get) { response in
                    #expect(response.status == .ok, "\(query)")
                    let lines = ((json(response) as? [[String: Any]]) ?? []).compactMap { $0["line_no"] as? Int }
                    #expect(lines == expected, "\(query)")
                }
            }
        }
    }
}

@Suite struct StatsTests {
    @Test func countsPerDepartmentErrorCodeAndRun() async throws {
        let fixture = try APIFixture()
        let seeded = try await fixture.seedUsers()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/stats", method: .get) { response in
                #expect(response.status == .ok)
                let stats = try #require(json(response) as? [String: Any])
                #expect(stats["run_id"] is NSNull)
                let totals = try #require(stats["totals"] as? [String: Int])
                #expect(totals == ["runs": 2, "processed_users": 4, "invalid_users": 3])
                let departments = try #require(stats["by_department"] as? [[String: Any]])
                #expect(departments.map { $0["department_code"] as? String } == ["ENG", "LEG", "SAL"])
                #expect(departments.map { $0["count"] as? Int } == [2, 1, 1])
                let codes = try #require(stats["by_error_code"] as? [[String: Any]])
                #expect(Set(codes.compactMap { $0["error_code"] as? String }) == ["invalid_first_name", "invalid_email", "unknown_department"])
                #expect(codes.allSatisfy { $0["count"] as? Int == 1 })
                let runs = try #require(stats["by_run"] as? [[String: Any]])
                #expect(runs.map { $0["id"] as? String } == [seeded.runID.timestamp, seeded.otherRunID.timestamp])
                #expect(runs[0]["valid_count"] as? Int == 200)
                #expect(runs[0]["invalid_count"] as? Int == 8)
            }
            try await client.execute(uri: "/stats?run_id=\(seeded.otherRunID)", method: .get) { response in
                let stats = try #require(json(response) as? [String: Any])
                #expect(stats["run_id"] as? String == seeded.otherRunID.timestamp)
                #expect(stats["totals"] as? [String: Int] == ["runs": 1, "processed_users": 1, "invalid_users": 0])
                #expect((stats["by_run"] as? [Any])?.count == 1)
                #expect((stats["by_error_code"] as? [Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/stats?run_id=20990101_000000", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(errorCode(response) == "run_not_found")
            }
        }
    }
}
