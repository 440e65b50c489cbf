/// A cursor over JSON bytes that copies values compactly (whitespace outside strings
/// dropped, everything else byte for byte) while validating them with `JSONGrammar`.
///
/// The extractor's page parser and the fixture source's file loader both read through it, so
/// they accept exactly the same texts. Values are copied by a loop with an explicit stack
/// rather than by recursion: a value of any depth is read without risk to the thread's stack,
/// and its depth is reported so the caller can apply `JSONNesting.maximumDepth` as it sees fit.
public struct JSONCursor {
    public let bytes: UnsafeBufferPointer<UInt8>
    public var position = 0

    public init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Copies one JSON value to `output`, dropping whitespace outside strings. Returns the
    /// value's nesting depth (0 for a scalar) and, for an object, its top-level `id` member's text.
    public mutating func copyValue(into output: inout [UInt8]) throws(JSONGrammarError) -> (depth: Int, id: String?) {
        let objectClose = UInt8(ascii: "}")
        let arrayClose = UInt8(ascii: "]")
        var closers: [UInt8] = []  // the open containers, innermost last
        var deepest = 0
        var id: String?
        var idValueStart: Int?  // where the top-level "id" member's value starts in `output`
        nextValue: while true {
            skipWhitespace()
            guard let byte = peek() else { throw failure("unexpected end of input") }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = byte == UInt8(ascii: "{") ? objectClose : arrayClose
                output.append(byte)
                position += 1
                closers.append(close)
                deepest = max(deepest, closers.count)
                skipWhitespace()
                if peek() == close {
                    output.append(close)
                    position += 1
                    closers.removeLast()
                } else {
                    if close == objectClose { try copyMemberName(into: &output, closers: closers, idValueStart: &idValueStart) }
                    continue nextValue
                }
            case UInt8(ascii: "\""): try copyString(into: &output)
            case UInt8(ascii: "t"): try copyLiteral("true", into: &output)
            case UInt8(ascii: "f"): try copyLiteral("false", into: &output)
            case UInt8(ascii: "n"): try copyLiteral("null", into: &output)
            default: try copyNumber(into: &output)
            }
            // A value ended: close containers until one continues with a comma.
            while let close = closers.last {
                if closers.count == 1, let start = idValueStart {
                    id = String(decoding: output[start...], as: UTF8.self)
                    idValueStart = nil
                }
                skipWhitespace()
                guard let next = peek() else { throw failure("unexpected end of input") }
                position += 1
                output.append(next)
                if next == close {
                    closers.removeLast()
                    continue
                }
                guard next == UInt8(ascii: ",") else { throw failure("expected ',' or a closing bracket") }
                if close == objectClose { try copyMemberName(into: &output, closers: closers, idValueStart: &idValueStart) }
                continue nextValue
            }
            return (deepest, id)
        }
    }

    /// Copies `"name":`; when this is the record's own `id` member (directly inside the
    /// outermost object), notes where its value starts in `output`.
    private mutating func copyMemberName(into output: inout [UInt8], closers: [UInt8], idValueStart: inout Int?) throws(JSONGrammarError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a key") }
        let nameStart = output.count
        try copyString(into: &output)
        // The name as the transformer reads it: `"i\u0064"` is `id` too.
        let isID = closers.count == 1 && Self.decodedName(output[(nameStart + 1)..<(output.count - 1)]).elementsEqual("id".utf8)
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
        output.append(UInt8(ascii: ":"))
        if isID { idValueStart = output.count }
    }

    public mutating func copyString(into output: inout [UInt8]) throws(JSONGrammarError) {
        let end = try JSONGrammar.endOfString(bytes, openingQuoteAt: position).end
        output.append(contentsOf: bytes[position..<end])
        position = end
    }

    private mutating func copyLiteral(_ literal: StaticString, into output: inout [UInt8]) throws(JSONGrammarError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count,
            literal.withUTF8Buffer({ bytes[position..<position + count].elementsEqual($0) })
        else { throw failure("invalid literal") }
        output.append(contentsOf: bytes[position..<position + count])
        position += count
    }

    public mutating func copyNumber(into output: inout [UInt8]) throws(JSONGrammarError) {
        let end = try JSONGrammar.endOfNumber(bytes, at: position).end
        output.append(contentsOf: bytes[position..<end])
        position = end
    }

    private static func decodedName(_ raw: ArraySlice<UInt8>) -> [UInt8] {
        guard raw.contains(0x5C) else { return Array(raw) }
        return Array(raw).withUnsafeBufferPointer { JSONGrammar.unescape($0) }
    }

    /// A member name or other string, its escapes left as they are (the caller compares raw names).
    public mutating func readRawString() throws(JSONGrammarError) -> [UInt8] {
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string") }
        var raw: [UInt8] = []
        try copyString(into: &raw)
        return Array(raw.dropFirst().dropLast())
    }

    /// Reads the object at the cursor, calling `member` with each member's raw name and the
    /// cursor on its value; `member` reads the value, or returns false to have it skipped.
    public mutating func readObject(
        _ member: (_ name: [UInt8], _ cursor: inout JSONCursor) throws(JSONGrammarError) -> Bool
    ) throws(JSONGrammarError) {
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { position += 1; return }
        while true {
            skipWhitespace()
            let name = try readRawString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            if try !member(name, &self) {
                var ignored: [UInt8] = []
                _ = try copyValue(into: &ignored)
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Reads the array at the cursor, calling `element` with the cursor on each element;
    /// `element` reads the value, or returns false to have it skipped.
    public mutating func readArray(
        _ element: (_ cursor: inout JSONCursor) throws(JSONGrammarError) -> Bool
    ) throws(JSONGrammarError) {
        try expect(UInt8(ascii: "["))
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { position += 1; return }
        while true {
            skipWhitespace()
            if try !element(&self) {
                var ignored: [UInt8] = []
                _ = try copyValue(into: &ignored)
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"))
            return
        }
    }

    public mutating func expect(_ byte: UInt8) throws(JSONGrammarError) {
        guard peek() == byte else { throw failure("expected '\(Character(UnicodeScalar(byte)))'") }
        position += 1
    }

    public func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    public var isAtEnd: Bool { position == bytes.count }

    public mutating func skipWhitespace() {
        while let byte = peek(), JSONGrammar.isWhitespace(byte) { position += 1 }
    }

    public func failure(_ reason: String) -> JSONGrammarError { JSONGrammarError(offset: position, reason: reason) }
}
