/// A cursor over JSON bytes, the product's one JSON reader: it validates with `JSONGrammar`
/// and either skips values, copies them compactly (whitespace outside strings dropped,
/// everything else byte for byte), or hands their parts to the caller (`readObject`,
/// `readArray`, `readString`, `readNumber`).
///
/// Skipped and copied values are walked by a loop with an explicit stack rather than by
/// recursion: a value of any depth is read without risk to the thread's stack. Containers
/// deeper than `maximumDepth` (counting from the cursor's start) are refused with an error
/// whose `isNestingTooDeep` is set; the extractor reads at any depth and applies
/// `JSONNesting.maximumDepth` itself.
///
/// The errors' wording and offsets reach the transformer's dead-letter file
/// (`line is not valid JSON: …`), where they are part of the output: change them knowingly.
public struct JSONCursor {
    public let bytes: UnsafeBufferPointer<UInt8>
    public var position = 0
    public let maximumDepth: Int
    /// The containers opened by `readObject` and `readArray` that are still open.
    private var depth = 0

    public init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = .max) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    // MARK: Whole values

    /// Copies one JSON value to `output`, dropping whitespace outside strings. Returns the
    /// value's nesting depth (0 for a scalar) and, for an object, its top-level `id` member's text.
    public mutating func copyValue(into output: inout [UInt8]) throws(JSONGrammarError) -> (depth: Int, id: String?) {
        try walkValue(copyingInto: &output, copying: true)
    }

    /// Validates one JSON value and moves past it without copying anything.
    public mutating func skipValue() throws(JSONGrammarError) {
        // Most skipped members are strings or numbers: no walk needed.
        switch peek() {
        case UInt8(ascii: "\""):
            position = try JSONGrammar.endOfString(bytes, openingQuoteAt: position).end
            return
        case let byte? where byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")):
            position = try JSONGrammar.endOfNumber(bytes, at: position).end
            return
        default:
            break
        }
        var nothing: [UInt8] = []
        _ = try walkValue(copyingInto: &nothing, copying: false)
    }

    private mutating func walkValue(copyingInto output: inout [UInt8], copying: Bool) throws(JSONGrammarError) -> (depth: Int, id: String?) {
        var open = OpenContainers()
        var deepest = 0
        var id: String?
        var idValueStart: Int?  // where the top-level "id" member's value starts in `output`
        nextValue: while true {
            skipWhitespace()
            guard let byte = peek() else { throw failure("unexpected end of input, expected a value") }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = byte == UInt8(ascii: "{")
                guard depth + open.count < maximumDepth else { throw tooDeep() }
                if copying { output.append(byte) }
                position += 1
                open.push(isObject: isObject)
                deepest = max(deepest, open.count)
                skipWhitespace()
                if peek() == Self.closer(isObject) {
                    if copying { output.append(Self.closer(isObject)) }
                    position += 1
                    open.pop()
                } else {
                    if isObject { try walkMemberName(into: &output, copying: copying, isTopLevel: open.count == 1, idValueStart: &idValueStart) }
                    continue nextValue
                }
            case UInt8(ascii: "\""):
                let end = try JSONGrammar.endOfString(bytes, openingQuoteAt: position).end
                take(upTo: end, into: &output, copying: copying)
            case UInt8(ascii: "t"): try walkLiteral("true", into: &output, copying: copying)
            case UInt8(ascii: "f"): try walkLiteral("false", into: &output, copying: copying)
            case UInt8(ascii: "n"): try walkLiteral("null", into: &output, copying: copying)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let end = try JSONGrammar.endOfNumber(bytes, at: position).end
                take(upTo: end, into: &output, copying: copying)
            default:
                throw failure("unexpected \(JSONGrammar.describe(byte)), expected a value")
            }
            // A value ended: close containers until one continues with a comma.
            while let isObject = open.innermostIsObject {
                if open.count == 1, let start = idValueStart {
                    id = String(decoding: output[start...], as: UTF8.self)
                    idValueStart = nil
                }
                switch try separator(inObject: isObject) {
                case .closed:
                    if copying { output.append(Self.closer(isObject)) }
                    open.pop()
                case .comma:
                    if copying { output.append(UInt8(ascii: ",")) }
                    if isObject { try walkMemberName(into: &output, copying: copying, isTopLevel: open.count == 1, idValueStart: &idValueStart) }
                    continue nextValue
                }
            }
            return (deepest, id)
        }
    }

    /// Walks `"name":`; when this is the record's own `id` member (directly inside the
    /// outermost object), notes where its value starts in `output`.
    private mutating func walkMemberName(
        into output: inout [UInt8], copying: Bool, isTopLevel: Bool, idValueStart: inout Int?
    ) throws(JSONGrammarError) {
        let quote = position
        let name = try readMemberName()
        guard copying else { return }
        take(from: quote, upTo: quote + name.raw.count + 2, into: &output)
        output.append(UInt8(ascii: ":"))
        // The name as the transformer reads it: `"i\u0064"` is `id` too.
        if isTopLevel, name.matches("id") { idValueStart = output.count }
    }

    private mutating func walkLiteral(_ literal: StaticString, into output: inout [UInt8], copying: Bool) throws(JSONGrammarError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count,
            literal.withUTF8Buffer({ bytes[position..<position + count].elementsEqual($0) })
        else { throw failure("invalid literal, expected '\(literal)'") }
        take(upTo: position + count, into: &output, copying: copying)
    }

    private mutating func take(upTo end: Int, into output: inout [UInt8], copying: Bool) {
        if copying { take(from: position, upTo: end, into: &output) }
        position = end
    }

    private func take(from start: Int, upTo end: Int, into output: inout [UInt8]) {
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
    }

    // MARK: Parts of values

    /// Reads the object at the cursor, calling `member` with each member's name and the cursor
    /// on its value; `member` reads the value, or returns false to have it skipped.
    public mutating func readObject(
        _ member: (_ name: JSONMemberName, _ cursor: inout JSONCursor) throws(JSONGrammarError) -> Bool
    ) throws(JSONGrammarError) {
        try enter(UInt8(ascii: "{"))
        guard !closesEmpty(UInt8(ascii: "}")) else { return }
        while true {
            let name = try readMemberName()
            if try !member(name, &self) { try skipValue() }
            guard try separator(inObject: true) == .comma else { depth -= 1; return }
        }
    }

    /// Reads the array at the cursor, calling `element` with the cursor on each element;
    /// `element` reads the value, or returns false to have it skipped.
    public mutating func readArray(
        _ element: (_ cursor: inout JSONCursor) throws(JSONGrammarError) -> Bool
    ) throws(JSONGrammarError) {
        try enter(UInt8(ascii: "["))
        guard !closesEmpty(UInt8(ascii: "]")) else { return }
        while true {
            skipWhitespace()
            if try !element(&self) { try skipValue() }
            guard try separator(inObject: false) == .comma else { depth -= 1; return }
        }
    }

    /// The string at the cursor, its escapes decoded.
    public mutating func readString() throws(JSONGrammarError) -> String {
        let start = position
        let string = try JSONGrammar.endOfString(bytes, openingQuoteAt: start)
        position = string.end
        let body = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(string.end - 1)])
        return string.hasEscapes ? String(decoding: JSONGrammar.unescape(body), as: UTF8.self) : String(decoding: body, as: UTF8.self)
    }

    /// The number at the cursor, as its source text.
    public mutating func readNumber() throws(JSONGrammarError) -> String {
        let start = position
        position = try JSONGrammar.endOfNumber(bytes, at: start).end
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// Copies the string at the cursor as it is written, quotes and escapes included.
    public mutating func copyString(into output: inout [UInt8]) throws(JSONGrammarError) {
        take(upTo: try JSONGrammar.endOfString(bytes, openingQuoteAt: position).end, into: &output, copying: true)
    }

    /// Copies the number at the cursor as it is written.
    public mutating func copyNumber(into output: inout [UInt8]) throws(JSONGrammarError) {
        take(upTo: try JSONGrammar.endOfNumber(bytes, at: position).end, into: &output, copying: true)
    }

    // MARK: Structure

    /// `"name"`, whitespace, `:` and the whitespace before the value.
    private mutating func readMemberName() throws(JSONGrammarError) -> JSONMemberName {
        guard let quote = peek() else { throw failure("unterminated object") }
        guard quote == UInt8(ascii: "\"") else {
            throw failure("unexpected \(JSONGrammar.describe(quote)), expected a member name in double quotes")
        }
        let string = try JSONGrammar.endOfString(bytes, openingQuoteAt: position)
        let body = UnsafeBufferPointer(start: bytes.baseAddress! + position + 1, count: string.end - position - 2)
        let name = JSONMemberName(raw: body, hasEscapes: string.hasEscapes)
        position = string.end
        skipWhitespace()
        guard let colon = peek() else { throw failure("unterminated object") }
        guard colon == UInt8(ascii: ":") else { throw failure("unexpected \(JSONGrammar.describe(colon)), expected ':'") }
        position += 1
        skipWhitespace()
        return name
    }

    private enum Separator { case comma, closed }

    /// After a member or element: a comma (and the whitespace after it), or the container's
    /// closing bracket. Inlined: called once a member, it is a tenth of the saver's scan.
    @inline(__always)
    private mutating func separator(inObject isObject: Bool) throws(JSONGrammarError) -> Separator {
        let close = Self.closer(isObject)
        skipWhitespace()
        guard position < bytes.count else { throw failure(isObject ? "unterminated object" : "unterminated array") }
        let byte = bytes[position]
        position += 1
        if byte == UInt8(ascii: ",") {
            skipWhitespace()
            if position < bytes.count, bytes[position] == close {
                throw failure(isObject ? "trailing comma in object" : "trailing comma in array")
            }
            return .comma
        }
        guard byte == close else {
            position -= 1
            throw failure("unexpected \(JSONGrammar.describe(byte)), expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
        return .closed
    }

    private mutating func enter(_ bracket: UInt8) throws(JSONGrammarError) {
        guard peek() == bracket else { throw failure("expected '\(Character(Unicode.Scalar(bracket)))'") }
        guard depth < maximumDepth else { throw tooDeep() }
        position += 1
        depth += 1
        skipWhitespace()
    }

    /// Whether the container just opened is empty; if so, it is closed.
    private mutating func closesEmpty(_ close: UInt8) -> Bool {
        guard peek() == close else { return false }
        position += 1
        depth -= 1
        return true
    }

    private static func closer(_ isObject: Bool) -> UInt8 { isObject ? UInt8(ascii: "}") : UInt8(ascii: "]") }

    // MARK: Bytes

    public mutating func expect(_ byte: UInt8) throws(JSONGrammarError) {
        guard peek() == byte else { throw failure("expected '\(Character(UnicodeScalar(byte)))'") }
        position += 1
    }

    public func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    public var isAtEnd: Bool { position == bytes.count }

    public mutating func skipWhitespace() {
        while position < bytes.count, JSONGrammar.isWhitespace(bytes[position]) { position += 1 }
    }

    public func failure(_ reason: String) -> JSONGrammarError { JSONGrammarError(offset: position, reason: reason) }

    private func tooDeep() -> JSONGrammarError {
        JSONGrammarError(offset: position, reason: "nesting deeper than \(maximumDepth) levels", isNestingTooDeep: true)
    }
}

/// A member's name as written (between its quotes, escapes left as they are).
public struct JSONMemberName {
    public let raw: UnsafeBufferPointer<UInt8>
    public let hasEscapes: Bool

    /// The name with its escapes decoded.
    public var decoded: String {
        hasEscapes ? String(decoding: JSONGrammar.unescape(raw), as: UTF8.self) : String(decoding: raw, as: UTF8.self)
    }

    /// Whether the decoded name is `name`: `"i\u0064"` matches `id`.
    public func matches(_ name: String) -> Bool {
        if hasEscapes { return JSONGrammar.unescape(raw).elementsEqual(name.utf8) }
        return name.utf8.count == raw.count && raw.elementsEqual(name.utf8)
    }
}

/// Which containers a walk has open, innermost last: a bit a level, in one word for the first
/// 64 levels (every real record) and in an array beyond.
private struct OpenContainers {
    private(set) var count = 0
    private var shallow: UInt64 = 0
    private var deep: [Bool] = []

    mutating func push(isObject: Bool) {
        if count < 64 {
            if isObject { shallow |= 1 << UInt64(count) } else { shallow &= ~(1 << UInt64(count)) }
        } else {
            deep.append(isObject)
        }
        count += 1
    }

    mutating func pop() {
        count -= 1
        if count >= 64 { deep.removeLast() }
    }

    var innermostIsObject: Bool? {
        guard count > 0 else { return nil }
        return count > 64 ? deep[deep.count - 1] : shallow & (1 << UInt64(count - 1)) != 0
    }
}
