import ETLCore
import FixtureSource
import Foundation
import Logging
@testable import Transformation

/// The 12 DummyJSON departments, as shipped in config/departments.csv.
let standardDepartments = DepartmentLookup(codes: [
    "Accounting": "ACC", "Business Development": "BD", "Engineering": "ENG", "Human Resources": "HR",
    "Legal": "LEG", "Marketing": "MKT", "Product Management": "PM", "Research and Development": "RND",
    "Sales": "SAL", "Services": "SRV", "Support": "SUP", "Training": "TRN",
])

let standardValidator = RecordValidator(ageRange: 18...65, departments: standardDepartments)
let standardTransformer = LineTransformer(validator: standardValidator)

let quietLogger = Logger(label: "transformation-tests") { _ in SwiftLogNoOpLogHandler() }

/// A user line shaped like DummyJSON's. Each field is raw JSON text (nil leaves the field out),
/// so tests can put any type or broken value in any place.
func userLine(
    id: String? = "1", firstName: String? = #""Emily""#, email: String? = #""emily.johnson@x.dummyjson.com""#,
    age: String? = "29", company: String? = #"{"department":"Engineering","name":"Dooley","title":"Sales Manager"}"#,
    extra: String = #""lastName":"Johnson","hair":{"color":"Brown","type":"Curly"},"height":193.24,"tags":[1,"two",null,true]"#
) -> String {
    var members: [String] = []
    if let id { members.append(#""id":\#(id)"#) }
    if let firstName { members.append(#""firstName":\#(firstName)"#) }
    if !extra.isEmpty { members.append(extra) }
    if let email { members.append(#""email":\#(email)"#) }
    if let age { members.append(#""age":\#(age)"#) }
    if let company { members.append(#""company":\#(company)"#) }
    return "{" + members.joined(separator: ",") + "}"
}

/// Parses an output line with Foundation (an independent parser) into a dictionary.
func foundationObject(_ line: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
    guard let dictionary = object as? [String: Any] else {
        throw TestError("not an object: \(line)")
    }
    return dictionary
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("transformation-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

func writeLines(_ lines: [String], to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: url)
}

func readLines(_ url: URL) throws -> [String] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    return lines
}

func listDirectory(_ directory: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
}

/// Polls `condition` every 10 ms until it holds; gives up after `seconds` (generous: a busy
/// 2-core machine running the whole suite can keep a test waiting for many seconds).
func eventually(timeout seconds: Double = 60, _ condition: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A clock whose sleeps return at once (retry backoff without waiting).
struct InstantClock: PipelineClock {
    func now() -> Date { Date() }
    func sleep(seconds: Double) async throws { try Task.checkCancellation() }
}


/// `text` as a JSON string literal, escaped as the transformer's output lines are.
func jsonQuoted(_ text: String) -> String {
    JSONWriter.quoted(text, controlEscapes: .everyShortForm)
}
