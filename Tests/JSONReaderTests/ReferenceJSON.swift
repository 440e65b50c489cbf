/// The reference the product's JSON readers are tested against: a deliberately plain RFC 8259
/// parser, written apart from the product's code and in another style (recursive descent over
/// bytes, strings decoded through the standard library's own UTF-8 and UTF-16 validation), so
/// that a mistake shared with the readers is unlikely.
///
/// It was itself checked against Foundation's `JSONSerialization` on the committed corpus;
/// Foundation is not used as the reference directly because it is lenient where RFC 8259 is
/// not (it accepts `[1,]`, a byte order mark, UTF-16 input) and strict where RFC 8259 is not
/// (it refuses `1e400`).
indirect enum RefValue: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// The number's exact text: readers keep numbers as text.
    case number(String)
    /// Compared scalar by scalar (Swift's `String ==` would equate canonically equivalent texts).
    case string([Unicode.Scalar])
    case array([RefValue])
    case object([Member])

    struct Member: Equatable {
        var key: [Unicode.Scalar]
        var value: RefValue
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let text): text
        case .string(let scalars): "\"" + String(String.UnicodeScalarView(scalars)).debugDescription + "\""
        case .array(let elements): "[" + elements.map(\.description).joined(separator: ",") + "]"
        case .object(let members):
            "{" + members.map { String(String.UnicodeScalarView($0.key)).debugDescription + ":" + $0.value.description }
                .joined(separator: ",") + "}"
        }
    }

    /// The last member named `key` (what every reader of the product reports for duplicates).
    func member(_ key: String) -> RefValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == Array(key.unicodeScalars) }?.value
    }
}

struct RefParse {
    let value: RefValue
    /// Objects and arrays nested, the outermost counting 1 (0 for a scalar).
    let depth: Int
}

enum ReferenceJSON {
    /// nil when `bytes` is not exactly one JSON value with optional whitespace around it.
    static func parse(_ bytes: [UInt8]) -> RefParse? {
        var parser = Parser(bytes: bytes)
        guard let value = parser.value(depth: 1) else { return nil }
        parser.whitespace()
        guard parser.at == bytes.count else { return nil }
        return RefParse(value: value, depth: parser.deepest)
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0
        var deepest = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func whitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { at += 1 }
        }

        mutating func consume(_ text: String) -> Bool {
            let expected = Array(text.utf8)
            guard at + expected.count <= bytes.count, Array(bytes[at..<at + expected.count]) == expected else { return false }
            at += expected.count
            return true
        }

        /// `depth` is the depth a container starting here would have.
        mutating func value(depth: Int) -> RefValue? {
            whitespace()
            guard let byte = current else { return nil }
            switch byte {
            case UInt8(ascii: "{"):
                deepest = max(deepest, depth)
                at += 1
                var members: [RefValue.Member] = []
                whitespace()
                if consume("}") { return .object(members) }
                while true {
                    whitespace()
                    guard current == UInt8(ascii: "\""), let key = string() else { return nil }
                    whitespace()
                    guard consume(":"), let member = value(depth: depth + 1) else { return nil }
                    members.append(.init(key: key, value: member))
                    whitespace()
                    if consume(",") { continue }
                    return consume("}") ? .object(members) : nil
                }
            case UInt8(ascii: "["):
                deepest = max(deepest, depth)
                at += 1
                var elements: [RefValue] = []
                whitespace()
                if consume("]") { return .array(elements) }
                while true {
                    guard let element = value(depth: depth + 1) else { return nil }
                    elements.append(element)
                    whitespace()
                    if consume(",") { continue }
                    return consume("]") ? .array(elements) : nil
                }
            case UInt8(ascii: "\""):
                return string().map(RefValue.string)
            case UInt8(ascii: "t"): return consume("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return consume("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return consume("null") ? .null : nil
            default: return number()
            }
        }

        /// The grammar as a small state machine: sign, integer, fraction, exponent.
        mutating func number() -> RefValue? {
            enum State { case start, sign, zero, integer, dot, fraction, e, eSign, exponent }
            let start = at
            var state = State.start
            scan: while let byte = current {
                let digit = byte >= 0x30 && byte <= 0x39
                switch (state, byte) {
                case (.start, UInt8(ascii: "-")): state = .sign
                case (.start, UInt8(ascii: "0")), (.sign, UInt8(ascii: "0")): state = .zero
                case (.start, _) where digit, (.sign, _) where digit: state = .integer
                case (.integer, _) where digit: state = .integer
                case (.zero, UInt8(ascii: ".")), (.integer, UInt8(ascii: ".")): state = .dot
                case (.dot, _) where digit, (.fraction, _) where digit: state = .fraction
                case (.zero, UInt8(ascii: "e")), (.zero, UInt8(ascii: "E")), (.integer, UInt8(ascii: "e")), (.integer, UInt8(ascii: "E")),
                    (.fraction, UInt8(ascii: "e")), (.fraction, UInt8(ascii: "E")):
                    state = .e
                case (.e, UInt8(ascii: "+")), (.e, UInt8(ascii: "-")): state = .eSign
                case (.e, _) where digit, (.eSign, _) where digit, (.exponent, _) where digit: state = .exponent
                default: break scan
                }
                at += 1
            }
            guard [.zero, .integer, .fraction, .exponent].contains(state) else { return nil }
            return .number(String(decoding: bytes[start..<at], as: UTF8.self))
        }

        /// A string: raw runs are validated as UTF-8 by the standard library, escapes become
        /// UTF-16 code units, and the whole is validated as UTF-16 (which refuses lone surrogates).
        mutating func string() -> [Unicode.Scalar]? {
            at += 1
            var units: [UInt16] = []
            var run: [UInt8] = []
            func flush() -> Bool {
                guard !run.isEmpty else { return true }
                guard let text = String(validating: run, as: UTF8.self) else { return false }
                units.append(contentsOf: text.utf16)
                run.removeAll()
                return true
            }
            while let byte = current {
                at += 1
                if byte == UInt8(ascii: "\"") {
                    guard flush(), let text = String(validating: units, as: UTF16.self) else { return nil }
                    return Array(text.unicodeScalars)
                }
                if byte < 0x20 { return nil }
                if byte != UInt8(ascii: "\\") {
                    run.append(byte)
                    continue
                }
                guard flush(), let kind = current else { return nil }
                at += 1
                switch kind {
                case UInt8(ascii: "\""): units.append(0x22)
                case UInt8(ascii: "\\"): units.append(0x5C)
                case UInt8(ascii: "/"): units.append(0x2F)
                case UInt8(ascii: "b"): units.append(0x08)
                case UInt8(ascii: "f"): units.append(0x0C)
                case UInt8(ascii: "n"): units.append(0x0A)
                case UInt8(ascii: "r"): units.append(0x0D)
                case UInt8(ascii: "t"): units.append(0x09)
                case UInt8(ascii: "u"):
                    guard at + 4 <= bytes.count, let unit = UInt16(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16),
                        bytes[at..<at + 4].allSatisfy({ UInt8(ascii: "0")...UInt8(ascii: "9") ~= $0 || UInt8(ascii: "a")...UInt8(ascii: "f") ~= $0 || UInt8(ascii: "A")...UInt8(ascii: "F") ~= $0 })
                    else { return nil }
                    units.append(unit)
                    at += 4
                default: return nil
                }
            }
            return nil
        }
    }
}
