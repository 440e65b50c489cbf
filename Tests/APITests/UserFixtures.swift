import ETLCore
import Foundation
import Loading

/// Personal values planted in every seeded record (top level, nested, in arrays, with other
/// key casings): none of them may appear in any response body.
enum Secrets {
    static let password = "S3cret-Pass-Word!"
    static let nestedPassword = "nested-secret-pw-77"
    static let capitalisedPassword = "Capital-Pw-Secret"
    static let ssn = "123-45-6789"
    static let upperSSN = "999-88-7777"
    static let ein = "98-7654321"
    static let cardNumber = "4111111111119876"
    static let iban = "DE89370400440532013000"
    static let wallet = "0x1234567890abcdef1234567890abcdef1234ab99"
    static let ip = "192.168.100.200"
    static let macAddress = "AA:BB:CC:DD:EE:FF"
    static let unparsedLineSecret = "hunter2-plain-text"

    static let all = [password, nestedPassword, capitalisedPassword, ssn, upperSSN, ein, cardNumber, iban, wallet, ip,
                      macAddress, unparsedLineSecret]
}

/// One user record with every sensitive field, as the extractor stores it.
func userRecord(id: Int, firstName: String, lastName: String, email: String, department: String, extra: String = "") -> String {
    """
    {"id":\(id),"firstName":"\(firstName)","lastName":"\(lastName)","email":"\(email)","age":30,"gender":"female",\
    "password":"\(Secrets.password)","Password":"\(Secrets.capitalisedPassword)","ssn":"\(Secrets.ssn)","SSN":"\(Secrets.upperSSN)",\
    "ein":"\(Secrets.ein)","ip":"\(Secrets.ip)","macAddress":"\(Secrets.macAddress)",\
    "bank":{"cardNumber":"\(Secrets.cardNumber)","iban":"\(Secrets.iban)","cardType":"Visa"},\
    "crypto":{"coin":"Bitcoin","wallet":"\(Secrets.wallet)"},\
    "logins":[{"ip":"\(Secrets.ip)","password":"\(Secrets.nestedPassword)"}],\
    "address":{"city":"Paris","country":"France"},\
    "company":{"department":"\(department)","name":"Acme","title":"Engineer"}\(extra)}
    """
}

/// The users of one seeded run: three valid (two departments, one name with `%` and `_`),
/// three invalid (one of them not JSON at all).
struct SeededUsers {
    let runID: RunID
    let otherRunID: RunID

    static let processed: [(first: String, last: String, email: String, department: String, code: String)] = [
        ("Ada", "Lovelace", "ada@example.com", "Engineering", "ENG"),
        ("Grace", "Hopper", "grace.hopper@navy.example", "Engineering", "ENG"),
        ("100%_Sure", "Percent", "pct@example.com", "Sales", "SAL"),
    ]
}

extension APIFixture {
    /// Seeds `runs(2)` and loads users into both runs through the saver's own loader: the
    /// newer run gets `SeededUsers.processed` and three DLQ lines; the older one a single user.
    func seedUsers() async throws -> SeededUsers {
        let ids = try await seed(runs: 2)
        let database = try PipelineDatabase(path: databasePath)
        let loader = RunLoader(database: database)
        let processed = SeededUsers.processed.enumerated().map { index, user in
            userRecord(id: index + 1, firstName: user.first, lastName: user.last, email: user.email,
                       department: user.department, extra: #","department_code":"\#(user.code)""#)
        }
        let invalid = [
            userRecord(id: 10, firstName: "", lastName: "Nobody", email: "no-at-sign", department: "Legal",
                       extra: #","error_reason":"firstName: empty; email: invalid","error_codes":["invalid_first_name","invalid_email"]"#),
            userRecord(id: 11, firstName: "Zed", lastName: "Young", email: "zed@example.com", department: "Astrology",
                       extra: #","error_reason":"unknown department","error_codes":["unknown_department"]"#),
            "this is not json password=\(Secrets.unparsedLineSecret)",
        ]
        try await load(processed, into: .processed, runID: ids[1], loader: loader)
        try await load(invalid, into: .invalid, runID: ids[1], loader: loader)
        let older = userRecord(id: 1, firstName: "Old", lastName: "Timer", email: "old@example.com", department: "Legal",
                               extra: #","department_code":"LEG""#)
        try await load([older], into: .processed, runID: ids[0], loader: loader)
        return SeededUsers(runID: ids[1], otherRunID: ids[0])
    }

    private func load(_ lines: [String], into table: LoadTable, runID: RunID, loader: RunLoader) async throws {
        let file = root.appendingPathComponent("\(table.rawValue)_\(runID).jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        _ = try await loader.load(file, into: table, runID: runID)
    }
}
