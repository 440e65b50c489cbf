/// One page of the source's `/users` answer: each user kept as the exact bytes received
/// (insignificant whitespace removed so it fits on one JSONL line), plus the envelope.
public struct SourcePage: Sendable, Equatable {
    public var users: [[UInt8]]
    public var total: Int
    public var skip: Int
    public var limit: Int

    public init(users: [[UInt8]], total: Int, skip: Int, limit: Int) {
        self.users = users
        self.total = total
        self.skip = skip
        self.limit = limit
    }
}

public struct PageParseError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public let offset: Int
    public var description: String { "unparsable page body at byte \(offset): \(reason)" }
}

/// Parses `{"users":[...],"total":T,"skip":S,"limit":N}` in one pass over the bytes,
/// without building a tree: users are sliced out as they are, the rest is checked and
/// skipped. Anything that is not well-formed JSON of that shape is a `PageParseError`,
/// which the fetcher treats like any other failed attempt.
public struct SourcePageParser {
    private let bytes: [UInt8]
    private var position = 0

    public static func parse(_ body: [UInt8]) throws -> SourcePage {
        var parser = SourcePageParser(bytes: body)
        return try parser.parseEnvelope()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func parseEnvelope() throws -> SourcePage {
        var users: [[UInt8]]?
        var numbers: [String: Int] = [:]
        skipWhitespace()
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                let key = try readKey()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                switch key {
                case "users": users = try readArrayElements()
                case "total", "skip", "limit": numbers[key] = try readInteger()
                default:
                    var ignored: [UInt8] = []
                    try copyValue(into: &ignored, depth: 0)
                }
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected data after the JSON object") }
        guard let users else { throw failure("no \"users\" array") }
        guard let total = numbers["total"], total >= 0 else { throw failure("no non-negative integer \"total\"") }
        return SourcePage(users: users, total: total, skip: numbers["skip"] ?? 0, limit: numbers["limit"] ?? users.count)
    }

    private mutating func readArrayElements() throws -> [[UInt8]] {
        try expect(UInt8(ascii: "["))
        var elements: [[UInt8]] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { position += 1; return elements }
        while true {
            skipWhitespace()
            var element: [UInt8] = []
            element.reserveCapacity(2048)
            try copyValue(into: &element, depth: 1)
            elements.append(element)
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"))
            return elements
        }
    }

    /// Copies one JSON value to `output`, dropping whitespace outside strings.
    private mutating func copyValue(into output: inout [UInt8], depth: Int) throws {
        guard depth < 256 else { throw failure("nested too deeply") }
        skipWhitespace()
        guard let byte = peek() else { throw failure("unexpected end of body") }
        switch byte {
        case UInt8(ascii: "{"): try copyContainer(into: &output, close: UInt8(ascii: "}"), depth: depth, keyed: true)
        case UInt8(ascii: "["): try copyContainer(into: &output, close: UInt8(ascii: "]"), depth: depth, keyed: false)
        case UInt8(ascii: "\""): try copyString(into: &output)
        case UInt8(ascii: "t"): try copyLiteral("true", into: &output)
        case UInt8(ascii: "f"): try copyLiteral("false", into: &output)
        case UInt8(ascii: "n"): try copyLiteral("null", into: &output)
        default: try copyNumber(into: &output)
        }
    }

    private mutating func copyContainer(into output: inout [UInt8], close: UInt8, depth: Int, keyed: Bool) throws {
        output.append(bytes[position])
        position += 1
        skipWhitespace()
        if peek() == close { output.append(close); position += 1; return }
        while true {
            skipWhitespace()
            if keyed {
                guard peek() == UInt8(ascii: "\"") else { throw failure("expected a key") }
                try copyString(into: &output)
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                output.append(UInt8(ascii: ":"))
            }
            try copyValue(into: &output, depth: depth + 1)
            skipWhitespace()
            guard let next = peek() else { throw failure("unexpected end of body") }
            position += 1
            output.append(next)
            if next == close { return }
            guard next == UInt8(ascii: ",") else { throw failure("expected ',' or a closing bracket") }
        }
    }

    private mutating func copyString(into output: inout [UInt8]) throws {
        let start = position
        position += 1
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\\") {
                position += 2
            } else if byte == UInt8(ascii: "\"") {
                position += 1
                output.append(contentsOf: bytes[start..<position])
                return
            } else if byte < 0x20 {
                throw failure("control character in a string")
            } else {
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    private mutating func copyLiteral(_ literal: StaticString, into output: inout [UInt8]) throws {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count,
            literal.withUTF8Buffer({ bytes[position..<position + count].elementsEqual($0) })
        else { throw failure("invalid literal") }
        output.append(contentsOf: bytes[position..<position + count])
        position += count
    }

    private mutating func copyNumber(into output: inout [UInt8]) throws {
        let start = position
        while let byte = peek(), byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) {
            position += 1
        }
        guard position > start, Double(String(decoding: bytes[start..<position], as: UTF8.self)) != nil else {
            throw failure("invalid value")
        }
        output.append(contentsOf: bytes[start..<position])
    }

    private mutating func readKey() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a key") }
        var raw: [UInt8] = []
        try copyString(into: &raw)
        return String(decoding: raw.dropFirst().dropLast(), as: UTF8.self)
    }

    private mutating func readInteger() throws -> Int {
        var raw: [UInt8] = []
        try copyNumber(into: &raw)
        guard let value = Int(String(decoding: raw, as: UTF8.self)) else { throw failure("expected an integer") }
        return value
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw failure("expected '\(Character(UnicodeScalar(byte)))'") }
        position += 1
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private func failure(_ reason: String) -> PageParseError { PageParseError(reason: reason, offset: position) }
}
