/// The JSON rules every reader of the product shares, declared once so the extractor, the
/// transformer, the saver and the fixture source can never disagree on what a record is.

/// How deep a record may nest (objects and arrays, the record itself counting as 1).
///
/// One limit for the whole product: the extractor passes deeper records through untouched
/// (its page parser is iterative, so depth cannot exhaust its stack), the transformer sends
/// them to the dead-letter file with the code `nesting_too_deep`, and the saver's scanner,
/// which only ever sees records the transformer wrote, uses the same number.
public enum JSONNesting {
    public static let maximumDepth = 256
}

/// Where and why a byte sequence breaks the JSON grammar.
public struct JSONGrammarError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    /// The text is not refused for its grammar but for nesting deeper than the reader's limit:
    /// the transformer gives such a record its own dead-letter code.
    public let isNestingTooDeep: Bool

    public init(offset: Int, reason: String, isNestingTooDeep: Bool = false) {
        self.offset = offset
        self.reason = reason
        self.isNestingTooDeep = isNestingTooDeep
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

/// RFC 8259 tokens over raw bytes: strings and numbers, strictly.
///
/// - a string holds no raw control character (U+0000–U+001F: a backslash before a raw
///   newline is as invalid as the raw newline), only the RFC's escapes, well-formed UTF-8
///   (no overlongs, no UTF-8-encoded surrogates, no bytes F5–FF), and `\u` escapes that form
///   scalars (a high surrogate escape must be followed by a low one, a low one never stands alone);
/// - a number is `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
public enum JSONGrammar {
    @inline(__always)
    public static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Validates the string whose opening quote is at `start`; returns the index just past its
    /// closing quote and whether the body holds escapes. Escapes and control characters are
    /// reported before invalid UTF-8, wherever they are (see `failureAfterInvalidUTF8`).
    public static func endOfString(
        _ bytes: UnsafeBufferPointer<UInt8>, openingQuoteAt start: Int
    ) throws(JSONGrammarError) -> (end: Int, hasEscapes: Bool) {
        var index = start + 1
        var hasEscapes = false
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte == 0x22 { return (index + 1, hasEscapes) }
            if byte == 0x5C {
                hasEscapes = true
                index = try endOfEscape(bytes, backslashAt: index)
            } else if byte < 0x20 {
                throw controlCharacter(byte, at: index)
            } else if byte < 0x80 {
                index += 1
            } else if let next = endOfUTF8Sequence(bytes, at: index) {
                index = next
            } else {
                throw failureAfterInvalidUTF8(bytes, at: index, openingQuoteAt: start)
            }
        }
        throw JSONGrammarError(offset: start, reason: "unterminated string")
    }

    /// The error of a string holding invalid UTF-8 at `invalid`: a later bad escape, control
    /// character or missing closing quote is reported first, as the transformer always did.
    @inline(never)
    private static func failureAfterInvalidUTF8(
        _ bytes: UnsafeBufferPointer<UInt8>, at invalid: Int, openingQuoteAt start: Int
    ) -> JSONGrammarError {
        var index = invalid + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 { return JSONGrammarError(offset: invalid, reason: "invalid UTF-8 in string") }
            if byte == 0x5C {
                do throws(JSONGrammarError) { index = try endOfEscape(bytes, backslashAt: index) } catch { return error }
            } else if byte < 0x20 {
                return controlCharacter(byte, at: index)
            } else {
                index += 1
            }
        }
        return JSONGrammarError(offset: start, reason: "unterminated string")
    }

    private static func controlCharacter(_ byte: UInt8, at index: Int) -> JSONGrammarError {
        JSONGrammarError(offset: index, reason: "unescaped control character \(describe(byte)) in string")
    }

    /// Validates the number starting at `start`; returns the index just past it and whether it
    /// is an integer literal (no fraction, no exponent).
    public static func endOfNumber(
        _ bytes: UnsafeBufferPointer<UInt8>, at start: Int
    ) throws(JSONGrammarError) -> (end: Int, isInteger: Bool) {
        let count = bytes.count
        var index = start
        var isInteger = true
        func isDigit(_ i: Int) -> Bool { i < count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if index < count, bytes[index] == 0x2D { index += 1 }
        guard isDigit(index) else { throw JSONGrammarError(offset: index, reason: "invalid number, expected a digit") }
        if bytes[index] == 0x30 {
            index += 1
            if isDigit(index) { throw JSONGrammarError(offset: index, reason: "invalid number, leading zero") }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < count, bytes[index] == 0x2E {
            isInteger = false
            index += 1
            guard isDigit(index) else { throw JSONGrammarError(offset: index, reason: "invalid number, expected a digit after '.'") }
            while isDigit(index) { index += 1 }
        }
        if index < count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            isInteger = false
            index += 1
            if index < count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard isDigit(index) else { throw JSONGrammarError(offset: index, reason: "invalid number, expected a digit in the exponent") }
            while isDigit(index) { index += 1 }
        }
        return (index, isInteger)
    }

    /// One escape sequence at `backslash`; returns the index past it (past both halves of a
    /// surrogate pair).
    private static func endOfEscape(_ bytes: UnsafeBufferPointer<UInt8>, backslashAt backslash: Int) throws(JSONGrammarError) -> Int {
        let count = bytes.count
        guard backslash + 1 < count else { throw JSONGrammarError(offset: backslash + 1, reason: "unterminated escape sequence") }
        switch bytes[backslash + 1] {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:  // " \ / b f n r t
            return backslash + 2
        case 0x75:  // u
            let unit = try hex4(bytes, at: backslash + 2, escapeAt: backslash)
            let loneSurrogate = JSONGrammarError(offset: backslash, reason: "lone surrogate \\u\(hex4Text(unit)) in string")
            if unit >= 0xDC00, unit <= 0xDFFF { throw loneSurrogate }
            guard unit >= 0xD800, unit <= 0xDBFF else { return backslash + 6 }
            let low = backslash + 6
            guard low + 6 <= count, bytes[low] == 0x5C, bytes[low + 1] == 0x75 else { throw loneSurrogate }
            let second = try hex4(bytes, at: low + 2, escapeAt: low)
            guard second >= 0xDC00, second <= 0xDFFF else { throw loneSurrogate }
            return low + 6
        case let kind:
            throw JSONGrammarError(offset: backslash, reason: "invalid escape sequence \\\(describeBare(kind))")
        }
    }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, escapeAt: Int) throws(JSONGrammarError) -> UInt16 {
        guard start + 4 <= bytes.count else { throw JSONGrammarError(offset: escapeAt, reason: "invalid \\u escape, expected 4 hex digits") }
        var value: UInt16 = 0
        for offset in 0..<4 {
            let byte = bytes[start + offset]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw JSONGrammarError(offset: escapeAt, reason: "invalid \\u escape, expected 4 hex digits")
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// The end of the well-formed UTF-8 sequence (Unicode Table 3-7) starting at `index` (a
    /// byte >= 0x80), or nil when none starts there.
    /// Kept out of line: inlined, it slows `endOfString`'s loop over ASCII bytes.
    @inline(never)
    private static func endOfUTF8Sequence(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let lead = bytes[index]
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: return nil
        }
        guard index + length <= bytes.count, bytes[index + 1] >= lower, bytes[index + 1] <= upper else { return nil }
        var continuation = 2
        while continuation < length {
            guard bytes[index + continuation] & 0xC0 == 0x80 else { return nil }
            continuation += 1
        }
        return index + length
    }

    /// Decodes the escapes of a string body that `endOfString` validated into UTF-8 (lone
    /// surrogates, which validation refuses, would become U+FFFD).
    public static func unescape(_ body: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(body.count)
        var index = 0
        func hex4(at position: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | (hexDigitValue(body[position + $1]) ?? 0) }
        }
        while index < body.count {
            let byte = body[index]
            guard byte == 0x5C, index + 1 < body.count else {
                output.append(byte)
                index += 1
                continue
            }
            let kind = body[index + 1]
            index += 2
            switch kind {
            case 0x62: output.append(0x08)
            case 0x66: output.append(0x0C)
            case 0x6E: output.append(0x0A)
            case 0x72: output.append(0x0D)
            case 0x74: output.append(0x09)
            case 0x75:
                guard index + 4 <= body.count else { return output }
                var scalar = hex4(at: index)
                index += 4
                if (0xD800...0xDBFF).contains(scalar), index + 6 <= body.count, body[index] == 0x5C, body[index + 1] == 0x75 {
                    let low = hex4(at: index + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                }
                output.append(contentsOf: String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8)
            default: output.append(kind)  // \" \\ \/
            }
        }
        return output
    }

    private static func hexDigitValue(_ byte: UInt8) -> UInt32? {
        if byte >= 0x30, byte <= 0x39 { return UInt32(byte - 0x30) }
        if byte >= 0x41, byte <= 0x46 { return UInt32(byte - 0x41 + 10) }
        if byte >= 0x61, byte <= 0x66 { return UInt32(byte - 0x61 + 10) }
        return nil
    }

    /// A byte for messages: `'x'` for printable ASCII, `byte 0xNN` otherwise.
    public static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let digits = String(byte, radix: 16, uppercase: true)
        return "byte 0x" + (digits.count < 2 ? "0" : "") + digits
    }

    /// The character after a backslash for messages: itself when printable, `(0xN)` otherwise.
    private static func describeBare(_ byte: UInt8) -> String {
        if byte >= 0x21, byte < 0x7F { return String(Character(Unicode.Scalar(byte))) }
        return "(0x" + String(byte, radix: 16, uppercase: true) + ")"
    }

    private static func hex4Text(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
