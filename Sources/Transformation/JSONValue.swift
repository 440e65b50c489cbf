/// A JSON value as parsed by `JSONParser`.
///
/// - Numbers keep their exact source text (`"1e400"`, `"123456789012345678901234567890"`),
///   so nothing overflows, rounds or traps while parsing; convert with `int64Value` or
///   `doubleValue` when (and only when) a number is needed.
/// - Objects keep their members in source order, duplicates included; `self["key"]` returns
///   the last occurrence (as JavaScript's `JSON.parse` does).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value of the last member named `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var isNumber: Bool {
        if case .number = self { return true }
        return false
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// The number's source text, e.g. `"42"`, `"-1.5e3"`.
    public var numberText: String? {
        if case .number(let text) = self { return text }
        return nil
    }

    /// The number as an `Int64` when it is written as an integer literal (no fraction, no
    /// exponent) that fits in 64 bits: `42`, `-7`, `-0` → 0. `42.0`, `4.2e1`, `1e400` and
    /// `12345678901234567890123` are nil: an identifier must be an exact integer literal.
    public var int64Value: Int64? {
        guard case .number(let text) = self else { return nil }
        for byte in text.utf8 where byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            return nil
        }
        return Int64(text)
    }

    /// The number as a finite `Double` (rounded to the nearest representable value); nil for
    /// a non-number or a magnitude beyond `Double` (`1e400`). Underflow gives ±0.
    public var doubleValue: Double? {
        guard case .number(let text) = self, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// The JSON type's name, for messages: "null", "boolean", "number", "string", "array", "object".
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
