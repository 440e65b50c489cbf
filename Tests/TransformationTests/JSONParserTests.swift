import ETLCore
import FixtureSource
import Foundation
import Testing
@testable import Transformation

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesEveryType() throws {
        let value = try JSONParser.parse(#" {"a":null,"b":true,"c":false,"d":-12.5e+3,"e":"x","f":[1,[],{}],"g":{"h":0}} "#)
        #expect(value == .object([
            .init(key: "a", value: .null),
            .init(key: "b", value: .bool(true)),
            .init(key: "c", value: .bool(false)),
            .init(key: "d", value: .number("-12.5e+3")),
            .init(key: "e", value: .string("x")),
            .init(key: "f", value: .array([.number("1"), .array([]), .object([])])),
            .init(key: "g", value: .object([.init(key: "h", value: .number("0"))])),
        ]))
    }

    @Test func keepsMemberOrderAndDuplicatesLastWins() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"z":3}"#)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["z", "a", "z"])
        #expect(value["z"] == .number("3"))
        #expect(value["missing"] == nil)
        #expect(JSONValue.array([])["z"] == nil)
    }

    @Test func keepsHugeNumbersAsText() throws {
        let value = try JSONParser.parse(#"[1e400,123456789012345678901234567890,-0,42.0,9223372036854775807,-9223372036854775808,9223372036854775808,1E-400]"#)
        guard case .array(let numbers) = value else { Issue.record("not an array"); return }
        #expect(numbers.map(\.numberText) == ["1e400", "123456789012345678901234567890", "-0", "42.0",
                                              "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1E-400"])
        #expect(numbers[0].int64Value == nil)
        #expect(numbers[0].doubleValue == nil)  // beyond Double: not finite
        #expect(numbers[1].int64Value == nil)
        #expect(numbers[1].doubleValue == 1.2345678901234568e29)
        #expect(numbers[2].int64Value == 0)
        #expect(numbers[3].int64Value == nil)  // exact integer literals only
        #expect(numbers[3].doubleValue == 42)
        #expect(numbers[4].int64Value == Int64.max)
        #expect(numbers[5].int64Value == Int64.min)
        #expect(numbers[6].int64Value == nil)
        #expect(numbers[7].doubleValue == 0)
        #expect(JSONValue.string("42").int64Value == nil)
        #expect(JSONValue.string("42").doubleValue == nil)
    }

    @Test func decodesEscapesAndUnicode() throws {
        let value = try JSONParser.parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude00", "é中😀", "\u0000", "tab\\u0041"]"#)
        #expect(value == .array([
            .string("a\"b\\c/d\u{08}\u{0C}\n\r\t"), .string("é中😀"), .string("é中😀"), .string("\u{0}"), .string("tab\\u0041"),
        ]))
    }

    @Test(arguments: [
        ("", "empty input"),
        ("   ", "only whitespace"),
        ("{", "unterminated object"),
        ("[1,2", "unterminated array"),
        ("[1,2,]", "trailing comma"),
        (#"{"a":1,}"#, "trailing comma"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"{a:1}"#, "member name"),
        (#"{'a':1}"#, "member name"),
        (#"{"a":1 "b":2}"#, "expected ',' or '}'"),
        ("[1 2]", "expected ',' or ']'"),
        ("NaN", "unexpected 'N'"),
        ("Infinity", "unexpected 'I'"),
        ("-Infinity", "expected a digit"),
        ("01", "leading zero"),
        ("+1", "unexpected '+'"),
        (".5", "unexpected '.'"),
        ("1.", "after '.'"),
        ("1e", "exponent"),
        ("1e+", "exponent"),
        ("tru", "invalid literal"),
        ("nul", "invalid literal"),
        ("True", "unexpected 'T'"),
        (#""abc"#, "unterminated string"),
        ("\"a\u{01}b\"", "unescaped control character"),
        ("\"a\nb\"", "unescaped control character"),
        ("\"a\tb\"", "unescaped control character"),
        (#""\x""#, "invalid escape"),
        (#""\u12""#, "4 hex digits"),
        (#""\u12G4""#, "4 hex digits"),
        (#""\ud800""#, "lone surrogate"),
        (#""\ud800x""#, "lone surrogate"),
        (#""\ud800\u0041""#, "lone surrogate"),
        (#""\udc00""#, "lone surrogate"),
        (#""\ud800\ud800""#, "lone surrogate"),
        ("{} {}", "after the JSON value"),
        (#"{"a":1}x"#, "after the JSON value"),
        ("/* c */ 1", "unexpected '/'"),
    ])
    func rejects(_ input: String, _ reason: String) {
        #expect(throws: JSONGrammarError.self) { try JSONParser.parse(input) }
        do {
            _ = try JSONParser.parse(input)
        } catch {
            #expect(error.reason.contains(reason), "\(input): \(error)")
        }
    }

    @Test func rejectsInvalidUTF8() throws {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0xC3, 0x22],  // truncated 2-byte sequence
            [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong 3-byte
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8 encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xF0, 0x9F, 0x98, 0x22],  // truncated 4-byte
            [0xC3, 0xA9],  // non-ASCII outside a string
        ]
        for bytes in cases {
            #expect(throws: JSONGrammarError.self, "\(bytes)") { try JSONParser.parse(bytes) }
        }
        #expect(try JSONParser.parse([0x22, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x22]) == .string("é😀"))
    }

    @Test func limitsNestingDepth() throws {
        // The product's one limit (issue 9: it used to be 512 here and 256 elsewhere).
        let limit = JSONNesting.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try JSONParser.parse(deepest) }
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONGrammarError.self) { try JSONParser.parse(tooDeep) }
        // A pathological line must not exhaust the stack.
        #expect(throws: JSONGrammarError.self) { try JSONParser.parse(String(repeating: "[", count: 200_000)) }
        #expect(throws: JSONGrammarError.self) { try JSONParser.parse(String(repeating: #"{"a":"#, count: 200_000)) }
        #expect(throws: JSONGrammarError.self) { try JSONParser.parse(String(repeating: "[", count: 10), maximumDepth: 3) }
    }

    @Test func keepsOnlyRequestedTopLevelKeysButValidatesTheRest() throws {
        let line = #"{"id":1,"noise":{"deep":[1,2,{"x":"y"}]},"email":"a@b.co","company":{"department":"X","other":1}}"#
        let value = try Array(line.utf8).withUnsafeBufferPointer {
            try JSONParser.parse($0, keepingTopLevelKeys: ["id", "company"])
        }
        #expect(value == .object([
            .init(key: "id", value: .number("1")),
            .init(key: "company", value: .object([
                .init(key: "department", value: .string("X")), .init(key: "other", value: .number("1")),
            ])),
        ]))
        // Errors inside skipped members are still errors.
        for broken in [#"{"id":1,"noise":[1,]}"#, #"{"id":1,"noise":"\ud800"}"#, #"{"id":1,"noise":01}"#,
                       #"{"id":1,"noise":{"a" 1}}"#, "{\"id\":1,\"noise\":\"\u{01}\"}"] {
            #expect(throws: JSONGrammarError.self, "\(broken)") {
                try Array(broken.utf8).withUnsafeBufferPointer { try JSONParser.parse($0, keepingTopLevelKeys: ["id"]) }
            }
        }
    }

    @Test func reportsTheOffset() {
        do {
            _ = try JSONParser.parse(#"{"a":1,,}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.offset == 7)
            #expect(error.description == "unexpected ',', expected a member name in double quotes at byte 7")
        }
    }

    /// Random mutations of a real-looking record: the parser must never trap, and whenever it
    /// accepts a mutation, Foundation's parser must accept it too (and vice versa for plain ASCII).
    @Test func neverCrashesOnMutatedInput() throws {
        var random = SplitMix64(seed: 42)
        let base = Array(userLine(email: #""a\u00e9\"b@x.co""#).utf8)
        let alphabet: [UInt8] = Array(#"{}[]":,\-+.eE0123456789 tfnulra"#.utf8) + [0x00, 0x01, 0x0A, 0x80, 0xC3, 0xFF]
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = alphabet.randomElement(using: &random)!
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet.randomElement(using: &random)!, at: position)
                }
                if bytes.isEmpty { bytes = [0x20] }
            }
            let ours = (try? JSONParser.parse(bytes)) != nil
            if ours {
                accepted += 1
                #expect((try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil,
                        "we accepted what Foundation rejects: \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(accepted > 0)
    }
}
