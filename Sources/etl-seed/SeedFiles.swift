import ETLCore
import FixtureSource
import Foundation

/// Writes one run's three files the way the extractor and the transformer would: the raw
/// users as generated; valid ones plus `department_code`; invalid ones plus `error_reason`
/// and `error_codes` (the transformer's codes for the way `FixtureUsers` broke them).
enum SeedFiles {
    struct Counts {
        var valid = 0
        var invalid = 0
    }

    /// `config/departments.csv`, the transformer's lookup for DummyJSON's 12 departments.
    static let departmentCodes: [String: String] = [
        "Accounting": "ACC", "Business Development": "BD", "Engineering": "ENG", "Human Resources": "HR",
        "Legal": "LEG", "Marketing": "MKT", "Product Management": "PM", "Research and Development": "RND",
        "Sales": "SAL", "Services": "SRV", "Support": "SUP", "Training": "TRN",
    ]

    /// The writers are closed (flushed) when this returns, so the loader sees whole files.
    static func write(_ users: FixtureUsers, to files: RunFiles) throws -> Counts {
        let raw = try LineWriter(path: files.raw.path)
        let processed = try LineWriter(path: files.processed.path)
        let deadLetter = try LineWriter(path: files.deadLetter.path)
        var counts = Counts()
        for id in stride(from: 1, through: users.count, by: 1) {
            let user = users.user(id: id)
            try raw.writeLine(user)
            if let kind = users.invalidKind(id: id) {
                try deadLetter.writeLine(appending(deadLetterMembers(kind), to: user))
                counts.invalid += 1
            } else {
                let code = department(of: user).flatMap { departmentCodes[$0] } ?? ""
                try processed.writeLine(appending(#","department_code":"\#(code)""#, to: user))
                counts.valid += 1
            }
        }
        return counts
    }

    /// `user` (a compact JSON object) with `members` (`,"k":v…`) added before its closing brace.
    static func appending(_ members: String, to user: [UInt8]) -> [UInt8] {
        var line = user
        if line.last == UInt8(ascii: "}") { line.removeLast() }
        line.append(contentsOf: members.utf8)
        line.append(UInt8(ascii: "}"))
        return line
    }

    /// The first `"department":"…"` member: the company's (users have no other).
    static func department(of user: [UInt8]) -> String? {
        let key = Array(#""department":""#.utf8)
        guard let start = user.firstRange(of: key)?.upperBound,
              let end = user[start...].firstIndex(of: UInt8(ascii: "\""))
        else { return nil }
        return String(decoding: user[start..<end], as: UTF8.self)
    }

    static func deadLetterMembers(_ kind: FixtureUsers.InvalidKind) -> String {
        let (codes, reason) = failure(kind)
        let array = codes.map { "\"\($0)\"" }.joined(separator: ",")
        return #","error_reason":"\#(reason)","error_codes":[\#(array)]"#
    }

    /// The transformer's codes and a message for each way a fixture user is broken.
    static func failure(_ kind: FixtureUsers.InvalidKind) -> (codes: [String], reason: String) {
        switch kind {
        case .idAsString: (["invalid_id"], "id: expected an integer")
        case .emptyFirstName, .missingFirstName: (["invalid_first_name"], "firstName: expected a non-empty string")
        case .emailWithoutAt, .emailWithoutDomainDot, .emailWithSpace: (["invalid_email"], "email: not a valid address")
        case .ageTooYoung, .ageTooOld: (["age_out_of_range"], "age: outside 18...65")
        case .ageAsString: (["invalid_age"], "age: expected a number")
        case .missingDepartment, .emptyDepartment: (["invalid_department"], "company.department: expected a non-empty string")
        case .unknownDepartment: (["unknown_department"], "company.department: not in the departments lookup")
        case .severalProblems:
            (["invalid_first_name", "invalid_email", "age_out_of_range"],
             "firstName: expected a non-empty string; email: not a valid address; age: outside 18...65")
        }
    }
}
