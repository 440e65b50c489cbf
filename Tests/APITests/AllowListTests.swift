import ETLCore
import FixtureSource
import Foundation
import Hummingbird
import HummingbirdTesting
import Loading
import PipelineSchema
import ResultsAPI
import Testing
import Transformation
import NIOFoundationEssentialsCompat

/// Every kind of broken line the hostile-source tests produce, built from one real user's
/// bytes so that each still carries that user's personal values.
enum BrokenLines {
    static let validDeepRecord = "deeply nested secret"

    /// `user` is one compact JSON object.
    static func all(from user: [UInt8], secret: String) -> [(name: String, bytes: [UInt8])] {
        let text = String(decoding: user, as: UTF8.self)
        let body = Array(text.utf8.dropLast())  // without the closing brace
        func withMember(_ member: String) -> [UInt8] { body + Array(",\(member)}".utf8) }
        return [
            ("invalid UTF-8 byte", withMember(#""notes":"a\#u{FFFD}b \#(secret)""#).replacingFFFD()),
            ("lone high surrogate", withMember(#""notes":"\uD800 \#(secret)""#)),
            ("lone low surrogate", withMember(#""notes":"\uDC00""#)),
            ("bad escape", withMember(#""notes":"\x41 \#(secret)""#)),
            ("raw control character", withMember("\"notes\":\"tab\u{01}\(secret)\"")),
            ("raw NUL", withMember("\"notes\":\"nul\u{0}\(secret)\"")),
            ("truncated", Array(user.prefix(user.count * 2 / 3))),
            ("trailing garbage", user + Array(" trailing \(secret)".utf8)),
            ("two objects", user + user),
            ("a JSON array", Array("[".utf8) + user + Array("]".utf8)),
            ("a JSON string", Array("\"\(secret) \(text.replacingOccurrences(of: "\"", with: "'"))\"".utf8)),
            ("unquoted key", Array("{id:1,\"password\":\"\(secret)\"}".utf8)),
            ("single quotes", Array(text.replacingOccurrences(of: "\"", with: "'").utf8)),
            ("plain text", Array("password=\(secret) \(text)".utf8)),
            ("backslash before the line end", withMember(#""notes":"end\"#)),
            // Valid JSON that fails validation and carries look-alike members of the DLQ shape.
            ("forged DLQ members", withMember(
                #""raw_line":"\#(secret)","error_reason":"\#(secret)","error_codes":["\#(secret)"]"#)
                .replacing(#""age":"#, with: #""age":"old","ageWas":"#)),
            // A validated member holding an object: `q` must not search inside it.
            ("object as a name", Array(text.replacingOccurrences(
                of: #""firstName":"#, with: #""firstName":{"ssn":"\#(secret)"},"firstNameWas":"#).utf8)),
            ("id as a string", Array(text.replacingOccurrences(of: #"{"id":"#, with: #"{"id":"x"#).utf8)),
            ("no email", Array(text.replacingOccurrences(of: #""email":"#, with: #""mail":"#).utf8)),
            (validDeepRecord, withMember(
                #""deep":"# + String(repeating: "[", count: 200) + "\"\(secret)\"" + String(repeating: "]", count: 200))),
        ]
    }
}

private extension Array where Element == UInt8 {
    /// The U+FFFD placeholder replaced by one invalid byte (0xFF).
    func replacingFFFD() -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < count {
            if index + 2 < count, self[index] == 0xEF, self[index + 1] == 0xBF, self[index + 2] == 0xBD {
                out.append(0xFF)
                index += 3
            } else {
                out.append(self[index])
                index += 1
            }
        }
        return out
    }

    func replacing(_ old: String, with new: String) -> [UInt8] {
        Array(String(decoding: self, as: UTF8.self).replacingOccurrences(of: old, with: new).utf8)
    }
}

/// The values of a DummyJSON-shaped user that the API must never serve: every string (and
/// long number) under a member the allow-list does not serve, unless the same text is also
/// a served value (a hair colour "Brown" that is someone's last name).
enum PersonalValues {
    /// The source members the API serves (as `processed_users` columns), by path.
    static let servedPaths: Set<String> = [
        "id", "firstName", "lastName", "email", "age", "gender", "company.department", "company.name", "company.title",
        "address.city", "address.country",
    ]

    static func of(users: [[UInt8]]) throws -> [String] {
        var served: [String] = []
        var unserved: Set<String> = []
        for user in users {
            let object = try JSONSerialization.jsonObject(with: Data(user))
            collect(object, path: "", served: &served, unserved: &unserved)
        }
        let servedText = served.joined(separator: "\u{1}")
        // Short values ("O-", "Visa") would match by chance; anything inside a served value
        // could be served legitimately.
        return unserved.filter { $0.count >= 6 && !servedText.contains($0) }.sorted()
    }

    private static func collect(_ value: Any, path: String, served: inout [String], unserved: inout Set<String>) {
        switch value {
        case let object as [String: Any]:
            for (key, member) in object {
                collect(member, path: path.isEmpty ? key : "\(path).\(key)", served: &served, unserved: &unserved)
            }
        case let array as [Any]:
            for element in array { collect(element, path: path, served: &served, unserved: &unserved) }
        case let number as NSNumber:
            let text = number.stringValue
            if servedPaths.contains(path) { served.append(text) } else if text.count >= 6 { unserved.insert(text) }
        case let string as String:
            if servedPaths.contains(path) { served.append(string) } else { unserved.insert(string) }
        default:
            break
        }
    }
}

@Suite struct AllowListTests {
    static let secret = "Hostile-Secret-4111111111111111"
    static let dummyJSONPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../../shared/fixtures/dummyjson-users.json").standardized.path

    /// 100 generated users (10 % invalid in every way the generator knows), each followed by
    /// every broken variant of itself for a few of them; transformed by the real transformer,
    /// loaded by the real loader; then every route is read, with its filters, and no personal
    /// value of any user may appear in any answer.
    @Test func noPersonalValueOfAnyBrokenRecordIsServedByAnyRoute() async throws {
        let users = FixtureUsers.generate(count: 100, invalidRate: 0.1, seed: 9)
        try await checkNothingPersonalIsServed(users: users)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: dummyJSONPath)))
    func noPersonalValueOfTheDummyJSONSampleIsServed() async throws {
        let users = try FixtureUsers.load(fixtureFile: Self.dummyJSONPath)
        try await checkNothingPersonalIsServed(users: Array(users.prefix(60)))
    }

    private func checkNothingPersonalIsServed(users: [[UInt8]]) async throws {
        let fixture = try APIFixture()
        let runID = RunID(date: Date(timeIntervalSince1970: 1_800_000_000))
        let files = RunFiles(dataDirectory: fixture.root.appendingPathComponent("data"), runID: runID)
        try RunFiles.createDirectories(under: files.dataDirectory)
        var raw: [UInt8] = []
        var brokenCount = 0
        for (index, user) in users.enumerated() {
            raw += user + [0x0A]
            if index % 10 == 3 {
                for (name, line) in BrokenLines.all(from: user, secret: Self.secret) {
                    raw += line + [0x0A]
                    // The deep one is a valid user when its base user is (served as such).
                    if name != BrokenLines.validDeepRecord { brokenCount += 1 }
                }
            }
        }
        raw += Array("\n   \n".utf8)  // an empty and a blank line
        try Data(raw).write(to: files.raw)

        let departments = DepartmentLookup(codes: Dictionary(uniqueKeysWithValues: FixtureUsers.departments.map {
            ($0, String($0.prefix(3)).uppercased())
        }))
        // The transformation and the greps below are long CPU-bound work: off the cooperative
        // pool, which the API under test (and the other suites) run on.
        let executor = BlockingExecutor(label: "allow-list-tests")
        let transformer = RunTransformer(validator: RecordValidator(ageRange: 18...65, departments: departments))
        let result = try await executor.run { try transformer.transform(files) }
        #expect(result.invalidCount >= brokenCount)

        let database = try PipelineDatabase(path: fixture.databasePath)
        let loader = RunLoader(database: database)
        _ = try await loader.load(files.raw, into: .raw, runID: runID)
        _ = try await loader.load(files.processed, into: .processed, runID: runID)
        _ = try await loader.load(files.deadLetter, into: .invalid, runID: runID)
        var event = RunEvent(runID: runID, status: .loading)
        event.extractedCount = result.lineCount
        event.validCount = result.validCount
        event.invalidCount = result.invalidCount
        try await database.recordEvent(event)

        let personal = try await executor.run { try PersonalValues.of(users: users) } + [Self.secret]
        // The check can fail: the stored files do hold these values.
        let dlq = try String(contentsOf: files.deadLetter, encoding: .utf8)
        #expect(dlq.contains(Self.secret))
        #expect(dlq.contains(#""raw_line":"#))
        let stored = try String(contentsOf: files.processed, encoding: .utf8) + dlq
        #expect(personal.filter { stored.contains($0) }.count > personal.count / 2)

        let paths = [
            "/etl_runs", "/etl_runs/\(runID)", "/etl_runs?status=loading", "/processed_users?limit=1000",
            "/processed_users?run_id=\(runID)&limit=1000", "/processed_users?q=a&limit=1000", "/processed_users?q=%40&limit=1000",
            "/invalid_users?limit=1000", "/invalid_users?run_id=\(runID)&limit=1000", "/invalid_users?error_code=invalid_json&limit=1000",
            "/invalid_users?q=a&limit=1000", "/invalid_users?q=Hostile&limit=1000", "/invalid_users?q=ssn&limit=1000", "/stats", "/stats?run_id=\(runID)", "/health",
            "/metrics", "/openapi.json", "/",
        ]
        try await fixture.app().test(.router) { client in
            for path in paths {
                let (status, body) = try await client.execute(uri: path, method: .get) { response in
                    (response.status, String(decoding: Data(buffer: response.body), as: UTF8.self))
                }
                #expect(status == .ok, "\(path)")
                let leaked = try await executor.run { personal.filter { body.contains($0) } }
                #expect(leaked.count == 0, "\(path) serves \(leaked.count) personal values, e.g. \(leaked.prefix(3))")
            }
            // Unparseable lines are shown by their length, position and error only.
            let rows = try await client.execute(uri: "/invalid_users?error_code=invalid_json&limit=1000", method: .get) {
                try #require(json($0) as? [[String: Any]])
            }
            #expect(rows.count >= 12)
            for row in rows where !(row["raw_line_length"] is NSNull) {
                #expect((row["raw_line_length"] as? Int ?? 0) >= 0)
                #expect(row["line_no"] is Int)
                #expect((row["error_reason"] as? String)?.isEmpty == false)
                #expect(Set(row.keys) == Set(ServedFields.invalidUserNames))
            }
            #expect(rows.contains { ($0["raw_line_length"] as? Int ?? 0) > 100 })
            // `q` is no oracle: text only inside non-served members (a secret inside an object
            // in firstName, a password) matches nothing.
            for probe in ["Hostile-Secret", "ssn"] {
                let total = try await client.execute(uri: "/invalid_users?q=\(probe)", method: .get) { totalCount($0) }
                #expect(total == "0", "q=\(probe)")
            }
        }
    }
}
