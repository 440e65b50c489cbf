import ETLCore
import Foundation
import Testing
@testable import Loading

@Suite struct JSONFieldScannerTests {
    let spec = FieldSpec(paths: ["id", "name", "company.department", "age", "codes", "flag", "none"])

    func scan(_ text: String) throws -> [ScannedValue?] {
        try Self.scan(text, spec: spec)
    }

    static func scan(_ text: String, spec: FieldSpec) throws -> [ScannedValue?] {
        let slots = UnsafeMutablePointer<ScanSlot>.allocate(capacity: spec.slotCount)
        defer { slots.deallocate() }
        // An exact-size copy: the scanner must never read past the line's end.
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { line in
            try JSONFieldScanner.scan(line, spec: spec, into: slots)
            return (0..<spec.slotCount).map { ScannedValue(slots[$0], in: line) }
        }
    }

    @Test func capturesWantedMembersAtAnyPositionAndSkipsTheRest() throws {
        let slots = try scan("""
             { "skip": {"a": [1, {"b": "}"}], "id": 99}, "company" : {"title": "x", "department": "Eng"} ,
            "id": 42, "age": 3.5e1, "codes": ["a", "b"], "name": "Ann\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/", "flag": true, "none": null }
            """)
        #expect(slots[0]?.int64 == 42)
        #expect(slots[1]?.string == "Anné 😀 \"q\" \\ /")
        #expect(slots[2]?.string == "Eng")
        #expect(slots[3]?.double == 35)
        #expect(slots[3]?.int64 == nil)
        #expect(slots[4] == .raw("[\"a\", \"b\"]"))
        #expect(slots[5] == .bool(true))
        #expect(slots[6] == .null)
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "{\"a\":", count: 300) + "1" + String(repeating: "}", count: 300)
        #expect(throws: JSONGrammarError.self) { try scan(deep) }
        let fine = String(repeating: "{\"a\":", count: 100) + "1" + String(repeating: "}", count: 100)
        #expect(throws: Never.self) { try scan(fine) }
    }

    @Test func escapedQuotesAndBackslashesDoNotEndStringsEarly() throws {
        let slots = try scan(#"{"name": "a\\", "id": 5, "flag": "x\"}y\\\"z"}"#)
        #expect(slots[1]?.string == "a\\")
        #expect(slots[0]?.int64 == 5)
        #expect(slots[5]?.string == "x\"}y\\\"z")
    }

    @Test func keysWithEscapesStillMatch() throws {
        #expect(try scan("{\"n\\u0061me\": \"x\"}")[1]?.string == "x")
    }

    @Test func aNonObjectCompanyIsNotDescendedInto() throws {
        let slots = try scan("{\"company\": \"ACME\", \"id\": -0}")
        #expect(slots[2] == nil)
        #expect(slots[0]?.int64 == 0)
    }

    @Test(arguments: [
        "", "   ", "[]", "\"text\"", "42", "{", "{\"id\": }", "{\"id\": 1,}", "{\"id\" 1}", "{\"id\": 01}",
        "{\"id\": 1.}", "{\"id\": -}", "{\"id\": tru}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12G4\"}", "{\"a\": [1 2]}",
        "{\"a\": \"unterminated}", "{\"id\": 1} {\"id\": 2}", "{'id': 1}", "{\"a\": \"x\\\"}",
        "{\"a\": nul}", "{\"a\": falsy}", "{\"a\": 1e}", "{\"a\": {\"b\": [}}", "{\"a\": \"\\u12\"}",
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONGrammarError.self) { try scan(text) }
    }

    @Test func agreesWithJSONSerializationOnTheFixtureShape() throws {
        let line = Fixtures.processed(id: 17)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let spec = FieldSpec(paths: ["id", "lastName", "company.name", "address.city", "department_code"])
        let slots = try Self.scan(line, spec: spec)
        #expect(slots[0]?.int64 == (object["id"] as? NSNumber)?.int64Value)
        #expect(slots[1]?.string == object["lastName"] as? String)
        #expect(slots[2]?.string == (object["company"] as? [String: Any])?["name"] as? String)
        #expect(slots[3]?.string == (object["address"] as? [String: Any])?["city"] as? String)
        #expect(slots[4]?.string == object["department_code"] as? String)
    }
}
