import Foundation
import Testing
import Contracts
import Transformation

@Suite("Contracts: declared rules instead of hard-coded ones")
struct ContractTests {
    let products = Contract(name: "products", fields: [
        ContractField("sku", type: .string, required: true, notBlank: true),
        ContractField("price", type: .number, required: true, minimum: 0),
        ContractField("stock", type: .integer, maximum: 10_000),
        ContractField("released", type: .string, format: .date),
        ContractField("status", allowed: ["active", "retired"]),
        ContractField("category", type: .string, required: true,
                      lookup: .init(file: "categories.csv", keyColumn: "category", valueColumn: "code", adds: "category_code")),
    ])

    var transformer: LineTransformer {
        LineTransformer(validator: RecordValidator(contract: products, lookups: ["category": ["Tools": "T"]]))
    }

    @Test func aValidRecordGetsItsLookupMember() {
        let (disposition, output) = transformer.transform(#"{"sku":"A1","price":2.5,"stock":3,"released":"2026-02-28","status":"active","category":"Tools"}"#)
        #expect(disposition == .valid)
        #expect(output == #"{"sku":"A1","price":2.5,"stock":3,"released":"2026-02-28","status":"active","category":"Tools","category_code":"T"}"#)
    }

    @Test func everyFailureIsReportedWithItsDerivedCode() {
        let verdict = transformer.verdict(for: #"{"sku":" ","price":-1,"stock":1.5,"released":"2026-02-30","status":"lost","category":"Food"}"#)
        #expect(verdict.codes.map(\.rawValue) == [
            "invalid_sku", "price_out_of_range", "invalid_stock", "invalid_released", "invalid_status", "unknown_category",
        ])
        #expect(verdict.failures.map(\.message) == [
            "sku is only whitespace", "price -1 is below the minimum 0", "stock must be an integer, got 1.5",
            #"released "2026-02-30" is not a date (YYYY-MM-DD)"#, #"status "lost" is not one of active, retired"#,
            #"category "Food" is not in the category lookup"#,
        ])
    }

    @Test func optionalFieldsMayBeMissingOrNull() {
        #expect(transformer.verdict(for: #"{"sku":"A","price":0,"stock":null,"category":"Tools"}"#) == .valid(added: [AddedMember(key: "category_code", value: "T")]))
        #expect(transformer.verdict(for: #"{"price":0,"category":"Tools"}"#).failures.map(\.message) == ["sku is missing"])
    }

    @Test func aContractWithoutFieldsAcceptsEveryObjectAsItIs() {
        let open = LineTransformer(validator: RecordValidator(contract: Contract(name: "any", fields: []), lookups: [:]))
        #expect(open.transform(#"{"a":1}"#) == (.valid, #"{"a":1}"#))
        #expect(open.transform(#"{}"#) == (.valid, #"{}"#))
        #expect(open.transform("[1]").disposition == .invalid)
    }

    @Test func theUsersContractIsTodaysRules() throws {
        let users = Contract.users(ageRange: 18...65)
        #expect(users.fields.map(\.invalidCode) == ["invalid_id", "invalid_first_name", "invalid_email", "invalid_age", "invalid_department"])
        #expect(users.fields[3].outOfRangeCode == "age_out_of_range")
        #expect(users.fields[4].unknownCode == "unknown_department")
        #expect(try Contract.decode(json: users.jsonText) == users)
    }

    @Test func aBadContractIsRefusedWithEveryProblem() {
        #expect {
            try Contract.decode(json: #"{"name":"x","fields":[{"name":"a","type":"string","minimum":1},{"name":"b.","format":"email"},{"name":"a"}]}"#)
        } throws: { error in
            let text = "\(error)"
            return text.contains("minimum and maximum need type number") && text.contains("empty path component") && text.contains("declared twice")
        }
    }

    @Test func lookupsAreReadFromAReferenceCSV() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "category,code\nTools,T\n\"Home, Garden\",HG\n".write(to: directory.appendingPathComponent("categories.csv"), atomically: true, encoding: .utf8)
        #expect(try LookupTables.load(for: products, relativeTo: directory) == ["category": ["Tools": "T", "Home, Garden": "HG"]])
        try "category,code\nTools,T\nTools,U\n".write(to: directory.appendingPathComponent("categories.csv"), atomically: true, encoding: .utf8)
        #expect { try LookupTables.load(for: products, relativeTo: directory) } throws: { "\($0)".contains("categories.csv:3: category 'Tools' is defined twice") }
    }
}
