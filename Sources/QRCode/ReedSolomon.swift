/// Arithmetic in GF(256) modulo the QR code's primitive polynomial
/// x⁸ + x⁴ + x³ + x² + 1 (0x11D), with α = 2, through exponent and logarithm tables.
enum GaloisField {
    /// `exponents[i]` = αⁱ for i in 0..<255, repeated once so a sum of two logarithms
    /// indexes it without a modulo.
    static let exponents: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 510)
        var value = 1
        for power in 0..<255 {
            table[power] = UInt8(value)
            table[power + 255] = UInt8(value)
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        return table
    }()

    /// `logarithms[αⁱ]` = i; entry 0 is unused (0 has no logarithm).
    static let logarithms: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for power in 0..<255 { table[Int(exponents[power])] = power }
        return table
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == 0 || b == 0 { return 0 }
        return exponents[logarithms[Int(a)] + logarithms[Int(b)]]
    }
}

/// Reed–Solomon error correction over GF(256): the remainder of the data polynomial times
/// xⁿ divided by the generator (x − α⁰)(x − α¹)…(x − αⁿ⁻¹).
enum ReedSolomon {
    /// The generator's coefficients from xⁿ⁻¹ down to x⁰ (the leading xⁿ is 1 and left out).
    static func generator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree)
        coefficients[degree - 1] = 1  // the polynomial 1, before any factor
        var root: UInt8 = 1
        for _ in 0..<degree {
            // Multiply by (x − root); in GF(256) subtraction is XOR, like addition.
            for index in 0..<degree {
                coefficients[index] = GaloisField.multiply(coefficients[index], root)
                if index + 1 < degree { coefficients[index] ^= coefficients[index + 1] }
            }
            root = GaloisField.multiply(root, 2)
        }
        return coefficients
    }

    /// The `generator.count` error-correction codewords for `data`, by polynomial long
    /// division kept in a shift register.
    static func errorCorrection(for data: ArraySlice<UInt8>, generator: [UInt8]) -> [UInt8] {
        var remainder = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ remainder.removeFirst()
            remainder.append(0)
            for index in remainder.indices {
                remainder[index] ^= GaloisField.multiply(generator[index], factor)
            }
        }
        return remainder
    }
}

/// The data codewords split into the standard's blocks, each followed by its own
/// error-correction codewords, then interleaved so a burst of damage spreads over blocks.
enum ErrorCorrectionBlocks {
    /// The final codeword sequence of the symbol: the first data codeword of every block,
    /// then every second one, …, then the error-correction codewords in the same order.
    static func interleavedCodewords(data: [UInt8], version: SymbolVersion, errorCorrection level: QRCode.ErrorCorrection) -> [UInt8] {
        let blocks = dataBlocks(data, version: version, errorCorrection: level)
        let generator = ReedSolomon.generator(degree: version.errorCorrectionCodewordsPerBlock(at: level))
        let corrections = blocks.map { ReedSolomon.errorCorrection(for: $0, generator: generator) }
        return interleave(blocks.map(Array.init)) + interleave(corrections)
    }

    /// The data split into blocks: the total codewords do not always divide evenly, so the
    /// last `total % blockCount` blocks carry one data codeword more than the first ones.
    static func dataBlocks(_ data: [UInt8], version: SymbolVersion, errorCorrection level: QRCode.ErrorCorrection) -> [ArraySlice<UInt8>] {
        let blockCount = version.blockCount(at: level)
        let shortBlockDataCount = version.totalCodewordCount / blockCount - version.errorCorrectionCodewordsPerBlock(at: level)
        let longBlockCount = version.totalCodewordCount % blockCount
        var blocks: [ArraySlice<UInt8>] = []
        var start = data.startIndex
        for block in 0..<blockCount {
            let count = shortBlockDataCount + (block >= blockCount - longBlockCount ? 1 : 0)
            blocks.append(data[start..<(start + count)])
            start += count
        }
        precondition(start == data.endIndex, "the data codewords must fill the blocks exactly")
        return blocks
    }

    /// Column by column: codeword i of every block that has one, for i from 0.
    static func interleave(_ blocks: [[UInt8]]) -> [UInt8] {
        let longest = blocks.map(\.count).max() ?? 0
        var result: [UInt8] = []
        for index in 0..<longest {
            for block in blocks where index < block.count { result.append(block[index]) }
        }
        return result
    }
}
