import Testing
@testable import QRCode

/// The pieces against the standard's own numbers, so a failure points at the piece.
@Suite("QR code encoding steps")
struct EncodingTests {
    /// ISO/IEC 18004 Annex I: "01234567" at 1-M, whose 16 data codewords have these 10
    /// error-correction codewords.
    @Test("Reed–Solomon gives the standard's worked example")
    func reedSolomonExample() {
        let data: [UInt8] = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
        let expected: [UInt8] = [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55]
        #expect(ReedSolomon.errorCorrection(for: data[...], generator: ReedSolomon.generator(degree: 10)) == expected)
    }

    @Test("format information for M and mask 5 is the standard's 100000011001110 (Annex C)")
    func formatInformation() {
        #expect(BCHCode.formatInformation(level: .medium, mask: .products) == 0b100000011001110)
    }

    @Test("version information for version 7 is 000111110010010100 (Annex D)")
    func versionInformation() {
        #expect(BCHCode.versionInformation(7) == 0b000111110010010100)
    }

    @Test("alignment pattern centres follow Annex E", arguments: [
        (1, []), (2, [6, 18]), (7, [6, 22, 38]), (14, [6, 26, 46, 66]), (32, [6, 34, 60, 86, 112, 138]),
        (36, [6, 24, 50, 76, 102, 128, 154]), (40, [6, 30, 58, 86, 114, 142, 170]),
    ])
    func alignmentCenters(version: Int, centers: [Int]) {
        #expect(SymbolVersion(version).alignmentCenters == centers)
    }

    @Test("the data codewords of 'hi' at 1-M: header, bytes, terminator, then pad codewords")
    func dataCodewords() {
        // 0100 | 00000010 | 01101000 01101001 | 0000, then 0xEC 0x11 … up to 16 codewords.
        let codewords = DataCodewords.encode(Array("hi".utf8), version: SymbolVersion(1), errorCorrection: .medium)
        #expect(codewords.prefix(4) == [0x40, 0x26, 0x86, 0x90])
        #expect(Array(codewords.dropFirst(4)) == [0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11])
    }

    @Test("5-Q splits 62 data codewords into two blocks of 15 and two of 16, interleaved column-wise")
    func blocks() {
        let data = (0..<62).map(UInt8.init)
        let blocks = ErrorCorrectionBlocks.dataBlocks(data, version: SymbolVersion(5), errorCorrection: .quartile)
        #expect(blocks.map(\.count) == [15, 15, 16, 16])
        let interleaved = ErrorCorrectionBlocks.interleave(blocks.map(Array.init))
        #expect(interleaved.prefix(5) == [0, 15, 30, 46, 1])
        #expect(interleaved.suffix(2) == [45, 61])  // only the long blocks have a 16th codeword
    }

    @Test("rule 1: a run of five costs 3, each module more 1")
    func runPenalty() {
        #expect(MaskPenalty.runPenalty([true, true, true, true, false]) == 0)
        #expect(MaskPenalty.runPenalty([true, true, true, true, true, false]) == 3)
        #expect(MaskPenalty.runPenalty(Array(repeating: false, count: 7) + [true] + Array(repeating: true, count: 5)) == 5 + 4)
    }

    @Test("rule 3: 1011101 with four light modules on one side costs 40; the edge counts as light")
    func finderLikePenalty() {
        let finder = [true, false, true, true, true, false, true]
        let light = Array(repeating: false, count: 4)
        #expect(MaskPenalty.finderLikePenalty(light + finder + [true]) == 40)
        #expect(MaskPenalty.finderLikePenalty([true] + finder + light) == 40)
        #expect(MaskPenalty.finderLikePenalty(finder) == 40)  // both sides beyond the edge
        #expect(MaskPenalty.finderLikePenalty([true, false, false, false] + finder + [false, false, true]) == 0)
    }

    @Test("rule 4: 10 for each full 5 % away from half dark")
    func balancePenalty() {
        let half = [[true, false], [false, true]]
        #expect(MaskPenalty.balancePenalty(half) == 0)
        #expect(MaskPenalty.balancePenalty([[true, true], [true, false]]) == 50)  // 75 % dark
        #expect(MaskPenalty.balancePenalty([[true, true], [true, true]]) == 100)
    }
}
