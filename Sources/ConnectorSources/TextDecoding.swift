/// The text encodings a CSV file may be in, as `encoding` names them.
enum CSVTextEncoding: Sendable, Equatable {
    case utf8
    case latin1
    /// Endianness from the byte-order mark, which must be there.
    case utf16
    case utf16LittleEndian
    case utf16BigEndian

    static let names = ["utf-8", "latin-1", "iso-8859-1", "utf-16", "utf-16le", "utf-16be"]

    init?(name: String) {
        switch name {
        case "utf-8": self = .utf8
        case "latin-1", "iso-8859-1": self = .latin1
        case "utf-16": self = .utf16
        case "utf-16le": self = .utf16LittleEndian
        case "utf-16be": self = .utf16BigEndian
        default: return nil
        }
    }
}

/// Where and why a byte of the source does not decode.
struct TextDecodingError: Error, Equatable {
    /// Offset in the source file, the byte-order mark included.
    let offset: Int
    let reason: String
}

/// Decodes a source file chunk by chunk into UTF-8 (the one encoding the CSV parser is fed),
/// validating as it goes: a file in the wrong encoding fails at its first bad byte, with the
/// offset, rather than turning into replacement characters. A leading byte-order mark is dropped.
struct TextDecoder {
    let encoding: CSVTextEncoding
    /// The bytes of a character the previous chunk ended inside of.
    private var carry: [UInt8] = []
    /// Source offset of `carry`'s first byte (of the next byte when `carry` is empty).
    private var offset = 0
    private var sawStart = false
    private var littleEndian = false

    init(encoding: CSVTextEncoding) {
        self.encoding = encoding
        littleEndian = encoding == .utf16LittleEndian
    }

    /// Appends the UTF-8 of `chunk` to `output`. `isLast`: the source ends after `chunk`, so a
    /// character left incomplete is an error. On an error `output` holds the text before it.
    mutating func decode(_ chunk: [UInt8], isLast: Bool, into output: inout [UInt8]) throws(TextDecodingError) {
        var bytes = carry + chunk
        carry = []
        if !sawStart {
            guard bytes.count >= 4 || isLast else { carry = bytes; return }
            sawStart = true
            let markLength = try byteOrderMarkLength(bytes)
            bytes.removeFirst(markLength)
            offset += markLength
        }
        let consumed: Int
        switch encoding {
        case .utf8: consumed = try validateUTF8(bytes, isLast: isLast, into: &output)
        case .latin1: consumed = latin1(bytes, into: &output)
        case .utf16, .utf16LittleEndian, .utf16BigEndian: consumed = try utf16(bytes, isLast: isLast, into: &output)
        }
        carry = Array(bytes[consumed...])
        offset += consumed
    }

    /// How many leading bytes are a byte-order mark; for `utf-16`, the mark also sets the byte order.
    private mutating func byteOrderMarkLength(_ bytes: [UInt8]) throws(TextDecodingError) -> Int {
        let hasUTF8Mark = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        let hasLittleMark = bytes.starts(with: [0xFF, 0xFE])
        let hasBigMark = bytes.starts(with: [0xFE, 0xFF])
        switch encoding {
        case .utf8: return hasUTF8Mark ? 3 : 0
        case .latin1: return 0
        case .utf16LittleEndian: return hasLittleMark ? 2 : 0
        case .utf16BigEndian: return hasBigMark ? 2 : 0
        case .utf16:
            guard hasLittleMark || hasBigMark else {
                throw TextDecodingError(offset: 0, reason: "utf-16 text must start with a byte-order mark (FF FE or FE FF); this file has none: set encoding to utf-16le or utf-16be")
            }
            littleEndian = hasLittleMark
            return 2
        }
    }

    /// Copies the valid UTF-8 of `bytes`; returns how many bytes it took (an incomplete last
    /// character is left for the next chunk).
    private func validateUTF8(_ bytes: [UInt8], isLast: Bool, into output: inout [UInt8]) throws(TextDecodingError) -> Int {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 { output.append(lead); index += 1; continue }
            guard let (length, secondRange) = Self.utf8Sequence(lead: lead) else {
                throw invalidUTF8(lead, at: index)
            }
            let available = min(index + length, bytes.count)
            let continuationsValid = (index + 1..<available).allSatisfy { position in
                (position == index + 1 ? secondRange : 0x80...0xBF).contains(bytes[position])
            }
            guard continuationsValid else { throw invalidUTF8(lead, at: index) }
            guard available == index + length else {
                if isLast { throw TextDecodingError(offset: offset + index, reason: "the file ends inside a UTF-8 character") }
                break
            }
            output.append(contentsOf: bytes[index..<(index + length)])
            index += length
        }
        return index
    }

    /// A UTF-8 sequence's length and the range its second byte must be in (which rules out
    /// overlong forms, surrogates and code points past U+10FFFF); nil for a byte no character starts with.
    private static func utf8Sequence(lead: UInt8) -> (length: Int, second: ClosedRange<UInt8>)? {
        switch lead {
        case 0xC2...0xDF: (2, 0x80...0xBF)
        case 0xE0: (3, 0xA0...0xBF)
        case 0xED: (3, 0x80...0x9F)
        case 0xE1...0xEF: (3, 0x80...0xBF)
        case 0xF0: (4, 0x90...0xBF)
        case 0xF1...0xF3: (4, 0x80...0xBF)
        case 0xF4: (4, 0x80...0x8F)
        default: nil
        }
    }

    private func invalidUTF8(_ lead: UInt8, at index: Int) -> TextDecodingError {
        let byte = String(lead, radix: 16, uppercase: true)
        return TextDecodingError(offset: offset + index, reason: "byte 0x\(byte) does not start a valid UTF-8 character (if the file is latin-1 or utf-16, set encoding)")
    }

    /// Every byte is the code point of the same number.
    private func latin1(_ bytes: [UInt8], into output: inout [UInt8]) -> Int {
        for byte in bytes {
            if byte < 0x80 {
                output.append(byte)
            } else {
                output.append(0xC0 | (byte >> 6))
                output.append(0x80 | (byte & 0x3F))
            }
        }
        return bytes.count
    }

    private func utf16(_ bytes: [UInt8], isLast: Bool, into output: inout [UInt8]) throws(TextDecodingError) -> Int {
        var index = 0
        func unit(at position: Int) -> UInt16 {
            let (first, second) = (UInt16(bytes[position]), UInt16(bytes[position + 1]))
            return littleEndian ? first | second << 8 : first << 8 | second
        }
        while index + 1 < bytes.count {
            let high = unit(at: index)
            if high < 0xD800 || high > 0xDFFF {
                Self.appendUTF8(of: UInt32(high), to: &output)
                index += 2
                continue
            }
            guard high <= 0xDBFF else {
                throw TextDecodingError(offset: offset + index, reason: "a UTF-16 low surrogate without a high surrogate before it")
            }
            guard index + 3 < bytes.count else { break }
            let low = unit(at: index + 2)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw TextDecodingError(offset: offset + index, reason: "a UTF-16 high surrogate without a low surrogate after it")
            }
            Self.appendUTF8(of: 0x10000 + (UInt32(high - 0xD800) << 10 | UInt32(low - 0xDC00)), to: &output)
            index += 4
        }
        if isLast, index < bytes.count {
            throw TextDecodingError(offset: offset + index, reason: "the file ends inside a UTF-16 character (an odd number of bytes or a lone high surrogate)")
        }
        return index
    }

    private static func appendUTF8(of scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case ..<0x80:
            output.append(UInt8(scalar))
        case ..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
