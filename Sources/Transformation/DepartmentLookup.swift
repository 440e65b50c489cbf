public import Foundation

/// A problem with `DEPARTMENTS_CSV`; the message names the file and, where it applies, the line.
public enum DepartmentLookupError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case missingHeader(path: String)
    case badHeader(path: String, found: String)
    case malformedLine(path: String, line: Int, reason: String)
    case emptyDepartment(path: String, line: Int)
    case emptyCode(path: String, line: Int, department: String)
    case duplicateDepartment(path: String, line: Int, department: String, firstLine: Int)
    case noDepartments(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "\(path): cannot read the department lookup: \(reason)"
        case .missingHeader(let path):
            "\(path): the file is empty; expected the header 'department,department_code' and one line per department"
        case .badHeader(let path, let found):
            "\(path):1: expected the header 'department,department_code', found '\(found)'"
        case .malformedLine(let path, let line, let reason):
            "\(path):\(line): \(reason)"
        case .emptyDepartment(let path, let line):
            "\(path):\(line): the department name is empty"
        case .emptyCode(let path, let line, let department):
            "\(path):\(line): the department_code of '\(department)' is empty"
        case .duplicateDepartment(let path, let line, let department, let firstLine):
            "\(path):\(line): department '\(department)' is already defined on line \(firstLine)"
        case .noDepartments(let path):
            "\(path): no departments after the header"
        }
    }
}

/// `department` → `department_code`, from a CSV file with the header `department,department_code`
/// (columns in any order, extra columns ignored, header names case-insensitive).
///
/// CSV rules: RFC 4180 quoting (`"Research, Development"`, `""` inside quotes) within one line,
/// surrounding spaces of a field trimmed, CRLF or LF, an optional UTF-8 BOM, blank lines skipped.
/// Department names match exactly (case-sensitive, as written in the source records): a record
/// whose department is not in the file is a DLQ record with `unknown_department`.
public struct DepartmentLookup: Sendable, Equatable {
    public let codes: [String: String]

    public init(codes: [String: String]) {
        self.codes = codes
    }

    public init(contentsOf url: URL) throws(DepartmentLookupError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: url.path, reason: "not UTF-8 text")
        }
        try self.init(csv: text, path: url.path)
    }

    public init(csv text: String, path: String = "departments.csv") throws(DepartmentLookupError) {
        var body = Substring(text)
        if body.first == "\u{FEFF}" { body = body.dropFirst() }
        var departmentColumn = -1
        var codeColumn = -1
        var sawHeader = false
        var codes: [String: String] = [:]
        var definedOn: [String: Int] = [:]

        // Split on LF only: "\r\n" is a single Character in Swift, so split by scalars.
        let lines = body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, rawLine) in lines.enumerated() {
            let lineNumber = offset + 1
            var line = Substring(rawLine)
            if line.unicodeScalars.last == "\r" { line = Substring(line.unicodeScalars.dropLast()) }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = try Self.fields(of: line, path: path, line: lineNumber)
            if !sawHeader {
                sawHeader = true
                let names = fields.map { $0.lowercased() }
                guard let department = names.firstIndex(of: "department"),
                      let code = names.firstIndex(of: "department_code")
                else { throw .badHeader(path: path, found: String(line)) }
                departmentColumn = department
                codeColumn = code
                continue
            }
            let needed = max(departmentColumn, codeColumn) + 1
            guard fields.count >= needed else {
                throw .malformedLine(path: path, line: lineNumber,
                                     reason: "expected at least \(needed) fields, found \(fields.count): '\(line)'")
            }
            let department = fields[departmentColumn]
            let code = fields[codeColumn]
            guard !department.isEmpty else { throw .emptyDepartment(path: path, line: lineNumber) }
            guard !code.isEmpty else { throw .emptyCode(path: path, line: lineNumber, department: department) }
            if let firstLine = definedOn[department] {
                throw .duplicateDepartment(path: path, line: lineNumber, department: department, firstLine: firstLine)
            }
            definedOn[department] = lineNumber
            codes[department] = code
        }
        guard sawHeader else { throw .missingHeader(path: path) }
        guard !codes.isEmpty else { throw .noDepartments(path: path) }
        self.codes = codes
    }

    public func code(for department: String) -> String? { codes[department] }

    public var count: Int { codes.count }

    /// The fields of one CSV line, trimmed; quoted fields may contain commas and `""`.
    private static func fields(of line: Substring, path: String, line lineNumber: Int) throws(DepartmentLookupError) -> [String] {
        var fields: [String] = []
        var current = ""
        var inQuotes = false
        var wasQuoted = false
        var afterClosingQuote = false
        var scalars = line.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = scalars.next()
        func finish() {
            fields.append(wasQuoted ? current : current.trimmingCharacters(in: .whitespaces))
            current = ""
            wasQuoted = false
            afterClosingQuote = false
        }
        while let scalar = pending {
            pending = scalars.next()
            if inQuotes {
                if scalar == "\"" {
                    if pending == "\"" {
                        current.unicodeScalars.append("\"")
                        pending = scalars.next()
                    } else {
                        inQuotes = false
                        afterClosingQuote = true
                    }
                } else {
                    current.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case ",":
                finish()
            case "\"":
                guard current.trimmingCharacters(in: .whitespaces).isEmpty, !afterClosingQuote else {
                    throw .malformedLine(path: path, line: lineNumber, reason: "unexpected '\"' inside an unquoted field: '\(line)'")
                }
                current = ""
                inQuotes = true
                wasQuoted = true
            default:
                if afterClosingQuote {
                    guard scalar == " " || scalar == "\t" else {
                        throw .malformedLine(path: path, line: lineNumber, reason: "text after a closing quote: '\(line)'")
                    }
                } else {
                    current.unicodeScalars.append(scalar)
                }
            }
        }
        guard !inQuotes else {
            throw .malformedLine(path: path, line: lineNumber, reason: "unterminated quoted field: '\(line)'")
        }
        finish()
        return fields
    }
}
