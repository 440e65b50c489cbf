import Foundation
import Testing
@testable import QRCode

/// Every symbol is read back by zbarimg, the reference reader: what it decodes must be the
/// original bytes exactly. The tests spawn tools, so each runs on a thread of its own.
@Suite("QR code")
struct QRCodeTests {
    static let otpauthURI = "otpauth://totp/ETL%20Pipeline:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ETL%20Pipeline&algorithm=SHA1&digits=6&period=30"

    static let texts = [
        "a", "hi", "Hello, World!", otpauthURI,
        "Grüße aus Köln — 日本語のテキスト 🔐", "é",
        "https://example.com/search?q=a+b&lang=de#top",
        String(repeating: "0123456789", count: 30),
    ]

    @Test("each text at each level decodes with zbarimg to the same UTF-8 bytes",
          arguments: texts, QRCode.ErrorCorrection.allCases)
    func roundTrip(text: String, level: QRCode.ErrorCorrection) async throws {
        let code = try QRCode(text: text, errorCorrection: level)
        #expect(try await ReferenceTool.zbarDecode(code) == Data(text.utf8))
    }

    /// Not scale 1: zbarimg finds no symbol at one pixel per module, not even in qrencode's
    /// own `-s 1` PNG of the same URI.
    @Test("the plain P1 bitmap decodes as the raw P4 one does, at scale 2 and 5", arguments: [2, 5])
    func plainBitmap(scale: Int) async throws {
        let code = try QRCode(text: Self.otpauthURI)
        #expect(try await ReferenceTool.zbarDecode(code, format: .plain, scale: scale) == Data(Self.otpauthURI.utf8))
        #expect(try await ReferenceTool.zbarDecode(code, format: .raw, scale: scale) == Data(Self.otpauthURI.utf8))
    }

    /// The capacity tables for every version and level at once: a text that fills version v
    /// exactly must land in v, be read back by zbarimg, and equal qrencode's symbol module
    /// for module (with qrencode's mask); one byte more must need the next version.
    @Test("a text filling each version exactly is that version, decodes, and matches qrencode",
          arguments: QRCode.ErrorCorrection.allCases, 1...40)
    func fullVersion(level: QRCode.ErrorCorrection, version: Int) async throws {
        let capacity = SymbolVersion(version).byteCapacity(at: level)
        let text = sampleText(count: capacity, seed: version * 4 + level.tableRow)
        let code = try QRCode(text: text, errorCorrection: level)
        #expect(code.version == version)
        #expect(code.size == 17 + 4 * version)
        #expect(try await ReferenceTool.zbarDecode(code, scale: 2) == Data(text.utf8))
        try await expectSameAsQRencode(Array(text.utf8), level: level, version: version)
        if version < 40 {
            #expect(try QRCode(text: text + "x", errorCorrection: level).version == version + 1)
        }
    }

    @Test("short texts match qrencode's symbol module for module", arguments: texts, QRCode.ErrorCorrection.allCases)
    func sameAsQRencode(text: String, level: QRCode.ErrorCorrection) async throws {
        try await expectSameAsQRencode(Array(text.utf8), level: level, version: nil)
    }

    /// qrencode picks the same version but not always the same mask: its penalty rules differ
    /// from the standard's in details (how it measures the finder-like runs and the dark
    /// share), so a third of the symbols get another mask. The mask qrencode names in its
    /// format information is forced here to compare everything else exactly; that the masks
    /// agree is checked only where both penalty readings coincide (`chosenMaskAgrees`).
    func expectSameAsQRencode(_ bytes: [UInt8], level: QRCode.ErrorCorrection, version: Int?) async throws {
        let reference = try await ReferenceTool.qrencodeMatrix(bytes, level: level)
        let code = try QRCode(bytes: bytes, errorCorrection: level)
        #expect(code.size == reference.count, "qrencode chose another version")
        if let version { #expect(reference.count == 17 + 4 * version) }
        let referenceMask = ReferenceTool.mask(namedIn: reference)
        let sameMask = try QRCode(bytes: bytes, errorCorrection: level, minimumVersion: 1, forcedMask: referenceMask)
        #expect(sameMask.rows == reference, "with qrencode's mask \(referenceMask), the modules differ")
    }

    @Test("where the penalty readings coincide, the chosen mask is qrencode's and the symbols are identical",
          arguments: ["hi", "Hello, World!", otpauthURI])
    func chosenMaskAgrees(text: String) async throws {
        let code = try QRCode(text: text, errorCorrection: .medium)
        #expect(code.rows == (try await ReferenceTool.qrencodeMatrix(Array(text.utf8), level: .medium)))
    }

    @Test("the byte count takes 8 bits up to version 9 and 16 from version 10")
    func characterCountBits() throws {
        #expect(SymbolVersion(9).byteCountBits == 8)
        #expect(SymbolVersion(10).byteCountBits == 16)
        // 9-L holds 230 bytes (232 data codewords less 12 header bits); 10-L 271 with 20.
        #expect(SymbolVersion(9).byteCapacity(at: .low) == 230)
        #expect(SymbolVersion(10).byteCapacity(at: .low) == 271)
        #expect(try QRCode(text: sampleText(count: 230, seed: 1), errorCorrection: .low).version == 9)
        #expect(try QRCode(text: sampleText(count: 231, seed: 1), errorCorrection: .low).version == 10)
    }

    @Test("the largest symbols: 40-L holds 2953 bytes, 40-M 2331, 40-Q 1663, 40-H 1273")
    func versionFortyCapacity() throws {
        let capacities: [(QRCode.ErrorCorrection, Int)] = [(.low, 2953), (.medium, 2331), (.quartile, 1663), (.high, 1273)]
        for (level, capacity) in capacities {
            #expect(SymbolVersion(40).byteCapacity(at: level) == capacity)
            #expect(try QRCode(text: sampleText(count: capacity, seed: 2), errorCorrection: level).version == 40)
        }
    }

    @Test("a text beyond version 40 gives the typed error with its byte count and the maximum",
          arguments: [(QRCode.ErrorCorrection.low, 2953), (.medium, 2331), (.quartile, 1663), (.high, 1273)])
    func tooLong(level: QRCode.ErrorCorrection, maximum: Int) {
        let text = sampleText(count: maximum + 1, seed: 3)
        #expect(throws: QRCodeError.textTooLong(byteCount: maximum + 1, maximumByteCount: maximum, errorCorrection: level)) {
            try QRCode(text: text, errorCorrection: level)
        }
    }

    @Test("the limit counts UTF-8 bytes, not characters: 1477 × é is 2954 bytes, one too many for 40-L")
    func tooLongCountsBytes() {
        let text = String(repeating: "é", count: 1477)
        #expect(throws: QRCodeError.textTooLong(byteCount: 2954, maximumByteCount: 2953, errorCorrection: .low)) {
            try QRCode(text: text, errorCorrection: .low)
        }
        #expect(QRCodeError.textTooLong(byteCount: 2954, maximumByteCount: 2953, errorCorrection: .low).description.contains("2953"))
    }
}
