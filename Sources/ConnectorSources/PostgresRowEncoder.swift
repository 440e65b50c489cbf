import ETLCore
import Foundation
import PostgresNIO

/// One column of a result as the server describes it.
struct PostgresColumn: Sendable, Equatable {
    var name: String
    var dataType: PostgresDataType

    /// Whether the encoder reads this type's binary form itself; every other type is cast to
    /// `text` in the select list, so it arrives as its text form.
    var isDecodedDirectly: Bool { PostgresCellValue.directlyDecoded.contains(dataType) }
}

/// Turns rows into JSON objects, one key per column in the row description's order, without
/// building an intermediate tree: each cell's binary form goes straight into a `JSONWriter`.
struct PostgresRowEncoder {
    /// The column whose text form the incremental state keeps, if any.
    private let cursorColumn: String?
    /// `"name":` per column, quoted once, from the first row.
    private var keys: [[UInt8]] = []
    private var cursorIndex: Int?

    init(cursorColumn: String? = nil) {
        self.cursorColumn = cursorColumn
    }

    /// The row's JSON object and the text form of its cursor cell (nil when it is NULL or
    /// there is no cursor).
    mutating func encode(_ row: PostgresRow) throws(PostgresCellValue.DecodingFailure) -> (record: [UInt8], cursor: String?) {
        if keys.isEmpty { learnColumns(of: row) }
        var writer = JSONWriter(capacity: 256)
        var cursor: String?
        writer.beginObject()
        for (index, cell) in row.enumerated() {
            let value = try PostgresCellValue(cell)
            writer.key(prefix: keys[index])
            value.write(into: &writer)
            if index == cursorIndex { cursor = value.text }
        }
        writer.endObject()
        return (writer.bytes, cursor)
    }

    /// Every row of a result has the same columns.
    private mutating func learnColumns(of row: PostgresRow) {
        keys = row.map { Array((JSONWriter.quoted($0.columnName) + ":").utf8) }
        cursorIndex = cursorColumn.flatMap { name in row.firstIndex { $0.columnName == name }.map { row.distance(from: row.startIndex, to: $0) } }
    }
}

/// A cell as the JSON value it becomes.
enum PostgresCellValue: Equatable {
    case null
    case integer(Int64)
    /// A JSON number in its exact text (numeric keeps its scale: `12.50`).
    case number(String)
    case string(String)
    case boolean(Bool)
    /// Valid JSON text (json and jsonb), embedded as it is.
    case json([UInt8])

    struct DecodingFailure: Error {
        let column: String
        let type: PostgresDataType
    }

    static let directlyDecoded: Set<PostgresDataType> = [
        .int2, .int4, .int8, .float4, .float8, .numeric, .bool, .text, .varchar, .bpchar, .name, .uuid,
        .date, .timestamp, .timestamptz, .json, .jsonb, .bytea,
    ]

    init(_ cell: PostgresCell) throws(DecodingFailure) {
        guard var buffer = cell.bytes else { self = .null; return }
        guard cell.format == .binary else { self = .string(String(buffer: buffer)); return }
        guard let value = Self.decode(&buffer, as: cell.dataType) else {
            throw DecodingFailure(column: cell.columnName, type: cell.dataType)
        }
        self = value
    }

    /// The value as the server's parameter input reads it back (`$1::timestamptz`).
    var text: String? {
        switch self {
        case .null: nil
        case .integer(let value): String(value)
        case .number(let text), .string(let text): text
        case .boolean(let value): value ? "true" : "false"
        case .json(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }

    func write(into writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .integer(let value): writer.integer(value)
        case .number(let text): writer.raw(text.utf8)
        case .string(let text): writer.string(text)
        case .boolean(let value): writer.bool(value)
        case .json(let bytes): writer.raw(bytes)
        }
    }

    // MARK: - Binary forms

    private static func decode(_ buffer: inout ByteBuffer, as type: PostgresDataType) -> PostgresCellValue? {
        switch type {
        case .int2: buffer.readInteger(as: Int16.self).map { .integer(Int64($0)) }
        case .int4: buffer.readInteger(as: Int32.self).map { .integer(Int64($0)) }
        case .int8: buffer.readInteger(as: Int64.self).map { .integer($0) }
        case .float4: buffer.readInteger(as: UInt32.self).map { floatingPoint(Float(bitPattern: $0)) }
        case .float8: buffer.readInteger(as: UInt64.self).map { floatingPoint(Double(bitPattern: $0)) }
        case .numeric: PostgresNumericText.read(&buffer).map { ["NaN", "Infinity", "-Infinity"].contains($0) ? .string($0) : .number($0) }
        case .bool: buffer.readInteger(as: UInt8.self).map { .boolean($0 != 0) }
        case .uuid: buffer.readBytes(length: 16).map { .string(uuidText($0)) }
        case .date: buffer.readInteger(as: Int32.self).map { .string(PostgresTimeText.date(daysSince2000: $0)) }
        case .timestamp: buffer.readInteger(as: Int64.self).map { .string(PostgresTimeText.timestamp(microsecondsSince2000: $0, zone: "")) }
        case .timestamptz: buffer.readInteger(as: Int64.self).map { .string(PostgresTimeText.timestamp(microsecondsSince2000: $0, zone: "Z")) }
        case .json: .json(singleLine(buffer.readBytes(length: buffer.readableBytes) ?? []))
        case .jsonb: buffer.readInteger(as: UInt8.self) == 1 ? .json(singleLine(buffer.readBytes(length: buffer.readableBytes) ?? [])) : nil
        case .bytea: .string(Data(buffer.readableBytesView).base64EncodedString())
        default: .string(String(buffer: buffer))
        }
    }

    /// Finite values as JSON numbers (Swift's shortest text that reads back to the same
    /// value); NaN and the infinities as the strings PostgreSQL writes for them.
    private static func floatingPoint<Value: BinaryFloatingPoint & LosslessStringConvertible>(_ value: Value) -> PostgresCellValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value < 0 ? "-Infinity" : "Infinity") }
        return .number(value.description)
    }

    /// A json value may span lines; a record is one line. Outside strings a line break is
    /// only whitespace, and inside a valid JSON string it cannot occur unescaped.
    private static func singleLine(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }

    private static func uuidText(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }
}

/// numeric's binary form (base-10000 digits with a weight, a sign and a display scale) as
/// the exact text PostgreSQL itself writes: `-12.50`, `0.0001`, `NaN`, `Infinity`.
enum PostgresNumericText {
    static func read(_ buffer: inout ByteBuffer) -> String? {
        guard let count = buffer.readInteger(as: Int16.self), let weight = buffer.readInteger(as: Int16.self),
              let sign = buffer.readInteger(as: UInt16.self), let scale = buffer.readInteger(as: Int16.self) else { return nil }
        switch sign {
        case 0xC000: return "NaN"
        case 0xD000: return "Infinity"
        case 0xF000: return "-Infinity"
        default: break
        }
        var digits: [Int16] = []
        for _ in 0..<max(0, Int(count)) {
            guard let digit = buffer.readInteger(as: Int16.self) else { return nil }
            digits.append(digit)
        }
        return text(digits: digits, weight: Int(weight), isNegative: sign == 0x4000, scale: Int(scale))
    }

    /// Digit group `index` stands for `digits[index] * 10000^(weight - index)`.
    static func text(digits: [Int16], weight: Int, isNegative: Bool, scale: Int) -> String {
        func group(_ index: Int) -> Int16 { digits.indices.contains(index) ? digits[index] : 0 }
        var text = isNegative ? "-" : ""
        if weight < 0 {
            text += "0"
        } else {
            text += String(group(0))
            for index in stride(from: 1, through: weight, by: 1) { text += String(group(index)).leftPadded(to: 4) }
        }
        guard scale > 0 else { return text }
        var fraction = ""
        var index = weight + 1
        while fraction.count < scale {
            fraction += String(group(index)).leftPadded(to: 4)
            index += 1
        }
        return text + "." + fraction.prefix(scale)
    }
}

/// date, timestamp and timestamptz (days or microseconds since 2000-01-01) as ISO-8601
/// text, microseconds kept, trailing zeros of the fraction dropped. timestamptz is in UTC.
enum PostgresTimeText {
    private static let daysFrom1970To2000: Int64 = 10_957
    private static let microsecondsPerDay: Int64 = 86_400_000_000

    static func date(daysSince2000 days: Int32) -> String {
        switch days {
        case .max: "infinity"
        case .min: "-infinity"
        default: civilDate(daysSince1970: Int64(days) + daysFrom1970To2000)
        }
    }

    static func timestamp(microsecondsSince2000 microseconds: Int64, zone: String) -> String {
        switch microseconds {
        case .max: return "infinity"
        case .min: return "-infinity"
        default: break
        }
        let (days, remainder) = floorDivision(microseconds, microsecondsPerDay)
        let seconds = remainder / 1_000_000
        let fraction = remainder % 1_000_000
        var text = civilDate(daysSince1970: days + daysFrom1970To2000) + "T"
        text += [seconds / 3600, seconds / 60 % 60, seconds % 60].map { String($0).leftPadded(to: 2) }.joined(separator: ":")
        if fraction != 0 {
            var digits = String(fraction).leftPadded(to: 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + zone
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = value / divisor - (value % divisor < 0 ? 1 : 0)
        return (quotient, value - quotient * divisor)
    }

    /// Proleptic Gregorian `YYYY-MM-DD` (astronomical years: 1 BC is 0000), after Howard
    /// Hinnant's `civil_from_days`.
    private static func civilDate(daysSince1970: Int64) -> String {
        let shifted = daysSince1970 + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let yearText = (year < 0 ? "-" : "") + String(year.magnitude).leftPadded(to: 4)
        return "\(yearText)-\(String(month).leftPadded(to: 2))-\(String(day).leftPadded(to: 2))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
