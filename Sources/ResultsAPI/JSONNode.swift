/// A JSON value stored in a text column (`error_codes`, `uploaded_files`), parsed so that only
/// its string elements are served. Object members keep their order; numbers keep their exact
/// spelling.
indirect enum JSONNode: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONNode])
    case object([(String, JSONNode)])

    static func == (lhs: JSONNode, rhs: JSONNode) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// Parses one complete JSON document; nil when the text is not valid JSON (a DLQ line
    /// that failed with `invalid_json` is stored as it came).
    static func parse(_ text: String) -> JSONNode? {
        var text = text
        return text.withUTF8 { buffer in
            var parser = JSONNodeParser(bytes: buffer)
            guard let node = try? parser.value(depth: 0) else { return nil }
            parser.skipSpace()
            return parser.position == buffer.count ? node : nil
        }
    }
}

private struct JSONNodeParser {
    struct Invalid: Error {}

    /// Deeper documents are refused rather than risking the stack on hostile input.
    static let maxDepth = 64

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func value(depth: Int) throws -> JSONNode {
        guard depth < Self.maxDepth else { throw Invalid() }
        skipSpace()
        guard position < bytes.count else { throw Invalid() }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func object(depth: Int) throws -> JSONNode {
        position += 1
        var members: [(String, JSONNode)] = []
        skipSpace()
        if try consume(UInt8(ascii: "}")) { return .object(members) }
        repeat {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw Invalid() }
            let name = try string()
            skipSpace()
            guard try consume(UInt8(ascii: ":")) else { throw Invalid() }
            members.append((name, try value(depth: depth + 1)))
            skipSpace()
        } while try consume(UInt8(ascii: ","))
        guard try consume(UInt8(ascii: "}")) else { throw Invalid() }
        return .object(members)
    }

    private mutating func array(depth: Int) throws -> JSONNode {
        position += 1
        var elements: [JSONNode] = []
        skipSpace()
        if try consume(UInt8(ascii: "]")) { return .array(elements) }
        repeat {
            elements.append(try value(depth: depth + 1))
            skipSpace()
        } while try consume(UInt8(ascii: ","))
        guard try consume(UInt8(ascii: "]")) else { throw Invalid() }
        return .array(elements)
    }

    private mutating func consume(_ byte: UInt8) throws -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw Invalid() }
        for index in 0..<count where bytes[position + index] != word.utf8Start[index] { throw Invalid() }
        position += count
    }

    /// A JSON number, checked against the grammar and kept as written.
    private mutating func number() throws -> String {
        let start = position
        _ = try consume(UInt8(ascii: "-"))
        guard try digits() > 0 else { throw Invalid() }
        if try consume(UInt8(ascii: ".")) { guard try digits() > 0 else { throw Invalid() } }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if !(try consume(UInt8(ascii: "+"))) { _ = try consume(UInt8(ascii: "-")) }
            guard try digits() > 0 else { throw Invalid() }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    private mutating func digits() throws -> Int {
        let start = position
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
        return position - start
    }

    private mutating func string() throws -> String {
        position += 1  // opening quote
        var out: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"): try escape(into: &out)
            case 0..<0x20: throw Invalid()
            default: out.append(byte)
            }
        }
        throw Invalid()
    }

    private mutating func escape(into out: inout [UInt8]) throws {
        guard position < bytes.count else { throw Invalid() }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"): try unicodeEscape(into: &out)
        default: throw Invalid()
        }
    }

    private mutating func unicodeEscape(into out: inout [UInt8]) throws {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            // A high surrogate must be followed by an escaped low one.
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            else { throw Invalid() }
            position += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw Invalid() }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw Invalid() }
        out.append(contentsOf: String(Character(unicode)).utf8)
    }

    private mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw Invalid() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            position += 1
            let digit: UInt8 = switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x41 + 10
            case 0x61...0x66: byte - 0x61 + 10
            default: throw Invalid()
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
