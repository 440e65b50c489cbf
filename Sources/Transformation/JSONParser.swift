public import ETLCore

/// Reads a JSON document into a `JSONValue` through the product's one reader (`JSONCursor`),
/// so the transformer accepts exactly what every other reader accepts:
///
/// - exactly one value, surrounded only by JSON whitespace (space, tab, LF, CR);
/// - the grammar of `JSONGrammar` (strict RFC 8259 strings and numbers) and `JSONCursor`
///   (no trailing commas, comments, single quotes, `NaN`/`Infinity`);
/// - nesting is limited (`maximumDepth`, the product's `JSONNesting.maximumDepth` by default;
///   the error then has `isNestingTooDeep`), so `[[[[…` cannot exhaust the stack;
/// - numbers are validated and kept as text (see `JSONValue.number`).
public enum JSONParser {
    public static let defaultMaximumDepth = JSONNesting.maximumDepth

    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = defaultMaximumDepth
    ) throws(JSONGrammarError) -> JSONValue {
        try readDocument(bytes, maximumDepth: maximumDepth) { cursor throws(JSONGrammarError) in try readValue(&cursor) }
    }

    /// Parses and fully validates the document but materializes, of a top-level object, only
    /// the members named in `keys` (every other member is checked and skipped in place,
    /// without allocating). Other top-level values are returned whole. This is the hot path of
    /// the transformer, which needs five fields out of a record of ~60.
    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, keepingTopLevelKeys keys: [String], maximumDepth: Int = defaultMaximumDepth
    ) throws(JSONGrammarError) -> JSONValue {
        try readDocument(bytes, maximumDepth: maximumDepth) { cursor throws(JSONGrammarError) in
            guard cursor.peek() == UInt8(ascii: "{") else { return try readValue(&cursor) }
            return try readObject(&cursor) { name in keys.contains(where: name.matches) }
        }
    }

    public static func parse(_ text: String, maximumDepth: Int = defaultMaximumDepth) throws(JSONGrammarError) -> JSONValue {
        try parse(Array(text.utf8), maximumDepth: maximumDepth)
    }

    public static func parse(_ bytes: [UInt8], maximumDepth: Int = defaultMaximumDepth) throws(JSONGrammarError) -> JSONValue {
        let result: Result<JSONValue, JSONGrammarError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONGrammarError) -> JSONValue in try parse(buffer, maximumDepth: maximumDepth) }
        }
        return try result.get()
    }

    private static func readDocument(
        _ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int,
        _ readTopLevel: (inout JSONCursor) throws(JSONGrammarError) -> JSONValue
    ) throws(JSONGrammarError) -> JSONValue {
        var cursor = JSONCursor(bytes: bytes, maximumDepth: max(1, maximumDepth))
        cursor.skipWhitespace()
        guard !cursor.isAtEnd else { throw cursor.failure(bytes.isEmpty ? "empty input" : "no JSON value, only whitespace") }
        let value = try readTopLevel(&cursor)
        cursor.skipWhitespace()
        if let byte = cursor.peek() { throw cursor.failure("unexpected \(JSONGrammar.describe(byte)) after the JSON value") }
        return value
    }

    private static func readValue(_ cursor: inout JSONCursor) throws(JSONGrammarError) -> JSONValue {
        let first = cursor.peek() ?? 0  // at the end: `skipValue` below says so
        switch first {
        case UInt8(ascii: "{"):
            return try readObject(&cursor) { _ in true }
        case UInt8(ascii: "["):
            var elements: [JSONValue] = []
            try cursor.readArray { cursor throws(JSONGrammarError) in
                let element = try readValue(&cursor)
                elements.append(element)
                return true
            }
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(try cursor.readString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try cursor.readNumber())
        default:
            // A literal, or not a value: the cursor checks which and says why.
            try cursor.skipValue()
            return first == UInt8(ascii: "n") ? .null : .bool(first == UInt8(ascii: "t"))
        }
    }

    /// The object at the cursor with the members `keeps` selects; the others are skipped.
    private static func readObject(
        _ cursor: inout JSONCursor, keeping keeps: (JSONMemberName) -> Bool
    ) throws(JSONGrammarError) -> JSONValue {
        var members: [JSONValue.Member] = []
        try cursor.readObject { name, cursor throws(JSONGrammarError) in
            guard keeps(name) else { return false }
            let value = try readValue(&cursor)
            members.append(JSONValue.Member(key: name.decoded, value: value))
            return true
        }
        return .object(members)
    }
}
