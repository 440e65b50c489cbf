import Foundation
import TestSupport
@testable import QRCode

/// The reference tools the tests check against: Debian's `zbarimg` (zbar-tools) reads the
/// symbols back, `qrencode` draws the same payloads for a module-by-module comparison. A
/// missing tool is an error naming the package, never a skipped check.
enum ReferenceTool {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func executable(_ name: String, package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"] {
            let full = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: full) { return full }
        }
        throw Failure(description: "\(name) is not installed: apt-get install -y \(package) (.ci/run installs it)")
    }

    /// The bytes `zbarimg` reads from the symbol drawn as a PBM file. `-Sbinary` prints the
    /// payload's bytes as they are: without it zbar guesses a character set for short
    /// non-ASCII payloads (it reads "é" as Shift JIS) and appends a newline.
    static func zbarDecode(_ code: QRCode, format: QRCode.PBMFormat = .raw, scale: Int = 3) async throws -> Data {
        let zbarimg = try executable("zbarimg", package: "zbar-tools")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qrcode-\(UUID().uuidString.prefix(8)).pbm")
        try code.pbm(scale: scale, quietZone: 4, format: format).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (output, status) = try await TestEnvironment.execute(zbarimg, ["--raw", "-q", "-Sbinary", file.path])
        guard status == 0 else {
            throw Failure(description: "zbarimg found no QR code in version \(code.version) \(code.errorCorrection) mask \(code.mask) (exit \(status))")
        }
        return output
    }

    /// `qrencode`'s matrix for the same bytes: `-8` keeps the whole payload in byte mode
    /// (qrencode would otherwise pick numeric or alphanumeric segments), `-m 0` drops the
    /// quiet zone, and `-t ASCII` draws each dark module as "##", each light one as "  ".
    static func qrencodeMatrix(_ bytes: [UInt8], level: QRCode.ErrorCorrection) async throws -> [[Bool]] {
        let qrencode = try executable("qrencode", package: "qrencode")
        let levelLetter = switch level {
        case .low: "L"
        case .medium: "M"
        case .quartile: "Q"
        case .high: "H"
        }
        let (output, status) = try await TestEnvironment.execute(qrencode, ["-t", "ASCII", "-m", "0", "-8", "-l", levelLetter, "-o", "-"], input: Data(bytes))
        guard status == 0 else { throw Failure(description: "qrencode exited \(status)") }
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map { line in
            stride(from: 0, to: line.count, by: 2).map { line[line.index(line.startIndex, offsetBy: $0)] == "#" }
        }
    }

    /// The mask a symbol names in its format information (first copy, around the top-left
    /// finder): the three bits below the two error-correction bits, once the 0x5412 XOR is undone.
    static func mask(namedIn matrix: [[Bool]]) -> Int {
        // (x, y) of format bits 14 down to 0, as ModuleMatrix.drawFormatInformation places them.
        let positions = (0...5).map { ($0, 8) } + [(7, 8), (8, 8), (8, 7)] + (0...5).reversed().map { (8, $0) }
        let bits = positions.reduce(0) { $0 << 1 | (matrix[$1.1][$1.0] ? 1 : 0) } ^ 0x5412
        return (bits >> 10) & 0b111
    }
}

extension QRCode {
    /// Rows of modules, `true` for dark, to compare with another encoder's matrix.
    var rows: [[Bool]] {
        (0..<size).map { y in (0..<size).map { x in self[x, y] } }
    }
}

/// `count` printable ASCII characters, varied so the data differs from version to version.
func sampleText(count: Int, seed: Int) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#@!$&'()*+,;= ")
    var state = UInt64(seed) &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return String((0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return alphabet[Int(state >> 33) % alphabet.count]
    })
}
