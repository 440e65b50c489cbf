import Foundation
import Testing
@testable import Transformation

@Suite("Output lines")
struct OutputLineTests {
    @Test func validOutputIsTheOriginalBytesPlusTheCode() throws {
        let line = userLine(
            firstName: #""Zo\u00eb \"Z\" \\ \/ 😀""#,
            extra: #""lastName" : "O'Brien" , "n":[1.50, 2.5E-3, -0.0],"nested":{"a":{"b":[{}]}},"empty":"""#)
        let (disposition, output) = standardTransformer.transform(line)
        #expect(disposition == .valid)
        #expect(output == String(line.dropLast()) + #","department_code":"ENG"}"#)

        // Every original field survives, per an independent parser.
        let original = try foundationObject(line)
        let enriched = try foundationObject(output)
        #expect(Set(enriched.keys) == Set(original.keys).union(["department_code"]))
        for (key, value) in original {
            #expect((enriched[key] as? NSObject)?.isEqual(value) == true, "\(key)")
        }
        #expect(enriched["department_code"] as? String == "ENG")
        // And per ours, in order.
        guard case .object(let members) = try JSONParser.parse(output) else { Issue.record("not an object"); return }
        guard case .object(let originalMembers) = try JSONParser.parse(line) else { Issue.record("not an object"); return }
        #expect(Array(members.dropLast()) == originalMembers)
        #expect(members.last == .init(key: "department_code", value: .string("ENG")))
    }

    @Test func surroundingWhitespaceIsDroppedInnerBytesKept() {
        let line = "  \t" + userLine().dropLast() + " \r\n }  \t "
        let (disposition, output) = standardTransformer.transform(line)
        #expect(disposition == .valid)
        #expect(output == userLine().dropLast() + " \r\n ," + #""department_code":"ENG"}"#)
    }

    @Test func codesAreEscaped() {
        let validator = RecordValidator(ageRange: 18...65, departments: DepartmentLookup(codes: ["Engineering": "E\"\\\n"]))
        let (_, output) = LineTransformer(validator: validator).transform(userLine())
        #expect(output.hasSuffix(#","department_code":"E\"\\\n"}"#))
    }

    @Test func deadLetterRecordIsTheOriginalPlusReasonAndCodes() throws {
        let line = userLine(age: "80", company: #"{"department":"Quantum"}"#)
        let (disposition, output) = standardTransformer.transform(line)
        #expect(disposition == .invalid)
        #expect(output == String(line.dropLast())
            + #","error_reason":"age 80 is outside [18, 65]; department \"Quantum\" is not in the department lookup","#
            + #""error_codes":["age_out_of_range","unknown_department"]}"#)
        let object = try foundationObject(output)
        #expect(object["error_codes"] as? [String] == ["age_out_of_range", "unknown_department"])
        #expect(object["id"] as? Int == 1)
    }

    @Test func emptyObjectGetsNoLeadingComma() throws {
        let (disposition, output) = standardTransformer.transform(" { \t} ")
        #expect(disposition == .invalid)
        #expect(output.hasPrefix(#"{ "#.appending("\t") + #""error_reason":"id is missing; "#))
        let object = try foundationObject(output)
        #expect(object["error_codes"] as? [String] == ["invalid_id", "invalid_first_name", "invalid_email", "invalid_age", "invalid_department"])
        #expect(object.count == 2)
    }

    @Test(arguments: [
        ("[1,2]", "line is a JSON array, not an object"),
        ("", "line is empty"),
        ("bad json \"quoted\" \\ \t", "line is not valid JSON: unexpected 'b', expected a value at byte 0"),
        (#"{"id":1,"#, "line is not valid JSON: unterminated object at byte 8"),
    ])
    func invalidJSONLinesAreWrapped(_ line: String, _ reason: String) throws {
        let (disposition, output) = standardTransformer.transform(line)
        #expect(disposition == .invalid)
        #expect(output == #"{"raw_line":"# + jsonQuoted(line) + #","error_reason":"# + jsonQuoted(reason)
            + #","error_codes":["invalid_json"]}"#)
        let object = try foundationObject(output)
        #expect(object["raw_line"] as? String == line)
        #expect(object["error_reason"] as? String == reason)
        #expect(object["error_codes"] as? [String] == ["invalid_json"])
    }

    @Test func invalidUTF8IsReplacedInRawLine() throws {
        var bytes = Array(#"{"firstName":""#.utf8) + [0xFF, 0xC3] + Array(#""}"#.utf8)
        var output: [UInt8] = []
        let disposition = bytes.withUnsafeBufferPointer { standardTransformer.transform(line: $0, into: &output) }
        #expect(disposition == .invalid)
        let object = try foundationObject(String(decoding: output, as: UTF8.self))
        #expect(object["raw_line"] as? String == "{\"firstName\":\"\u{FFFD}\u{FFFD}\"}")
        #expect((object["error_reason"] as? String)?.contains("invalid UTF-8") == true)
        // Control characters and NULs in a broken line are escaped.
        bytes = [0x7B, 0x00, 0x01, 0x1F, 0x22, 0x5C]
        _ = bytes.withUnsafeBufferPointer { standardTransformer.transform(line: $0, into: &output) }
        #expect(String(decoding: output, as: UTF8.self).hasPrefix(#"{"raw_line":"{\u0000\u0001\u001f\"\\","#))
    }

    @Test func escapingHandlesEveryControlCharacter() throws {
        let text = String(decoding: (0..<0x20).map { UInt8($0) } + Array("\"\\/é😀".utf8), as: UTF8.self)
        let quoted = jsonQuoted(text)
        #expect(quoted.hasPrefix(#""\u0000\u0001"#))
        #expect(quoted.contains(#"\b\t\n\u000b\f\r"#))
        #expect(quoted.hasSuffix(#"\u001f\"\\/é😀""#))
        #expect(try JSONParser.parse(quoted) == .string(text))
        #expect(try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: [.fragmentsAllowed]) as? String == text)
    }

    @Test func outputBufferIsReplacedEachTime() {
        var output: [UInt8] = Array("stale".utf8)
        let line = Array(userLine().utf8)
        _ = line.withUnsafeBufferPointer { standardTransformer.transform(line: $0, into: &output) }
        #expect(String(decoding: output, as: UTF8.self) == String(userLine().dropLast()) + #","department_code":"ENG"}"#)
    }
}
