/// One of the 40 symbol sizes, with the standard's capacity tables (ISO/IEC 18004 Table 9)
/// for each error-correction level.
struct SymbolVersion: Sendable, Equatable {
    let number: Int

    init(_ number: Int) {
        precondition((1...40).contains(number), "QR versions run from 1 to 40")
        self.number = number
    }

    /// The first version from `minimum` on whose data capacity holds `byteCount` bytes.
    static func smallest(holding byteCount: Int, at level: QRCode.ErrorCorrection, from minimum: Int = 1) -> SymbolVersion? {
        (max(minimum, 1)...40).lazy.map(SymbolVersion.init).first { $0.byteCapacity(at: level) >= byteCount }
    }

    var size: Int { 17 + 4 * number }

    /// The byte-mode character count takes 8 bits in versions 1–9 and 16 bits from version 10.
    var byteCountBits: Int { number <= 9 ? 8 : 16 }

    /// How many bytes one byte-mode segment can carry: the data bits less the 4-bit mode
    /// indicator and the character count.
    func byteCapacity(at level: QRCode.ErrorCorrection) -> Int {
        (dataCodewordCount(at: level) * 8 - 4 - byteCountBits) / 8
    }

    /// Codewords left for data once the error-correction codewords of every block are taken.
    func dataCodewordCount(at level: QRCode.ErrorCorrection) -> Int {
        totalCodewordCount - blockCount(at: level) * errorCorrectionCodewordsPerBlock(at: level)
    }

    /// All 8-bit codewords the symbol holds; the few modules left over are remainder bits.
    var totalCodewordCount: Int { dataModuleCount / 8 }

    /// Modules not taken by a function pattern, format or version information: the
    /// (17 + 4v)² modules less three 8 × 8 finders with their separators, 31 format modules
    /// (two copies and the dark module) and two timing lines of 4v + 1, which is
    /// (16v + 128)v + 64; less the 5 × 5 alignment patterns (those on a timing line overlap
    /// it by 5 modules) and, from version 7, the two 6 × 3 version blocks.
    var dataModuleCount: Int {
        var count = (16 * number + 128) * number + 64
        if number >= 2 {
            let alignmentsPerSide = number / 7 + 2
            count -= (25 * alignmentsPerSide - 10) * alignmentsPerSide - 55
            if number >= 7 { count -= 36 }
        }
        return count
    }

    /// Centre coordinates of the alignment patterns along one side (the same for rows and
    /// columns): the first at 6, the last 7 from the far edge, the rest evenly spaced by an
    /// even step that is rounded up (this closed form reproduces the standard's Annex E table).
    var alignmentCenters: [Int] {
        guard number > 1 else { return [] }
        let count = number / 7 + 2
        let step = (number * 8 + count * 3 + 5) / (count * 4 - 4) * 2
        return [6] + (0..<(count - 1)).reversed().map { size - 7 - $0 * step }
    }

    func blockCount(at level: QRCode.ErrorCorrection) -> Int {
        Self.blockCounts[level.tableRow][number - 1]
    }

    func errorCorrectionCodewordsPerBlock(at level: QRCode.ErrorCorrection) -> Int {
        Self.errorCorrectionCodewordsPerBlock[level.tableRow][number - 1]
    }

    // Rows L, M, Q, H; columns versions 1–40 (ISO/IEC 18004 Table 9).
    private static let errorCorrectionCodewordsPerBlock: [[Int]] = [
        [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
         28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
         26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
        [13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
         28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
         30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    ]

    private static let blockCounts: [[Int]] = [
        [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
         8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
        [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
         17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
        [1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
         23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
        [1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
         25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
    ]
}

extension QRCode.ErrorCorrection {
    /// The row of this level in the capacity tables.
    var tableRow: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }

    /// The two bits the format information carries: not in L-M-Q-H order (Table 12).
    var formatBits: Int {
        switch self {
        case .low: 0b01
        case .medium: 0b00
        case .quartile: 0b11
        case .high: 0b10
        }
    }
}
