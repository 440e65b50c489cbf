import Foundation
import Testing
@testable import QRCode

@Suite("QR code rendering")
struct RenderingTests {
    /// Reads the half blocks back into module rows (the quiet zone included).
    func modules(fromTerminalText text: String) -> [[Bool]] {
        text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { line -> [[Bool]] in
            let upper = line.map { $0 == "\u{2588}" || $0 == "\u{2580}" }
            let lower = line.map { $0 == "\u{2588}" || $0 == "\u{2584}" }
            return [upper, lower]
        }
    }

    @Test("terminal text: two module rows a line, quiet zone around, only █ ▀ ▄ and space",
          arguments: [0, 1, 2, 4])
    func terminalText(quietZone: Int) throws {
        let code = try QRCode(text: QRCodeTests.otpauthURI)
        let text = code.terminalText(quietZone: quietZone)
        let width = code.size + 2 * quietZone
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == (width + 1) / 2)
        #expect(lines.allSatisfy { $0.count == width })
        #expect(text.allSatisfy { "\u{2588}\u{2580}\u{2584} \n".contains($0) })
        #expect(!text.hasSuffix("\n"))

        let drawn = modules(fromTerminalText: text)
        for y in -quietZone..<(code.size + quietZone) {
            for x in -quietZone..<(code.size + quietZone) {
                #expect(drawn[y + quietZone][x + quietZone] == code[x, y], "module (\(x), \(y))")
            }
        }
        // The odd last half row is quiet zone: drawn light.
        if width % 2 == 1 { #expect(drawn[width].allSatisfy { !$0 }) }
    }

    @Test("for dark terminals the blocks draw the light modules and the quiet zone instead")
    func lightModules() throws {
        let code = try QRCode(text: "hi")
        let dark = modules(fromTerminalText: code.terminalText(quietZone: 2, blocks: .darkModules))
        let light = modules(fromTerminalText: code.terminalText(quietZone: 2, blocks: .lightModules))
        for y in 0..<(code.size + 4) {
            for x in 0..<(code.size + 4) { #expect(dark[y][x] != light[y][x]) }
        }
    }

    @Test("the otpauth URI's symbol at the default level fits an 80-column terminal")
    func otpauthFitsTerminal() throws {
        let code = try QRCode(text: QRCodeTests.otpauthURI)
        #expect(code.version == 8)
        #expect(code.size + 4 <= 80)
    }

    @Test("PBM: P4 header, rows padded to whole bytes; P1 ASCII digits in lines of at most 70")
    func pbmLayout() throws {
        let code = try QRCode(text: "hi")  // 21 modules, + 2 × 4 quiet = 29, × 3 = 87 pixels
        let raw = code.pbm(scale: 3, quietZone: 4, format: .raw)
        let header = Data("P4\n87 87\n".utf8)
        #expect(raw.prefix(header.count) == header)
        #expect(raw.count == header.count + 87 * 11)
        // The top-left finder's corner: pixel row 12 (module row 0), columns 12… dark.
        let row12 = raw.dropFirst(header.count + 12 * 11).prefix(11)
        #expect(Array(row12.prefix(3)) == [0x00, 0x0F, 0xFF])

        let plain = String(decoding: code.pbm(scale: 3, quietZone: 4, format: .plain), as: UTF8.self)
        let lines = plain.split(separator: "\n")
        #expect(lines.prefix(2) == ["P1", "87 87"])
        #expect(lines.dropFirst(2).allSatisfy { $0.count <= 70 && $0.allSatisfy { $0 == "0" || $0 == "1" } })
        #expect(lines.dropFirst(2).map(\.count).reduce(0, +) == 87 * 87)
    }
}
