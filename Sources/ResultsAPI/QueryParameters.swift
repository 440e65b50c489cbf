import ETLCore
import GRDB

/// Reads and checks query parameters; every malformed value is a 400 `invalid_parameter`
/// naming the parameter, never a 500. Absent parameters are nil.
struct QueryParameters {
    static let maxTextLength = 200

    let lookup: (String) -> Substring?

    init(_ lookup: @escaping (String) -> Substring?) {
        self.lookup = lookup
    }

    func limit() throws -> Int {
        try lookup("limit").map { try RunsQuery.integer($0, name: "limit", in: 1...RunsQuery.maxLimit) } ?? RunsQuery.defaultLimit
    }

    func offset() throws -> Int {
        try lookup("offset").map { try RunsQuery.integer($0, name: "offset", in: 0...RunsQuery.maxOffset) } ?? 0
    }

    func runID(_ name: String = "run_id") throws -> RunIDText? {
        guard let raw = lookup(name) else { return nil }
        guard let id = RunIDText(raw) else {
            throw APIError.badParameter(name, "'\(raw)' is not a run id; expected YYYYMMDD_HHMMSS (UTC)")
        }
        return id
    }

    /// Free text (a department name, a search term): 1 to 200 characters, no control
    /// characters. A NUL would end the pattern early inside SQLite's LIKE (`%` + NUL matches
    /// every row), and no name, email or department holds a control character.
    func text(_ name: String) throws -> String? {
        guard let raw = lookup(name) else { return nil }
        guard !raw.isEmpty, raw.count <= Self.maxTextLength else {
            throw APIError.badParameter(name, "expected 1 to \(Self.maxTextLength) characters")
        }
        guard !raw.unicodeScalars.contains(where: Self.isControl) else {
            throw APIError.badParameter(name, "control characters (such as NUL, %00) are not allowed")
        }
        return String(raw)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F
    }

    /// A machine code (`ENG`, `invalid_email`): 1 to 64 ASCII letters, digits, `_` or `-`.
    func code(_ name: String) throws -> String? {
        guard let raw = lookup(name) else { return nil }
        guard !raw.isEmpty, raw.utf8.count <= 64, raw.utf8.allSatisfy(Self.isCodeByte) else {
            throw APIError.badParameter(name, "'\(raw)' is invalid; expected 1 to 64 letters, digits, '_' or '-'")
        }
        return String(raw)
    }

    private static func isCodeByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }
}

/// SQL fragments with their bound values. Only constant SQL text is ever appended; every
/// value a client sent travels as a bound argument.
struct SQLFilter {
    private(set) var conditions: [String] = []
    private(set) var arguments: [DatabaseValue] = []

    mutating func add(_ condition: String, _ values: String...) {
        add(condition, values: values)
    }

    mutating func add(_ condition: String, values: [String]) {
        conditions.append(condition)
        arguments.append(contentsOf: values.map(\.databaseValue))
    }

    var whereClause: String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }

    /// A `LIKE … ESCAPE '\'` pattern matching `text` anywhere, its `%`, `_` and `\` literal.
    static func containsPattern(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }
}

/// A run id as clients may send it: `YYYYMMDD_HHMMSS` with a month 01–12, a day 01–31, an
/// hour 00–23 and minutes and seconds 00–59 (the OpenAPI document's pattern, exactly). An id
/// of that shape naming an impossible date (Feb 30) is well-formed but names no run: 404 or
/// an empty page, never a 400 the document does not announce.
struct RunIDText: Sendable, Equatable {
    let timestamp: String

    init?(_ raw: some StringProtocol) {
        let bytes = Array(raw.utf8)
        guard bytes.count == 15, bytes[8] == UInt8(ascii: "_") else { return nil }
        let digits = bytes.enumerated().filter { $0.offset != 8 }.map(\.element)
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func number(_ offset: Int, _ count: Int) -> Int {
            digits[offset..<offset + count].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        guard (1...12).contains(number(4, 2)), (1...31).contains(number(6, 2)),
              number(8, 2) <= 23, number(10, 2) <= 59, number(12, 2) <= 59
        else { return nil }
        timestamp = String(raw)
    }
}
