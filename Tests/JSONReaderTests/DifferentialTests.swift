import ETLCore
import Extraction
import Foundation
import Testing
import Transformation
@testable import FixtureSource
@testable import Loading

/// Issue 9: every JSON reader of the product agrees with the reference (`ReferenceJSON`) on
/// accept/reject, and on the values where it exposes them, over the committed corpus
/// (`Tests/Fixtures/json-corpus`), thousands of generated documents and thousands of
/// mutations of both. Seeded: a failure names its case and reproduces exactly.
///
/// The readers and what each one must do with a document `d` that the reference reads as `v`
/// with nesting depth `n` (the product's one limit being `JSONNesting.maximumDepth`):
///
/// - the transformer's `JSONParser`: accept iff `v` exists and `n` is within the limit, giving `v`;
/// - the saver's `JSONFieldScanner`: the same, for objects only, giving `v`'s members;
/// - the extractor's record reader (`JSONCursor` through `SourcePageParser.recordSummary`):
///   accept iff `v` exists, at any depth (deeper records are passed on, not refused), with the
///   top-level `id`;
/// - the extractor's page parser on `{"users":[d],...}`, and the fixture source's file loader
///   on `[d]`: accept iff the reference accepts the whole text (and, for a page, its shape),
///   every user copied compactly with the reference's value.
@Suite("JSON readers: differential tests against a reference parser")
struct DifferentialTests {
    static let corpusDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/json-corpus")

    static func corpus() throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { ($0, [UInt8](try Data(contentsOf: corpusDirectory.appendingPathComponent($0)))) }
    }

    // MARK: The reference itself

    @Test func theReferenceReadsTheCorpusAsItsFileNamesSay() throws {
        let corpus = try Self.corpus()
        #expect(corpus.count >= 40, "the corpus is missing from \(Self.corpusDirectory.path)")
        for (name, bytes) in corpus {
            let accepted = ReferenceJSON.parse(bytes) != nil
            #expect(accepted == name.hasPrefix("valid-"), "reference on \(name)")
        }
    }

    /// Foundation agrees with the reference on the corpus, except on the files named
    /// `*-foundation-differs*`, where Foundation departs from RFC 8259 (see `ReferenceJSON`).
    @Test func foundationAgreesWithTheReferenceOnTheCorpusExceptItsKnownLeniencies() throws {
        for (name, bytes) in try Self.corpus() where !name.contains("foundation-differs") {
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
            #expect(foundation == (ReferenceJSON.parse(bytes) != nil), "Foundation on \(name)")
        }
    }

    // MARK: The readers

    @Test func everyReaderAgreesWithTheReferenceOnTheCorpus() throws {
        var failures: [String] = []
        for (name, bytes) in try Self.corpus() {
            failures += ReaderCheck.disagreements(bytes).map { "\(name): \($0)" }
        }
        if !failures.isEmpty { Issue.record("\(failures.count) disagreements:\n\(failures.prefix(20).joined(separator: "\n"))") }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func everyReaderAgreesWithTheReferenceOnGeneratedAndMutatedDocuments(seed: UInt64) throws {
        var generator = JSONCaseGenerator(seed: seed)
        let corpus = try Self.corpus().map(\.bytes)
        var failures: [String] = []
        var accepted = 0
        let cases = 2_000
        for index in 0..<cases {
            let document = generator.document()
            let mutated = generator.mutate(index % 4 == 0 ? corpus[index % corpus.count] : document)
            for (kind, bytes) in [("generated", document), ("mutated", mutated)] {
                if ReferenceJSON.parse(bytes) != nil { accepted += 1 }
                failures += ReaderCheck.disagreements(bytes).map { "seed \(seed) case \(index) \(kind) \(ReaderCheck.show(bytes)): \($0)" }
            }
        }
        if !failures.isEmpty { Issue.record("\(failures.count) disagreements, first:\n\(failures.prefix(10).joined(separator: "\n"))") }
        // Both sides of the line are exercised: plenty of valid and of invalid documents.
        #expect(accepted > cases / 2 && accepted < cases * 2 - cases / 4, "accepted \(accepted) of \(cases * 2)")
    }
}

/// Runs one document through every reader and lists how each one departs from the reference.
enum ReaderCheck {
    static let limit = JSONNesting.maximumDepth

    static func disagreements(_ bytes: [UInt8]) -> [String] {
        let reference = ReferenceJSON.parse(bytes)
        return transformerParser(bytes, reference) + saverScanner(bytes, reference) + extractorRecord(bytes, reference)
            + extractorPage(bytes) + fixtureLoader(bytes)
    }

    static func show(_ bytes: [UInt8]) -> String {
        let text = bytes.prefix(160).map { $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
        return "«" + text + (bytes.count > 160 ? "…(\(bytes.count) bytes)" : "") + "»"
    }

    // The transformer
    static func transformerParser(_ bytes: [UInt8], _ reference: RefParse?) -> [String] {
        let expected = reference.flatMap { $0.depth <= limit ? $0.value : nil }
        let parsed = try? JSONParser.parse(bytes)
        let got = parsed.map(refValue)
        guard got == expected else { return ["JSONParser gave \(got?.description ?? "reject"), reference \(expected?.description ?? "reject")"] }
        return []
    }

    static func refValue(_ value: JSONValue) -> RefValue {
        switch value {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .number(let text): .number(text)
        case .string(let text): .string(Array(text.unicodeScalars))
        case .array(let elements): .array(elements.map(refValue))
        case .object(let members): .object(members.map { .init(key: Array($0.key.unicodeScalars), value: refValue($0.value)) })
        }
    }

    // The saver
    static func saverScanner(_ bytes: [UInt8], _ reference: RefParse?) -> [String] {
        var expected = reference.flatMap { $0.depth <= limit ? $0.value : nil }
        if case .object = expected {} else { expected = nil }
        // Capture every top-level member whose name can be a path (no dot).
        var keys: [String] = []
        if case .object(let members)? = expected {
            for member in members {
                let key = String(String.UnicodeScalarView(member.key))
                if !key.isEmpty, !key.contains("."), !keys.contains(key) { keys.append(key) }
            }
        }
        let spec = FieldSpec(paths: keys)
        let slots = UnsafeMutablePointer<ScanSlot>.allocate(capacity: max(keys.count, 1))
        slots.initialize(repeating: ScanSlot(), count: max(keys.count, 1))
        defer { slots.deallocate() }
        return bytes.withUnsafeBufferPointer { line -> [String] in
            let accepted = (try? JSONFieldScanner.scan(line, spec: spec, into: slots)) != nil
            guard accepted == (expected != nil) else {
                return ["JSONFieldScanner \(accepted ? "accepted" : "rejected"), reference \(expected == nil ? "rejects" : "accepts")"]
            }
            guard let expected else { return [] }
            var problems: [String] = []
            for (index, key) in keys.enumerated() {
                let want = expected.member(key)
                let scanned = ScannedValue(slots[index], in: line)
                let got: RefValue? = switch scanned {
                case .string(let text)?: .string(Array(text.unicodeScalars))
                case .number(let text)?: .number(text)
                case .bool(let flag)?: .bool(flag)
                case .null?: .null
                case .raw(let text)?: ReferenceJSON.parse(Array(text.utf8))?.value
                case nil: nil
                }
                if got != want { problems.append("JSONFieldScanner member \(key) gave \(got?.description ?? "nothing"), reference \(want?.description ?? "nothing")") }
            }
            return problems
        }
    }

    // The extractor, one record (any depth)
    static func extractorRecord(_ bytes: [UInt8], _ reference: RefParse?) -> [String] {
        let summary = bytes.withUnsafeBufferPointer { try? SourcePageParser.recordSummary($0) }
        guard (summary != nil) == (reference != nil) else {
            return ["record reader \(summary == nil ? "rejected" : "accepted"), reference \(reference == nil ? "rejects" : "accepts")"]
        }
        guard let summary, let reference else { return [] }
        var problems: [String] = []
        if summary.depth != reference.depth { problems.append("record reader depth \(summary.depth), reference \(reference.depth)") }
        let id = summary.id.flatMap { ReferenceJSON.parse(Array($0.utf8))?.value }
        if id != reference.value.member("id") { problems.append("record reader id \(summary.id ?? "none"), reference \(reference.value.member("id")?.description ?? "none")") }
        return problems
    }

    // The extractor, a whole page holding the document as its one user
    static func extractorPage(_ bytes: [UInt8]) -> [String] {
        let body = Array(#"{"users":["#.utf8) + bytes + Array(#"],"total":1,"skip":0,"limit":1}"#.utf8)
        let reference = ReferenceJSON.parse(body)
        let expectedUsers: [RefValue]? = reference.flatMap { parsed in
            guard case .object(let members) = parsed.value else { return nil }
            // Every occurrence must have the right type (the parser reads each one), the last one counts.
            for member in members {
                switch String(String.UnicodeScalarView(member.key)) {
                case "users": guard case .array = member.value else { return nil }
                case "total", "skip", "limit":
                    guard case .number(let text) = member.value, Int(text) != nil else { return nil }
                default: break
                }
            }
            guard case .array(let users)? = parsed.value.member("users") else { return nil }
            for key in ["total", "skip", "limit"] {
                guard case .number(let text)? = parsed.value.member(key), let number = Int(text), number >= 0 else { return nil }
            }
            return users
        }
        let page = try? SourcePageParser.parse(body)
        guard (page != nil) == (expectedUsers != nil) else {
            return ["page parser \(page == nil ? "rejected" : "accepted"), reference \(expectedUsers == nil ? "rejects" : "accepts")"]
        }
        guard let page, let expectedUsers else { return [] }
        return compareCopies(page.users, expectedUsers, reader: "page parser")
    }

    // The fixture source's file loader, the document as the one element of an array
    static func fixtureLoader(_ bytes: [UInt8]) -> [String] {
        let file = Array("[".utf8) + bytes + Array("]".utf8)
        var expected: [RefValue]?
        if case .array(let elements)? = ReferenceJSON.parse(file)?.value { expected = elements }
        let loaded: [[UInt8]]? = file.withUnsafeBufferPointer { buffer in (try? FixtureUsers.usersArray(in: buffer)) ?? nil }
        guard (loaded != nil) == (expected != nil) else {
            return ["fixture loader \(loaded == nil ? "rejected" : "accepted"), reference \(expected == nil ? "rejects" : "accepts")"]
        }
        guard let loaded, let expected else { return [] }
        return compareCopies(loaded, expected, reader: "fixture loader")
    }

    /// Each copy is compact (no whitespace outside strings) and reads as the reference's value.
    static func compareCopies(_ copies: [[UInt8]], _ expected: [RefValue], reader: String) -> [String] {
        guard copies.count == expected.count else { return ["\(reader) gave \(copies.count) elements, reference \(expected.count)"] }
        var problems: [String] = []
        for (copy, want) in zip(copies, expected) {
            let got = ReferenceJSON.parse(copy)?.value
            if got != want { problems.append("\(reader) copied \(show(copy)) reading \(got?.description ?? "invalid"), reference \(want)") }
            if let first = copy.first, JSONGrammar.isWhitespace(first) { problems.append("\(reader) copy starts with whitespace") }
        }
        return problems
    }
}
