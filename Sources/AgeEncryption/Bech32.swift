/// Bech32 (BIP 173) decoding, the encoding of age recipients. Only what parsing a recipient
/// needs: age keeps the original Bech32 checksum (not Bech32m) and lifts the 90-character
/// limit, so neither is checked against BIP 173's other rules here.
enum Bech32 {
    static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)

    /// Why a string is not valid Bech32; `AgeRecipient` turns it into an error for operators.
    enum Failure: Error, Equatable {
        case mixedCase
        case noSeparator
        case invalidCharacter(Character)
        case badChecksum
        case badPadding
    }

    /// The human-readable part (lowercased) and the data bytes of a Bech32 string.
    static func decode(_ text: String) throws(Failure) -> (hrp: String, data: [UInt8]) {
        // BIP 173: all lowercase or all uppercase; the checksum is computed over lowercase.
        if text.lowercased() != text && text.uppercased() != text { throw .mixedCase }
        let lower = Array(text.lowercased().utf8)
        // The separator is the last "1": the HRP may contain 1s, the data part may not.
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), separator > 0,
            lower.count - separator - 1 >= 6
        else { throw .noSeparator }
        let hrp = Array(lower[..<separator])
        if let bad = hrp.first(where: { $0 < 33 || $0 > 126 }) { throw .invalidCharacter(Character(Unicode.Scalar(bad))) }
        var values: [UInt8] = []
        for byte in lower[(separator + 1)...] {
            guard let value = alphabet.firstIndex(of: byte) else { throw .invalidCharacter(Character(Unicode.Scalar(byte))) }
            values.append(UInt8(value))
        }
        guard polymod(expand(hrp) + values) == 1 else { throw .badChecksum }
        let data = try regroup(values.dropLast(6))
        return (String(decoding: hrp, as: UTF8.self), data)
    }

    /// The BCH checksum over the expanded HRP and the 5-bit values; 1 for a valid string.
    static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var checksum: UInt32 = 1
        for value in values {
            let top = checksum >> 25
            checksum = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
            for bit in 0..<5 where (top >> bit) & 1 == 1 { checksum ^= generator[bit] }
        }
        return checksum
    }

    static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// 5-bit groups to bytes. Leftover bits must be fewer than 5 and zero, or the string
    /// encodes something other than whole bytes.
    static func regroup(_ values: ArraySlice<UInt8>) throws(Failure) -> [UInt8] {
        var accumulator: UInt32 = 0
        var bits = 0
        var bytes: [UInt8] = []
        for value in values {
            accumulator = accumulator << 5 | UInt32(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        if bits >= 5 || accumulator & ((1 << UInt32(bits)) - 1) != 0 { throw .badPadding }
        return bytes
    }
}
