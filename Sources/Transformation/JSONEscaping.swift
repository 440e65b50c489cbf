/// Writes JSON string literals into a byte buffer.
public enum JSONEscaping {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `"…"` for `text`: `"` and `\` are escaped, control characters U+0000–U+001F
    /// become `\b \f \n \r \t` or `\u00XX`; everything else is copied as UTF-8.
    public static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendQuoted(validUTF8: $0, to: &output) }
    }

    /// Like `appendQuoted(_:to:)` for arbitrary bytes: invalid UTF-8 sequences are replaced by
    /// U+FFFD, so the result is always a valid JSON string (how a broken raw line is kept).
    public static func appendQuoted(bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        var allASCII = true
        for byte in bytes where byte >= 0x80 {
            allASCII = false
            break
        }
        if allASCII {
            appendQuoted(validUTF8: bytes, to: &output)
        } else {
            // String(decoding:) repairs ill-formed UTF-8 with U+FFFD.
            appendQuoted(String(decoding: bytes, as: UTF8.self), to: &output)
        }
    }

    /// The quoted JSON literal for `text`, as a String.
    public static func quoted(_ text: String) -> String {
        var output: [UInt8] = []
        appendQuoted(text, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func appendQuoted(validUTF8 bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var runStart = 0
        for (offset, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<offset]))
            output.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
            case 0x08: output.append(UInt8(ascii: "b"))
            case 0x0C: output.append(UInt8(ascii: "f"))
            case 0x0A: output.append(UInt8(ascii: "n"))
            case 0x0D: output.append(UInt8(ascii: "r"))
            case 0x09: output.append(UInt8(ascii: "t"))
            default:
                output.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                           hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
            }
            runStart = offset + 1
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        output.append(UInt8(ascii: "\""))
    }
}
