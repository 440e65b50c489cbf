import Connectors
import CSV
import ETLCore
import Foundation

/// How a CSV file is to be read: the options `simple_csv` and `local_file` share.
struct CSVOptions: Sendable, Equatable {
    enum ColumnType: String, Sendable, CaseIterable {
        case string, integer, number, boolean
    }

    var delimiter: UInt8
    var encoding: CSVTextEncoding
    /// nil: the first row (after `skipRows`) is the header.
    var columns: [String]?
    var skipRows: Int
    var columnTypes: [String: ColumnType]

    static let fields: [ConfigField] = [
        .optional("delimiter", .string, default: .string(","), "the one ASCII character between fields, e.g. , ; | or \\t for a tab"),
        .optional("encoding", .choice(CSVTextEncoding.names), default: .string("utf-8"),
                  "the file's text encoding; utf-16 needs a byte-order mark, utf-16le and utf-16be do not"),
        .optional("columns", .strings, "the column names, when the file has no header row (otherwise the first row is the header)"),
        .optional("skip_rows", .integer(0...1_000_000), default: .integer(0), "lines to skip before the header (or the first row)"),
        .optional("column_types", .stringMap,
                  "column → string, integer, number or boolean: those values become JSON numbers or booleans; an empty cell becomes null"),
    ]

    /// The problems of the CSV fields of a config, for the schema's rules.
    static func problems(in config: ConnectorConfig) -> [(field: String, problem: String)] {
        var problems: [(field: String, problem: String)] = []
        if let text = config.string("delimiter"), delimiterByte(text) == nil {
            problems.append(("delimiter", "must be one ASCII character other than a quote or a line end (or \\t for a tab), got \"\(text)\""))
        }
        if let columns = config.strings("columns") {
            if columns.isEmpty { problems.append(("columns", "must name at least one column")) }
            if let repeated = firstRepeated(columns) { problems.append(("columns", "names \"\(repeated)\" twice")) }
        }
        let typeNames = ColumnType.allCases.map(\.rawValue)
        for (column, type) in (config.stringMap("column_types") ?? [:]).sorted(by: { $0.key < $1.key }) {
            if ColumnType(rawValue: type) == nil {
                problems.append(("column_types", "gives column \"\(column)\" the type \"\(type)\"; the types are \(typeNames.joined(separator: ", "))"))
            } else if let columns = config.strings("columns"), !columns.contains(column) {
                problems.append(("column_types", "names column \"\(column)\", which columns does not list"))
            }
        }
        return problems
    }

    /// Options of a config `problems(in:)` found nothing wrong with.
    init(config: ConnectorConfig) {
        delimiter = Self.delimiterByte(config.string("delimiter") ?? ",") ?? UInt8(ascii: ",")
        encoding = CSVTextEncoding(name: config.string("encoding") ?? "utf-8") ?? .utf8
        columns = config.strings("columns")
        skipRows = config.integer("skip_rows") ?? 0
        columnTypes = (config.stringMap("column_types") ?? [:]).compactMapValues(ColumnType.init(rawValue:))
    }

    private static func delimiterByte(_ text: String) -> UInt8? {
        if text == "\\t" { return 0x09 }
        guard text.utf8.count == 1, let byte = text.utf8.first, byte < 0x80,
            ![UInt8(ascii: "\""), 0x0A, 0x0D].contains(byte)
        else { return nil }
        return byte
    }

    static func firstRepeated(_ names: [String]) -> String? {
        var seen = Set<String>()
        return names.first { !seen.insert($0).inserted }
    }
}

/// The rows of one CSV file as JSON objects (keys: the column names in order; values: strings,
/// or what `column_types` converts them to), read as a stream. Bad input fails with a
/// `fetch` error naming the file and the line (or byte).
final class CSVRecordReader: RecordBatches {
    private(set) var columns: [String] = []
    /// The file as messages name it (its path, or the URL it was downloaded from).
    let object: String
    /// The file's name, for batch positions.
    let name: String
    /// The line the last record returned starts on.
    private(set) var line = 0
    private let connector: String
    private let stream: CSVTextStream
    private let reader: CSVReader
    private var keys: [[UInt8]] = []
    private var types: [CSVOptions.ColumnType] = []
    private var nextRowLine: Int
    /// Where the column names come from, for messages.
    private let columnsSource: String

    /// Opens `path` and reads its header row (unless `options.columns` names the columns).
    init(path: String, object: String, name: String, options: CSVOptions, connector: String) throws(ConnectorError) {
        self.object = object
        self.name = name
        self.connector = connector
        let file = try Self.open(path: path, object: object, connector: connector)
        columnsSource = options.columns == nil ? "the header has" : "columns lists"
        stream = CSVTextStream(file: file, encoding: options.encoding, delimiter: options.delimiter, skipLines: options.skipRows)
        nextRowLine = options.skipRows + 1
        do {
            reader = try CSVReader(stream: stream, codecType: UTF8.self, delimiter: UnicodeScalar(options.delimiter))
        } catch {
            throw stream.failure.map { ConnectorError(.fetch, connector: connector, object: object, position: $0.position, $0.reason) }
                ?? ConnectorError(.fetch, connector: connector, object: object, "cannot read the file: \(error)")
        }
        if let columns = options.columns {
            self.columns = columns
        } else {
            guard let header = try nextRow() else {
                throw ConnectorError(.fetch, connector: connector, object: object, "the file is empty: there is no header row (give columns if the file has none)")
            }
            if let repeated = CSVOptions.firstRepeated(header.fields) {
                throw ConnectorError(.fetch, connector: connector, object: object, position: "line \(header.line)", "the header names column \"\(repeated)\" twice")
            }
            columns = header.fields
        }
        if let unknown = options.columnTypes.keys.sorted().first(where: { !columns.contains($0) }) {
            throw ConnectorError(.configuration, connector: connector, object: "field column_types",
                                 "names column \"\(unknown)\", which \(object) does not have (its columns: \(columns.joined(separator: ", ")))")
        }
        keys = columns.map { Array((JSONWriter.quoted($0) + ":").utf8) }
        types = columns.map { options.columnTypes[$0] ?? .string }
    }

    /// The next row as the bytes of a JSON object; nil at the end of the file.
    func nextRecord() throws(ConnectorError) -> [UInt8]? {
        guard let row = try nextRow() else { return nil }
        guard row.fields.count == columns.count else {
            throw ConnectorError(.fetch, connector: connector, object: object, position: "line \(row.line)",
                                 "\(row.fields.count) fields where \(columnsSource) \(columns.count)")
        }
        line = row.line
        var writer = JSONWriter(capacity: 64 * columns.count)
        writer.beginObject()
        for index in columns.indices {
            writer.key(prefix: keys[index])
            Self.writeCell(row.fields[index], as: types[index], to: &writer)
        }
        writer.endObject()
        return writer.bytes
    }

    func nextBatch(upTo count: Int) throws(ConnectorError) -> RecordBatch? {
        var records: [[UInt8]] = []
        var firstLine = 0
        while records.count < count, let record = try nextRecord() {
            if records.isEmpty { firstLine = line }
            records.append(record)
        }
        return records.isEmpty ? nil : RecordBatch(records: records, position: "\(name) line \(firstLine)")
    }

    /// The next row that is not a blank line, with the line it starts on.
    private func nextRow() throws(ConnectorError) -> (fields: [String], line: Int)? {
        while true {
            let row = reader.next()
            if let failure = stream.failure {
                throw ConnectorError(.fetch, connector: connector, object: object, position: failure.position, failure.reason)
            }
            if let error = reader.error {
                throw ConnectorError(.fetch, connector: connector, object: object, position: "line \(nextRowLine)", "cannot read the file: \(error)")
            }
            guard let row else { return nil }
            let line = nextRowLine
            nextRowLine += 1 + row.reduce(0) { $0 + Self.lineEnds(in: $1) }
            if row == [""] { continue }
            return (row, line)
        }
    }

    /// Line ends inside a (quoted) field: CR LF, LF or CR, each one line.
    private static func lineEnds(in field: String) -> Int {
        var count = 0
        var previousWasCarriageReturn = false
        for byte in field.utf8 {
            if byte == 0x0D || (byte == 0x0A && !previousWasCarriageReturn) { count += 1 }
            previousWasCarriageReturn = byte == 0x0D
        }
        return count
    }

    /// A typed cell: empty → null; a value that does not convert stays a string, so the
    /// record's contract reports it rather than the read failing.
    private static func writeCell(_ text: String, as type: CSVOptions.ColumnType, to writer: inout JSONWriter) {
        guard type != .string else { writer.string(text); return }
        let value = text.trimmingCharacters(in: .whitespaces)
        if value.isEmpty { writer.null(); return }
        switch type {
        case .integer:
            if let number = Int64(value) { writer.integer(number) } else { writer.string(text) }
        case .number:
            writeNumber(value, original: text, to: &writer)
        case .boolean:
            switch value.lowercased() {
            case "true": writer.bool(true)
            case "false": writer.bool(false)
            default: writer.string(text)
            }
        case .string:
            writer.string(text)
        }
    }

    /// Decimal text only (no `nan`, `inf` or hex); kept as written when it already is a JSON number.
    private static func writeNumber(_ value: String, original: String, to writer: inout JSONWriter) {
        let isDecimal = value.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || [0x2B, 0x2D, 0x2E, 0x45, 0x65].contains($0) }
        guard isDecimal, let number = Double(value), number.isFinite else { writer.string(original); return }
        if isJSONNumber(value) { writer.raw(Array(value.utf8)) } else { writer.double(number) }
    }

    private static func isJSONNumber(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard let end = try? JSONGrammar.endOfNumber(bytes, at: 0).end else { return false }
            return end == bytes.count
        }
    }

    /// The file, opened for reading; `not_found` when there is none.
    private static func open(path: String, object: String, connector: String) throws(ConnectorError) -> FileHandle {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConnectorError(.notFound, connector: connector, object: object, "no such file")
        }
        guard !isDirectory.boolValue else {
            throw ConnectorError(.fetch, connector: connector, object: object, "is a folder, not a file")
        }
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw ConnectorError(.fetch, connector: connector, object: object, "cannot be opened for reading (check its permissions)")
        }
        return file
    }
}
