/// The data codewords of a byte-mode segment: mode indicator, character count, the bytes,
/// terminator and padding, filling exactly the version's data capacity.
enum DataCodewords {
    /// Byte mode's 4-bit mode indicator (Table 2).
    static let byteModeIndicator = 0b0100
    /// The pad codewords alternate 11101100 and 00010001 until the capacity is full (7.4.10).
    static let padCodewords: [UInt8] = [0xEC, 0x11]

    static func encode(_ bytes: [UInt8], version: SymbolVersion, errorCorrection level: QRCode.ErrorCorrection) -> [UInt8] {
        let capacityBits = version.dataCodewordCount(at: level) * 8
        var bits = BitBuffer()
        bits.append(byteModeIndicator, count: 4)
        bits.append(bytes.count, count: version.byteCountBits)
        for byte in bytes { bits.append(Int(byte), count: 8) }
        precondition(bits.count <= capacityBits, "the version was chosen to hold the bytes")

        // Up to four zero bits end the data (fewer if the capacity is reached), then zeros
        // up to a whole codeword.
        bits.append(0, count: min(4, capacityBits - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)
        var codewords = bits.bytes
        var padIndex = 0
        while codewords.count * 8 < capacityBits {
            codewords.append(padCodewords[padIndex % 2])
            padIndex += 1
        }
        return codewords
    }
}

/// Bits appended most significant first, read back as bytes.
struct BitBuffer {
    private(set) var bits: [Bool] = []

    var count: Int { bits.count }

    mutating func append(_ value: Int, count: Int) {
        precondition(count >= 0 && (count >= Int.bitWidth - 1 || value >> count == 0), "value does not fit in \(count) bits")
        for shift in stride(from: count - 1, through: 0, by: -1) {
            bits.append((value >> shift) & 1 == 1)
        }
    }

    /// The bits packed eight to a byte; the count must be a multiple of 8.
    var bytes: [UInt8] {
        precondition(bits.count % 8 == 0, "only whole codewords become bytes")
        return stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<(start + 8)].reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
        }
    }
}
