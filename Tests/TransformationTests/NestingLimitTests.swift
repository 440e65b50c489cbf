import ETLCore
import Foundation
import Testing
@testable import Transformation

/// Issue 9, finding 9: one nesting limit for the product, and a record beyond it is dead-lettered
/// with its own code instead of failing anything else.
@Suite("Nesting limit")
struct NestingLimitTests {
    /// `{"id":1,"firstName":"A",...,"deep":{"a":{"a":...1...}}}` whose own depth is `depth`.
    func record(depth: Int) -> String {
        let inner = String(repeating: #"{"a":"#, count: depth - 1) + "1" + String(repeating: "}", count: depth - 1)
        return String(userLine(id: "1").dropLast()) + #","deep":"# + inner + "}"
    }

    @Test func aRecordAtTheLimitIsReadAndOneBeyondItIsDeadLetteredAsNestingTooDeep() throws {
        #expect(standardTransformer.transform(record(depth: JSONNesting.maximumDepth)).disposition == .valid)

        let line = record(depth: 300)
        let (disposition, output) = standardTransformer.transform(line)
        #expect(disposition == .invalid)
        let object = try foundationObject(output)
        #expect(object["error_codes"] as? [String] == ["nesting_too_deep"])
        #expect((object["error_reason"] as? String)?.contains("deeper than \(JSONNesting.maximumDepth) levels") == true)
        #expect(object["raw_line"] as? String == line)
    }

    @Test func theParserAndTheProductShareOneLimit() {
        #expect(JSONParser.defaultMaximumDepth == JSONNesting.maximumDepth)
        let tooDeep = String(repeating: "[", count: JSONNesting.maximumDepth + 1) + String(repeating: "]", count: JSONNesting.maximumDepth + 1)
        #expect(throws: JSONGrammarError.self) { try JSONParser.parse(tooDeep) }
        #expect((try? JSONParser.parse(tooDeep)) == nil)
        do {
            _ = try JSONParser.parse(tooDeep)
        } catch {
            #expect(error.isNestingTooDeep)
        }
        let broken = "[1,]"
        do {
            _ = try JSONParser.parse(broken)
        } catch {
            #expect(!error.isNestingTooDeep)
        }
    }
}
