/// Appends JSON to a byte array directly, inserting the commas. The api's list endpoints answer
/// thousands of requests a second with up to 1,000 rows each and the fixture source writes
/// 100,000 users a run: writing values straight into the bytes costs a fraction of building
/// `Codable` values and running `JSONEncoder`, and the bytes come out in the order written.
///
/// Strings escape `"`, `\` and the control characters (see `ControlEscapes`); everything else
/// is copied as UTF-8.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next value in the current container needs a leading comma.
    private var needsComma = false

    public init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// Empties `bytes` (keeping its capacity) without closing anything: the next value still
    /// gets its comma. For writing a long document in chunks.
    public mutating func removeWrittenBytes() {
        bytes.removeAll(keepingCapacity: true)
    }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        needsComma = false
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma = true
    }

    /// Writes `"name":`; the value written next belongs to it.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    /// Writes a precomputed `"name":`.
    public mutating func key(prefix: [UInt8]) {
        separate()
        bytes.append(contentsOf: prefix)
        needsComma = false
    }

    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ value: String?) {
        separate()
        if let value { appendQuoted(value) } else { appendNull() }
        needsComma = true
    }

    public mutating func integer(_ value: Int64?) {
        separate()
        if let value { bytes.append(contentsOf: String(value).utf8) } else { appendNull() }
        needsComma = true
    }

    public mutating func integer(_ value: Int?) {
        integer(value.map(Int64.init))
    }

    public mutating func double(_ value: Double?) {
        separate()
        if let value, value.isFinite {
            // Whole numbers as integers (ages are stored as REAL): 42, not 42.0.
            if value == value.rounded(), abs(value) < 1e15 {
                bytes.append(contentsOf: String(Int64(value)).utf8)
            } else {
                bytes.append(contentsOf: "\(value)".utf8)
            }
        } else {
            appendNull()
        }
        needsComma = true
    }

    /// `units / 10^scale` exactly, without trailing zeros: (19324, 2) → 193.24, (-7716213, 5) → -77.16213.
    public mutating func decimal(_ units: Int, scale: Int) {
        separate()
        var power = 1
        for _ in 0..<scale { power *= 10 }
        if units < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = Int(units.magnitude)
        bytes.append(contentsOf: String(magnitude / power).utf8)
        var fraction = magnitude % power
        if fraction != 0 {
            var digits = scale
            while fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
            let fractionDigits = String(fraction).utf8
            bytes.append(UInt8(ascii: "."))
            bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits - fractionDigits.count))
            bytes.append(contentsOf: fractionDigits)
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func null() {
        separate()
        appendNull()
        needsComma = true
    }

    /// Writes JSON that is already valid and complete (a cached fragment, a checked array).
    public mutating func raw(_ json: some Collection<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendNull() {
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    private mutating func appendQuoted(_ value: String) {
        Self.appendQuoted(value, to: &bytes, controlEscapes: .newlineReturnTab)
    }

    // MARK: Strings

    /// How strings write the control characters (U+0000–U+001F) that JSON also lets be
    /// written short; either way the others are written `\u00xx`.
    public enum ControlEscapes: Sendable {
        /// `\n`, `\r`, `\t`: the api's answers and the fixture source's users.
        case newlineReturnTab
        /// `\b`, `\f`, `\n`, `\r`, `\t`: the transformer's output lines.
        case everyShortForm
    }

    /// `text` as a JSON string literal.
    public static func quoted(_ text: String, controlEscapes: ControlEscapes = .newlineReturnTab) -> String {
        var bytes: [UInt8] = []
        appendQuoted(text, to: &bytes, controlEscapes: controlEscapes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func appendQuoted(_ text: String, to bytes: inout [UInt8], controlEscapes: ControlEscapes) {
        var text = text
        text.withUTF8 { appendQuoted(utf8: $0, to: &bytes, controlEscapes: controlEscapes) }
    }

    /// Appends `"…"` for valid UTF-8 `text`: `"` and `\` escaped, control characters as
    /// `controlEscapes` says, everything else copied in runs.
    public static func appendQuoted(utf8 text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8], controlEscapes: ControlEscapes) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<index]))
                appendEscape(of: byte, to: &bytes, controlEscapes: controlEscapes)
                runStart = index + 1
            }
            index += 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<text.count]))
        bytes.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(of byte: UInt8, to bytes: inout [UInt8], controlEscapes: ControlEscapes) {
        let short: UInt8? = switch byte {
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        case 0x08 where controlEscapes == .everyShortForm: UInt8(ascii: "b")
        case 0x0C where controlEscapes == .everyShortForm: UInt8(ascii: "f")
        default: nil
        }
        bytes.append(UInt8(ascii: "\\"))
        if let short {
            bytes.append(short)
        } else {
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)
}
