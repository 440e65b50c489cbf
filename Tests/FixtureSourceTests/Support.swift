import CurlHTTP
import Dispatch
import FixtureSource
import Foundation
import Testing

/// CurlHTTPClient blocks its thread: run each call on a thread of its own, never on the cooperative
/// pool (two threads here) which also runs the in-process server. (`DispatchQueue.global()` is no
/// better on Linux: it shares its few threads with Swift concurrency's default executor.)
func fetch(_ url: String, timeout: Double = 10, client: CurlHTTPClient = CurlHTTPClient()) async throws -> HTTPResponse {
    try await timedFetch(url, timeout: timeout, client: client).result.get()
}

/// The call's outcome and how long the call itself took, measured on its own thread: the time
/// until the awaiting task resumes also counts how busy the cooperative pool is, which says
/// nothing about the client.
func timedFetch(_ url: String, timeout: Double, client: CurlHTTPClient = CurlHTTPClient())
    async -> (result: Result<HTTPResponse, any Error>, seconds: Double) {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            let started = Date()
            let result = Result { try client.get(url, timeoutSeconds: timeout) }
            continuation.resume(returning: (result, Date().timeIntervalSince(started)))
        }
        thread.start()
    }
}


struct Page {
    let users: [[String: Any]]
    let total: Int
    let skip: Int
    let limit: Int
    var ids: [Int] { users.compactMap { $0["id"] as? Int } }
}

struct NotAnEnvelope: Error, CustomStringConvertible {
    let text: String
    var description: String { "not a users envelope: \(text.prefix(300))" }
}

func parseJSON(_ body: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(body))
}

func parsePage(_ response: HTTPResponse) throws -> Page {
    #expect(response.status == 200, "status \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
    guard let object = try parseJSON(response.body) as? [String: Any],
          let users = object["users"] as? [[String: Any]],
          let total = object["total"] as? Int, let skip = object["skip"] as? Int, let limit = object["limit"] as? Int
    else { throw NotAnEnvelope(text: String(decoding: response.body, as: UTF8.self)) }
    #expect(Set(object.keys) == ["users", "total", "skip", "limit"])
    return Page(users: users, total: total, skip: skip, limit: limit)
}

func fetchPage(_ server: RunningFixtureServer, _ query: String) async throws -> Page {
    try parsePage(try await fetch(server.usersURL + query))
}

/// The transformer's rules (SPEC §2), independently restated: the fields a user breaks.
func brokenRules(_ user: [String: Any]) -> Set<String> {
    var broken: Set<String> = []
    if !(user["id"] is Int) { broken.insert("id") }
    if (user["firstName"] as? String)?.isEmpty != false { broken.insert("firstName") }
    let email = user["email"] as? String ?? ""
    if email.range(of: #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#, options: .regularExpression) == nil { broken.insert("email") }
    if let age = user["age"] as? Int, (18...65).contains(age) {} else { broken.insert("age") }
    let department = (user["company"] as? [String: Any])?["department"] as? String ?? ""
    if !FixtureUsers.departments.contains(department) { broken.insert("company.department") }
    return broken
}

let dummyJSONUserKeys: Set<String> = [
    "id", "firstName", "lastName", "maidenName", "age", "gender", "email", "phone", "username", "password",
    "birthDate", "image", "bloodGroup", "height", "weight", "eyeColor", "hair", "ip", "address", "macAddress",
    "university", "bank", "company", "ein", "ssn", "userAgent", "crypto", "role",
]
let addressKeys: Set<String> = ["address", "city", "state", "stateCode", "postalCode", "coordinates", "country"]

func temporaryFile(_ name: String, contents: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-source-tests-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try Data(contents.utf8).write(to: url)
    return url
}
