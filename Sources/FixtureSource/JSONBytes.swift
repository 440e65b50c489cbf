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
