// Byte-level JSON writing and scanning: fast enough to serve 100,000 generated users per run,
// and byte-exact (no dictionary reordering), so the same seed always gives the same bytes.

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendASCII(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    mutating func appendJSONString(_ text: String) {
        append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): appendASCII("\\\"")
            case UInt8(ascii: "\\"): appendASCII("\\\\")
            case 0x0A: appendASCII("\\n")
            case 0x0D: appendASCII("\\r")
            case 0x09: appendASCII("\\t")
            case 0..<0x20:
                appendASCII("\\u00")
                append(hexDigit(Int(byte >> 4)))
                append(hexDigit(Int(byte & 0x0F)))
            default: append(byte)
            }
        }
        append(UInt8(ascii: "\""))
    }

    /// A string known to need no escaping (the generator's vocabulary, digits, hex): copied in bulk.
    mutating func appendTrustedJSONString(_ text: String) {
        append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
        append(UInt8(ascii: "\""))
    }

    mutating func appendInt(_ value: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude == 0 { append(UInt8(ascii: "0")); return }
        // Digits come out least significant first: append them, then reverse them in place.
        let first = count
        while magnitude > 0 {
            append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        var low = first
        var high = count - 1
        while low < high {
            swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    /// `units / 10^scale` written as a JSON number without trailing zeros: (19324, 2) → 193.24, (-7716213, 5) → -77.16213.
    mutating func appendDecimal(_ units: Int, scale: Int) {
        var power = 1
        for _ in 0..<scale { power *= 10 }
        if units < 0 { append(UInt8(ascii: "-")) }
        let magnitude = Int(units.magnitude)
        appendInt(magnitude / power)
        var fraction = magnitude % power
        guard fraction != 0 else { return }
        var digits = scale
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        append(UInt8(ascii: "."))
        var padding = 1
        for _ in 1..<Swift.max(digits, 1) { padding *= 10 }
        while padding > fraction, padding > 1 { append(UInt8(ascii: "0")); padding /= 10 }
        appendInt(fraction)
    }
}

@inline(__always)
func hexDigit(_ value: Int) -> UInt8 {
    value < 10 ? UInt8(ascii: "0") + UInt8(value) : UInt8(ascii: "a") + UInt8(value - 10)
}

/// Writes one JSON object's members, inserting commas. For the generator only: its string values
/// are trusted to need no escaping (debug builds are slow at escaping byte by byte).
struct ObjectWriter {
    private var first = true

    mutating func key(_ name: StaticString, into out: inout [UInt8]) {
        if first { out.append(UInt8(ascii: "{")); first = false } else { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out.appendASCII(name)
        out.appendASCII("\":")
    }

    mutating func string(_ name: StaticString, _ value: String, into out: inout [UInt8]) {
        key(name, into: &out)
        out.appendTrustedJSONString(value)
    }

    mutating func int(_ name: StaticString, _ value: Int, into out: inout [UInt8]) {
        key(name, into: &out)
        out.appendInt(value)
    }

    mutating func decimal(_ name: StaticString, _ units: Int, scale: Int, into out: inout [UInt8]) {
        key(name, into: &out)
        out.appendDecimal(units, scale: scale)
    }

    func close(into out: inout [UInt8]) {
        if first { out.appendASCII("{}") } else { out.append(UInt8(ascii: "}")) }
    }
}

/// Minimal scanner over already-validated JSON text: finds the raw elements of the users array
/// and compacts them (whitespace outside strings removed), keeping member order and number spelling.
enum RawJSON {
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    static func skipSpace(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
    }

    /// Index just past the value starting at `start` (which must not be whitespace).
    static func endOfValue(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        guard index < bytes.count else { return index }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return endOfString(bytes, from: index)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { index = endOfString(bytes, from: index); continue }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { return index + 1 }
                }
                index += 1
            }
            return index
        default:
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") || isSpace(byte) { break }
                index += 1
            }
            return index
        }
    }

    static func endOfString(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
            if bytes[index] == UInt8(ascii: "\"") { return index + 1 }
            index += 1
        }
        return index
    }

    /// The elements of the array starting at `start` (a `[`), each compacted.
    static func arrayElements(_ bytes: [UInt8], from start: Int) -> [[UInt8]] {
        var elements: [[UInt8]] = []
        var index = start + 1
        while true {
            skipSpace(bytes, &index)
            guard index < bytes.count, bytes[index] != UInt8(ascii: "]") else { return elements }
            let end = endOfValue(bytes, from: index)
            elements.append(compact(bytes[index..<end]))
            index = end
            skipSpace(bytes, &index)
            if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1 }
        }
    }

    /// Start of the value of top-level member `name` in the object starting at `start` (a `{`).
    static func memberValue(_ bytes: [UInt8], named name: String, inObjectAt start: Int) -> Int? {
        let wanted = Array(name.utf8)
        var index = start + 1
        while true {
            skipSpace(bytes, &index)
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let keyEnd = endOfString(bytes, from: index)
            let key = Array(bytes[(index + 1)..<(keyEnd - 1)])
            index = keyEnd
            skipSpace(bytes, &index)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace(bytes, &index)
            if key == wanted { return index }
            index = endOfValue(bytes, from: index)
            skipSpace(bytes, &index)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }

    static func compact(_ slice: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        var inString = false
        var escaped = false
        for byte in slice {
            if inString {
                out.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                out.append(byte)
            } else if !isSpace(byte) {
                out.append(byte)
            }
        }
        return out
    }
}
