import ETLCore

/// Why a line is not JSON, with the byte offset where the parser stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    /// The text is not refused for its grammar but for nesting deeper than the product's limit
    /// (`JSONNesting.maximumDepth`): such a record gets its own dead-letter code.
    public let isNestingTooDeep: Bool

    public init(offset: Int, reason: String, isNestingTooDeep: Bool = false) {
        self.offset = offset
        self.reason = reason
        self.isNestingTooDeep = isNestingTooDeep
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes that never traps, whatever the input:
///
/// - exactly one value, surrounded only by JSON whitespace (space, tab, LF, CR);
/// - no trailing commas, comments, single quotes, `NaN`/`Infinity`, leading zeros, `+1`, `.5`;
/// - strings: no raw control characters (U+0000–U+001F), only the RFC's escapes, valid UTF-8
///   (overlongs, surrogates encoded in UTF-8 and bytes F5–FF are rejected), and `\u` escapes
///   that form valid scalars: a lone or mismatched surrogate (`"\uD800"`) is an error;
/// - nesting is limited (`maximumDepth`, the product's `JSONNesting.maximumDepth` by default) so
///   `[[[[…` cannot exhaust the stack;
/// - numbers are validated against the grammar and kept as text (see `JSONValue.number`).
public enum JSONParser {
    public static let defaultMaximumDepth = JSONNesting.maximumDepth

    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = defaultMaximumDepth
    ) throws(JSONParseError) -> JSONValue {
        var scanner = JSONScanner(bytes: bytes, maximumDepth: maximumDepth, topLevelKeys: nil)
        return try scanner.parseDocument()
    }

    /// Parses and fully validates the document but materializes, of a top-level object, only
    /// the members named in `keys` (every other member is checked and dropped without
    /// allocating). Other top-level values are returned whole. This is the hot path of the
    /// transformer, which needs five fields out of a record of ~60.
    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, keepingTopLevelKeys keys: [String], maximumDepth: Int = defaultMaximumDepth
    ) throws(JSONParseError) -> JSONValue {
        var scanner = JSONScanner(bytes: bytes, maximumDepth: maximumDepth, topLevelKeys: keys)
        return try scanner.parseDocument()
    }

    public static func parse(_ text: String, maximumDepth: Int = defaultMaximumDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maximumDepth: maximumDepth)
    }

    public static func parse(_ bytes: [UInt8], maximumDepth: Int = defaultMaximumDepth) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer, maximumDepth: maximumDepth) }
        }
        return try result.get()
    }
}

private enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let one = UInt8(ascii: "1")
    static let lowerE = UInt8(ascii: "e")
    static let upperE = UInt8(ascii: "E")
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
}

struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let count: Int
    private var index = 0
    private let maximumDepth: Int
    private let topLevelKeys: [String]?
    /// Reused for strings that contain escapes.
    private var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int, topLevelKeys: [String]?) {
        self.bytes = bytes
        count = bytes.count
        self.maximumDepth = max(1, maximumDepth)
        self.topLevelKeys = topLevelKeys
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < count else { throw error(count == 0 ? "empty input" : "no JSON value, only whitespace") }
        let value = try parseValue(depth: 0, materialize: true, filter: topLevelKeys)
        skipWhitespace()
        guard index == count else { throw error("unexpected \(describe(bytes[index])) after the JSON value") }
        return value
    }

    // MARK: Values

    /// Parses one value. With `materialize` false it only validates and returns `.null`.
    private mutating func parseValue(depth: Int, materialize: Bool, filter: [String]?) throws(JSONParseError) -> JSONValue {
        guard index < count else { throw error("unexpected end of input, expected a value") }
        let byte = bytes[index]
        switch byte {
        case ASCII.openBrace:
            return try parseObject(depth: depth + 1, materialize: materialize, filter: filter)
        case ASCII.openBracket:
            return try parseArray(depth: depth + 1, materialize: materialize)
        case ASCII.quote:
            let text = try parseString(materialize: materialize)
            return materialize ? .string(text) : .null
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case ASCII.minus, ASCII.zero...ASCII.nine:
            let text = try parseNumber(materialize: materialize)
            return materialize ? .number(text) : .null
        default:
            throw error("unexpected \(describe(byte)), expected a value")
        }
    }

    private mutating func parseObject(depth: Int, materialize: Bool, filter: [String]?) throws(JSONParseError) -> JSONValue {
        guard depth <= maximumDepth else { throw tooDeep() }
        index += 1  // {
        var members: [JSONValue.Member] = []
        skipWhitespace()
        if index < count, bytes[index] == ASCII.closeBrace {
            index += 1
            return materialize ? .object(members) : .null
        }
        while true {
            guard index < count else { throw error("unterminated object") }
            guard bytes[index] == ASCII.quote else {
                throw error("unexpected \(describe(bytes[index])), expected a member name in double quotes")
            }
            let wantKey = materialize
            let key = try parseString(materialize: wantKey)
            let keep = materialize && (filter == nil || filter!.contains(key))
            skipWhitespace()
            guard index < count, bytes[index] == ASCII.colon else {
                throw error(index < count ? "unexpected \(describe(bytes[index])), expected ':'" : "unterminated object")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth, materialize: keep, filter: nil)
            if keep { members.append(JSONValue.Member(key: key, value: value)) }
            skipWhitespace()
            guard index < count else { throw error("unterminated object") }
            let separator = bytes[index]
            index += 1
            if separator == ASCII.comma {
                skipWhitespace()
                if index < count, bytes[index] == ASCII.closeBrace { throw error("trailing comma in object") }
                continue
            }
            if separator == ASCII.closeBrace { break }
            index -= 1
            throw error("unexpected \(describe(separator)), expected ',' or '}'")
        }
        return materialize ? .object(members) : .null
    }

    private mutating func parseArray(depth: Int, materialize: Bool) throws(JSONParseError) -> JSONValue {
        guard depth <= maximumDepth else { throw tooDeep() }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < count, bytes[index] == ASCII.closeBracket {
            index += 1
            return materialize ? .array(elements) : .null
        }
        while true {
            let element = try parseValue(depth: depth, materialize: materialize, filter: nil)
            if materialize { elements.append(element) }
            skipWhitespace()
            guard index < count else { throw error("unterminated array") }
            let separator = bytes[index]
            index += 1
            if separator == ASCII.comma {
                skipWhitespace()
                if index < count, bytes[index] == ASCII.closeBracket { throw error("trailing comma in array") }
                continue
            }
            if separator == ASCII.closeBracket { break }
            index -= 1
            throw error("unexpected \(describe(separator)), expected ',' or ']'")
        }
        return materialize ? .array(elements) : .null
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let length = literal.utf8CodeUnitCount
        let expected = literal.utf8Start
        guard count - index >= length else { throw error("invalid literal, expected '\(literal)'") }
        for offset in 0..<length where bytes[index + offset] != expected[offset] {
            throw error("invalid literal, expected '\(literal)'")
        }
        index += length
    }

    // MARK: Numbers

    private mutating func parseNumber(materialize: Bool) throws(JSONParseError) -> String {
        let start = index
        if bytes[index] == ASCII.minus { index += 1 }
        guard index < count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit") }
        if bytes[index] == ASCII.zero {
            index += 1
            if index < count, isDigit(bytes[index]) { throw error("invalid number, leading zero") }
        } else {
            while index < count, isDigit(bytes[index]) { index += 1 }
        }
        if index < count, bytes[index] == ASCII.dot {
            index += 1
            guard index < count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit after '.'") }
            while index < count, isDigit(bytes[index]) { index += 1 }
        }
        if index < count, bytes[index] == ASCII.lowerE || bytes[index] == ASCII.upperE {
            index += 1
            if index < count, bytes[index] == ASCII.plus || bytes[index] == ASCII.minus { index += 1 }
            guard index < count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit in the exponent") }
            while index < count, isDigit(bytes[index]) { index += 1 }
        }
        guard materialize else { return "" }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte >= ASCII.zero && byte <= ASCII.nine }

    // MARK: Strings

    private mutating func parseString(materialize: Bool) throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        var segmentStart = index
        var hasEscape = false
        var hasNonASCII = false
        if materialize { scratch.removeAll(keepingCapacity: true) }
        while true {
            guard index < count else { throw JSONParseError(offset: start - 1, reason: "unterminated string") }
            let byte = bytes[index]
            if byte == ASCII.quote { break }
            if byte == ASCII.backslash {
                if materialize {
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<index]))
                }
                hasEscape = true
                try parseEscape(materialize: materialize)
                segmentStart = index
                continue
            }
            if byte < 0x20 { throw error("unescaped control character \(describe(byte)) in string") }
            if byte >= 0x80 { hasNonASCII = true }
            index += 1
        }
        let end = index
        if hasNonASCII, let bad = JSONGrammar.firstInvalidUTF8(bytes, from: start, to: end) {
            throw JSONParseError(offset: bad, reason: "invalid UTF-8 in string")
        }
        index += 1  // closing quote
        guard materialize else { return "" }
        if !hasEscape {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<end]))
        return String(decoding: scratch, as: UTF8.self)
    }

    /// Handles one escape sequence starting at the backslash; appends its UTF-8 to `scratch`.
    private mutating func parseEscape(materialize: Bool) throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard index < count else { throw error("unterminated escape sequence") }
        let kind = bytes[index]
        index += 1
        let simple: UInt8?
        switch kind {
        case ASCII.quote: simple = ASCII.quote
        case ASCII.backslash: simple = ASCII.backslash
        case ASCII.slash: simple = ASCII.slash
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default:
            throw JSONParseError(offset: escapeStart, reason: "invalid escape sequence \\\(describeBare(kind))")
        }
        if let simple {
            if materialize { scratch.append(simple) }
            return
        }
        let unit = try parseHex4(escapeStart: escapeStart)
        let scalarValue: UInt32
        switch unit {
        case 0xD800...0xDBFF:
            // A high surrogate must be followed by an escaped low surrogate.
            guard count - index >= 6, bytes[index] == ASCII.backslash, bytes[index + 1] == UInt8(ascii: "u") else {
                throw JSONParseError(offset: escapeStart, reason: "lone surrogate \\u\(hex(unit)) in string")
            }
            index += 2
            let low = try parseHex4(escapeStart: index - 2)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw JSONParseError(offset: escapeStart, reason: "lone surrogate \\u\(hex(unit)) in string")
            }
            scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        case 0xDC00...0xDFFF:
            throw JSONParseError(offset: escapeStart, reason: "lone surrogate \\u\(hex(unit)) in string")
        default:
            scalarValue = UInt32(unit)
        }
        guard materialize else { return }
        // Always a valid scalar here: surrogates were handled above.
        if let scalar = Unicode.Scalar(scalarValue), let encoded = UTF8.encode(scalar) {
            scratch.append(contentsOf: encoded)
        }
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONParseError) -> UInt16 {
        guard count - index >= 4 else { throw JSONParseError(offset: escapeStart, reason: "invalid \\u escape, expected 4 hex digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(offset: escapeStart, reason: "invalid \\u escape, expected 4 hex digits")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    // MARK: Helpers

    private mutating func skipWhitespace() {
        while index < count {
            let byte = bytes[index]
            guard byte == ASCII.space || byte == ASCII.lineFeed || byte == ASCII.carriageReturn || byte == ASCII.tab else { return }
            index += 1
        }
    }

    private func error(_ reason: String) -> JSONParseError {
        JSONParseError(offset: index, reason: reason)
    }

    private func tooDeep() -> JSONParseError {
        JSONParseError(offset: index, reason: "nesting deeper than \(maximumDepth) levels", isNestingTooDeep: true)
    }

    private func hex(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `'x'` for printable ASCII, `byte 0xNN` otherwise.
    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let digits = String(byte, radix: 16, uppercase: true)
        return "byte 0x" + (digits.count < 2 ? "0" : "") + digits
    }

    private func describeBare(_ byte: UInt8) -> String {
        if byte >= 0x21, byte < 0x7F { return String(Character(Unicode.Scalar(byte))) }
        return "(0x" + String(byte, radix: 16, uppercase: true) + ")"
    }
}
