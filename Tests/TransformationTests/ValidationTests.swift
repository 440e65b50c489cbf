import Testing
@testable import Transformation

@Suite("Record validation")
struct ValidationTests {
    func verdict(_ line: String, validator: RecordValidator = standardValidator) -> RecordVerdict {
        LineTransformer(validator: validator).verdict(for: line)
    }

    @Test func aDummyJSONShapedRecordIsValid() {
        #expect(verdict(userLine()) == .valid(departmentCode: "ENG"))
        #expect(verdict(userLine(company: #"{"department":"Research and Development"}"#)) == .valid(departmentCode: "RND"))
    }

    // MARK: id

    @Test(arguments: ["0", "-3", "9223372036854775807", "-9223372036854775808"])
    func integerIDsAreValid(_ id: String) {
        #expect(verdict(userLine(id: id)) == .valid(departmentCode: "ENG"))
    }

    @Test(arguments: [
        (nil, "id is missing"),
        (#""1""#, #"id must be an integer, got string "1""#),
        ("true", "id must be an integer, got boolean true"),
        ("null", "id must be an integer, got null"),
        ("[1]", "id must be an integer, got an array"),
        ("1.5", "id must be an integer, got 1.5"),
        ("42.0", "id must be an integer, got 42.0"),
        ("1e3", "id must be an integer, got 1e3"),
        ("1e400", "id must be an integer, got 1e400"),
        ("12345678901234567890123", "id 12345678901234567890123 does not fit in a 64-bit integer"),
        ("9223372036854775808", "id 9223372036854775808 does not fit in a 64-bit integer"),
    ] as [(String?, String)])
    func invalidIDs(_ id: String?, _ message: String) {
        #expect(verdict(userLine(id: id)) == .invalid([ValidationFailure(.invalidID, message)]))
    }

    // MARK: firstName

    @Test(arguments: [#""Zoë""#, #""李""#, #""Ana María""#, #""\u00c9mile""#, #"" x ""#])
    func unicodeAndPaddedNamesAreValid(_ name: String) {
        #expect(verdict(userLine(firstName: name)) == .valid(departmentCode: "ENG"))
    }

    @Test(arguments: [
        (nil, "firstName is missing"),
        ("5", "firstName must be a string, got 5"),
        (#""""#, "firstName is empty"),
        (#""   ""#, "firstName is only whitespace"),
        (#""\t\n\u00a0\u3000""#, "firstName is only whitespace"),
        ("null", "firstName must be a string, got null"),
        (#"{"a":1}"#, "firstName must be a string, got an object"),
    ] as [(String?, String)])
    func invalidFirstNames(_ name: String?, _ message: String) {
        #expect(verdict(userLine(firstName: name)) == .invalid([ValidationFailure(.invalidFirstName, message)]))
    }

    // MARK: email

    @Test(arguments: [
        "a@b.co", "emily.johnson@x.dummyjson.com", "first+tag@mail-server.example.org", "o'brien@example.ie",
        "josé@example.com", "用户@example.com", "A_B-c@EXAMPLE.COM", "x@xn--bcher-kva.de", "1@2.io",
    ])
    func validEmails(_ email: String) {
        #expect(verdict(userLine(email: jsonQuoted(email))) == .valid(departmentCode: "ENG"))
    }

    @Test(arguments: [
        ("", "it is empty"),
        ("plainaddress", "it has no '@'"),
        ("a@b@c.com", "it has more than one '@'"),
        ("@example.com", "the part before '@' is empty"),
        ("a b@example.com", "it contains whitespace"),
        (" a@example.com", "it contains whitespace"),
        ("a@example.com ", "it contains whitespace"),
        ("a\u{00A0}b@example.com", "it contains whitespace"),
        ("a\u{7}b@example.com", "it contains a control character"),
        (".a@example.com", "starts or ends with '.'"),
        ("a.@example.com", "starts or ends with '.'"),
        ("a..b@example.com", "contains '..'"),
        (String(repeating: "a", count: 65) + "@example.com", "longer than 64 bytes"),
        ("a@", "the domain is empty"),
        ("a@localhost", "the domain has no '.'"),
        ("a@.example.com", "empty label"),
        ("a@example..com", "empty label"),
        ("a@example.com.", "empty label"),
        ("a@exa_mple.com", "ASCII letters, digits"),
        ("a@bücher.de", "ASCII letters, digits"),
        ("a@-example.com", "starts or ends with '-'"),
        ("a@example-.com", "starts or ends with '-'"),
        ("a@example.c", "top-level domain"),
        ("a@example.c0m", "top-level domain"),
        ("a@example.123", "top-level domain"),
        ("a@" + String(repeating: "a", count: 64) + ".com", "longer than 63"),
        ("a@" + String(repeating: "abcdefghi.", count: 26) + "com", "longer than 253"),
    ])
    func invalidEmails(_ email: String, _ reason: String) {
        let result = verdict(userLine(email: jsonQuoted(email)))
        #expect(result.codes == [.invalidEmail], "\(email)")
        #expect(result.failures.first?.message.contains(reason) == true, "\(email): \(result)")
        let quotedPrefix = String(jsonQuoted(String(email.prefix(40))).dropLast())
        #expect(result.failures.first?.message.hasPrefix("email \(quotedPrefix)") == true)
    }

    @Test(arguments: [
        (nil, "email is missing"),
        ("5", "email must be a string, got 5"),
        ("false", "email must be a string, got boolean false"),
        (#"["a@b.co"]"#, "email must be a string, got an array"),
    ] as [(String?, String)])
    func emailOfTheWrongType(_ email: String?, _ message: String) {
        #expect(verdict(userLine(email: email)) == .invalid([ValidationFailure(.invalidEmail, message)]))
    }

    // MARK: age

    @Test(arguments: ["18", "65", "18.0", "64.99", "3.0e1", "6.5E1", "0.18e2"])
    func agesInRange(_ age: String) {
        #expect(verdict(userLine(age: age)) == .valid(departmentCode: "ENG"))
    }

    @Test(arguments: [
        ("17", "age 17 is outside [18, 65]"),
        ("17.999", "age 17.999 is outside [18, 65]"),
        ("65.01", "age 65.01 is outside [18, 65]"),
        ("80", "age 80 is outside [18, 65]"),
        ("-30", "age -30 is outside [18, 65]"),
        ("1e400", "age 1e400 is outside [18, 65]"),
        ("-1e400", "age -1e400 is outside [18, 65]"),
        ("123456789012345678901234567890", "age 123456789012345678901234567890 is outside [18, 65]"),
    ])
    func agesOutOfRange(_ age: String, _ message: String) {
        #expect(verdict(userLine(age: age)) == .invalid([ValidationFailure(.ageOutOfRange, message)]))
    }

    @Test(arguments: [
        (nil, "age is missing"),
        (#""30""#, #"age must be a number, got string "30""#),
        ("true", "age must be a number, got boolean true"),
        ("null", "age must be a number, got null"),
        ("{}", "age must be a number, got an object"),
    ] as [(String?, String)])
    func agesOfTheWrongType(_ age: String?, _ message: String) {
        #expect(verdict(userLine(age: age)) == .invalid([ValidationFailure(.invalidAge, message)]))
    }

    @Test func ageRangeComesFromConfiguration() {
        let narrow = RecordValidator(ageRange: 30...40, departments: standardDepartments)
        #expect(verdict(userLine(age: "29"), validator: narrow).failures == [ValidationFailure(.ageOutOfRange, "age 29 is outside [30, 40]")])
        #expect(verdict(userLine(age: "30"), validator: narrow) == .valid(departmentCode: "ENG"))
        #expect(verdict(userLine(age: "40"), validator: narrow) == .valid(departmentCode: "ENG"))
        #expect(verdict(userLine(age: "41"), validator: narrow).codes == [.ageOutOfRange])
    }

    // MARK: department

    @Test(arguments: [
        (nil, ValidationCode.invalidDepartment, "company.department is missing (no company)"),
        ("{}", .invalidDepartment, "company.department is missing"),
        (#""Engineering""#, .invalidDepartment, #"company must be an object, got string "Engineering""#),
        (#"{"department":7}"#, .invalidDepartment, "company.department must be a string, got 7"),
        (#"{"department":null}"#, .invalidDepartment, "company.department must be a string, got null"),
        (#"{"department":""}"#, .invalidDepartment, "company.department is empty"),
        (#"{"department":"  "}"#, .invalidDepartment, "company.department is only whitespace"),
        (#"{"department":"Quantum"}"#, .unknownDepartment, #"department "Quantum" is not in the department lookup"#),
        (#"{"department":"engineering"}"#, .unknownDepartment, #"department "engineering" is not in the department lookup"#),
        (#"{"department":"Engineering "}"#, .unknownDepartment, #"department "Engineering " is not in the department lookup"#),
    ] as [(String?, ValidationCode, String)])
    func invalidDepartments(_ company: String?, _ code: ValidationCode, _ message: String) {
        #expect(verdict(userLine(company: company)) == .invalid([ValidationFailure(code, message)]))
    }

    @Test func departmentKeyInsideAnotherObjectDoesNotCount() {
        let line = userLine(company: #"{"name":"X","address":{"department":"Engineering"}}"#)
        #expect(verdict(line).codes == [.invalidDepartment])
    }

    // MARK: several failures, non-objects

    @Test func reportsEveryFailureInAStableOrder() {
        let line = userLine(id: #""x""#, firstName: "5", email: #""nope""#, age: "true", company: #"{"department":"Nowhere"}"#)
        let result = verdict(line)
        #expect(result.codes == [.invalidID, .invalidFirstName, .invalidEmail, .invalidAge, .unknownDepartment])
        let everythingMissing = verdict("{}")
        #expect(everythingMissing.codes == [.invalidID, .invalidFirstName, .invalidEmail, .invalidAge, .invalidDepartment])
        #expect(verdict(userLine(age: "99", company: "{}")).codes == [.ageOutOfRange, .invalidDepartment])
    }

    @Test(arguments: [
        ("[1,2]", "line is a JSON array, not an object"),
        ("42", "line is a JSON number, not an object"),
        (#""a string""#, "line is a JSON string, not an object"),
        ("null", "line is a JSON null, not an object"),
        ("true", "line is a JSON boolean, not an object"),
        ("", "line is empty"),
        ("   \t", "line is blank"),
        (#"{"id":1,"firstName":"Emily""#, "line is not valid JSON: unterminated object at byte 27"),
        (#"{"id":1,}"#, "line is not valid JSON: trailing comma in object at byte 8"),
        ("{\"id\":NaN}", "line is not valid JSON: unexpected 'N', expected a value at byte 6"),
    ])
    func nonObjectsAreInvalidJSON(_ line: String, _ message: String) {
        #expect(verdict(line) == .invalid([ValidationFailure(.invalidJSON, message)]))
    }

    @Test func duplicateKeysUseTheLastOccurrence() {
        let line = #"{"id":"bad","id":7,"firstName":"A","email":"a@b.co","age":30,"company":{"department":"Sales"}}"#
        #expect(verdict(line) == .valid(departmentCode: "SAL"))
    }

    @Test func escapedFieldNamesAreMatched() {
        // "\u0069d" is "id": JSON escapes in member names are decoded before matching.
        let line = #"{"\u0069d":7,"first\u004eame":"A","email":"a@b.co","age":30,"company":{"department":"Sa\u006ces"}}"#
        #expect(verdict(line) == .valid(departmentCode: "SAL"))
    }
}
