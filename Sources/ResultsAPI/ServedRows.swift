import ETLCore
import GRDB
import PipelineSchema

/// Writes rows as the allow-list (`ServedFields`) says: the SELECT lists exactly the
/// allow-listed columns, and each value is read by its column's name and written by its
/// declared kind. Nothing else of a row can reach a response.
struct ServedRows {
    let fields: [ServedFields.Field]
    /// `"name":` for each field, computed once.
    private let keyPrefixes: [[UInt8]]

    init(_ fields: [ServedFields.Field]) {
        self.fields = fields
        keyPrefixes = fields.map { Array("\"\($0.name)\":".utf8) }
    }

    /// The column list for `SELECT`: the allow-listed names, and only them.
    var columns: String { fields.map(\.name).joined(separator: ", ") }

    /// Writes the members of one row of `SELECT \(columns), …` into the object being
    /// written (the caller opens and closes it). By name: a cursor's row looks names up in a
    /// dictionary built once per statement, so this costs about what an index does.
    func writeMembers(_ row: Row, into writer: inout JSONWriter) {
        for (index, field) in fields.enumerated() {
            writer.key(prefix: keyPrefixes[index])
            Self.write(row, column: field.name, as: field.kind, into: &writer)
        }
    }

    func writeObject(_ row: Row, into writer: inout JSONWriter) {
        writer.beginObject()
        writeMembers(row, into: &writer)
        writer.endObject()
    }

    static func write(_ row: Row, column: String, as kind: ServedFields.Field.Kind, into writer: inout JSONWriter) {
        switch kind {
        case .requiredText: writer.string((row[column] as String?) ?? "")
        case .text: writer.string(row[column] as String?)
        case .integer: writer.integer(row[column] as Int64?)
        case .count: writer.integer((row[column] as Int64?) ?? 0)
        case .real: writer.double(row[column] as Double?)
        case .stringArray: writeStringArray(row[column], into: &writer)
        }
    }

    /// A stored JSON array as an array of its string elements; `[]` for anything else (a
    /// row someone edited by hand). Read with the product's one JSON grammar (`JSONCursor`),
    /// each string copied as it is stored, already valid JSON.
    private static func writeStringArray(_ text: String?, into writer: inout JSONWriter) {
        writer.raw(text.flatMap(stringElements(of:)) ?? Array("[]".utf8))
    }

    static func stringElements(of text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { bytes -> [UInt8]? in
            var cursor = JSONCursor(bytes: bytes)
            var elements: [UInt8] = [UInt8(ascii: "[")]
            do throws(JSONGrammarError) {
                cursor.skipWhitespace()
                try cursor.readArray { cursor throws(JSONGrammarError) in
                    guard cursor.peek() == UInt8(ascii: "\"") else { return false }
                    if elements.count > 1 { elements.append(UInt8(ascii: ",")) }
                    try cursor.copyString(into: &elements)
                    return true
                }
                cursor.skipWhitespace()
                guard cursor.isAtEnd else { return nil }
            } catch {
                return nil
            }
            elements.append(UInt8(ascii: "]"))
            return elements
        }
    }
}
