import CSV
public import Foundation

/// A contract's reference CSVs, read once before its first record: a file that cannot be
/// read, lacks a column or repeats a key fails the run with the file and line named.
public enum LookupTables {
    public struct LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        public let file: String
        public let line: Int?
        public let reason: String
        public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
    }

    /// Every lookup of `contract`, by field name. Relative file names resolve against `directory`.
    public static func load(for contract: Contract, relativeTo directory: URL) throws(LoadError) -> [String: [String: String]] {
        var tables: [String: [String: String]] = [:]
        for field in contract.fields {
            guard let lookup = field.lookup else { continue }
            let url = lookup.file.hasPrefix("/") ? URL(fileURLWithPath: lookup.file) : directory.appendingPathComponent(lookup.file)
            tables[field.name] = try load(lookup, from: url)
        }
        return tables
    }

    static func load(_ lookup: ContractField.Lookup, from url: URL) throws(LoadError) -> [String: String] {
        let path = url.path
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw LoadError(file: path, line: nil, reason: "cannot read the lookup (\((error as NSError).localizedDescription)); it must be a UTF-8 CSV with the columns \(lookup.keyColumn) and \(lookup.valueColumn)")
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true)
        } catch {
            throw LoadError(file: path, line: 1, reason: "not CSV: \(error)")
        }
        let header = reader.headerRow ?? []
        guard let keyIndex = header.firstIndex(of: lookup.keyColumn), let valueIndex = header.firstIndex(of: lookup.valueColumn) else {
            throw LoadError(file: path, line: 1, reason: "expected the columns \(lookup.keyColumn) and \(lookup.valueColumn), found \(header.joined(separator: ","))")
        }
        var table: [String: String] = [:]
        var line = 1
        while let row = reader.next() {
            line += 1
            guard row.count > max(keyIndex, valueIndex) else {
                throw LoadError(file: path, line: line, reason: "expected at least \(max(keyIndex, valueIndex) + 1) fields, found \(row.count)")
            }
            guard table[row[keyIndex]] == nil else {
                throw LoadError(file: path, line: line, reason: "\(lookup.keyColumn) '\(row[keyIndex])' is defined twice")
            }
            table[row[keyIndex]] = row[valueIndex]
        }
        if let error = reader.error { throw LoadError(file: path, line: line + 1, reason: "\(error)") }
        return table
    }
}
