import Foundation
import Testing
@testable import Transformation

@Suite("Department lookup")
struct DepartmentLookupTests {
    @Test func parsesTheShippedFile() throws {
        // The package's own config/departments.csv, found relative to this source file.
        let csv = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/departments.csv")
        let lookup = try DepartmentLookup(contentsOf: csv)
        #expect(lookup == standardDepartments)
        #expect(lookup.count == 12)
    }

    @Test func acceptsQuotingBOMCRLFBlankLinesAndExtraColumns() throws {
        let text = "\u{FEFF}Department_Code , department,notes\r\n\r\nENG,Engineering,x\r\n\"R&D, EU\",\"Research, \"\"Dev\"\"\",\r\n  SAL  ,  Sales  ,\n"
        let lookup = try DepartmentLookup(csv: text, path: "d.csv")
        #expect(lookup.codes == ["Engineering": "ENG", #"Research, "Dev""#: "R&D, EU", "Sales": "SAL"])
        #expect(lookup.code(for: "Sales") == "SAL")
        #expect(lookup.code(for: "sales") == nil)
    }

    @Test(arguments: [
        ("", DepartmentLookupError.missingHeader(path: "d.csv")),
        ("\n\n", .missingHeader(path: "d.csv")),
        ("department,department_code\n", .noDepartments(path: "d.csv")),
        ("Engineering,ENG\n", .badHeader(path: "d.csv", found: "Engineering,ENG")),
        ("department,code\nEngineering,ENG\n", .badHeader(path: "d.csv", found: "department,code")),
        ("department,department_code\nEngineering\n",
         .malformedLine(path: "d.csv", line: 2, reason: "expected at least 2 fields, found 1: 'Engineering'")),
        ("department,department_code\n\"Engineering,ENG\n",
         .malformedLine(path: "d.csv", line: 2, reason: "unterminated quoted field: '\"Engineering,ENG'")),
        ("department,department_code\nEngi\"neering,ENG\n",
         .malformedLine(path: "d.csv", line: 2, reason: "unexpected '\"' inside an unquoted field: 'Engi\"neering,ENG'")),
        ("department,department_code\n\"Eng\"x,ENG\n",
         .malformedLine(path: "d.csv", line: 2, reason: "text after a closing quote: '\"Eng\"x,ENG'")),
        ("department,department_code\n,ENG\n", .emptyDepartment(path: "d.csv", line: 2)),
        ("department,department_code\nSales,SAL\nEngineering,  \n", .emptyCode(path: "d.csv", line: 3, department: "Engineering")),
        ("department,department_code\nSales,SAL\n\nSales,SL\n",
         .duplicateDepartment(path: "d.csv", line: 4, department: "Sales", firstLine: 2)),
    ])
    func rejectsMalformedFiles(_ text: String, _ expected: DepartmentLookupError) {
        #expect(throws: expected) { try DepartmentLookup(csv: text, path: "d.csv") }
    }

    @Test func errorsNameTheFileAndLine() {
        let error = DepartmentLookupError.duplicateDepartment(path: "config/departments.csv", line: 4, department: "Sales", firstLine: 2)
        #expect(error.description == "config/departments.csv:4: department 'Sales' is already defined on line 2")
        #expect(DepartmentLookupError.emptyCode(path: "d.csv", line: 3, department: "Legal").description
            == "d.csv:3: the department_code of 'Legal' is empty")
    }

    @Test func aMissingFileIsATypedError() throws {
        let missing = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/departments.csv")
        do {
            _ = try DepartmentLookup(contentsOf: missing)
            Issue.record("no error")
        } catch {
            guard case .unreadable(let path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == missing.path)
            #expect(error.description.hasPrefix(missing.path + ": cannot read"))
        }
    }

    @Test func codesAreTakenFromTheLookup() {
        let lookup = DepartmentLookup(codes: ["Engineering": "E-1"])
        let validator = RecordValidator(ageRange: 18...65, departments: lookup)
        #expect(LineTransformer(validator: validator).verdict(for: userLine()) == .valid(departmentCode: "E-1"))
        #expect(LineTransformer(validator: validator).verdict(for: userLine(company: #"{"department":"Sales"}"#)).codes
            == [.unknownDepartment])
    }
}
