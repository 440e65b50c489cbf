public import Foundation

extension QRCode {
    /// Which modules the block characters of `terminalText` draw.
    public enum TerminalBlocks: Sendable {
        /// Blocks are the dark modules, spaces the light ones and the quiet zone: right on a
        /// terminal that shows dark text on a light background.
        case darkModules
        /// Blocks are the light modules and the quiet zone, spaces the dark ones: right on a
        /// terminal that shows light text on a dark background (what `qrencode -t UTF8` prints).
        case lightModules
    }

    /// The symbol as text, two module rows per line: the upper half block ▀ (U+2580) when only
    /// the upper module is drawn, the lower half block ▄ (U+2584) when only the lower one is,
    /// the full block █ (U+2588) for both and a space for neither. No colour escapes, so it
    /// prints the same anywhere; `blocks` says which modules the glyphs draw (by default the
    /// dark ones, for a light background). A phone reads the symbol only with the colours the
    /// right way round, dark modules darker than light ones, so on a dark terminal pass
    /// `.lightModules`.
    ///
    /// The standard's quiet zone is 4 modules; 2 keeps a version-10 code inside 80 columns and
    /// phone scanners accept it. With an odd number of rows the last line's lower half is
    /// quiet zone too. Lines end with "\n" except the last, so `print` adds exactly one.
    public func terminalText(quietZone: Int = 2, blocks: TerminalBlocks = .darkModules) -> String {
        let span = -quietZone..<(size + quietZone)
        let drawsDark = blocks == .darkModules
        var lines: [String] = []
        for top in stride(from: span.lowerBound, to: span.upperBound, by: 2) {
            var line = ""
            for x in span {
                // Below the last row counts as quiet zone (light), like the edges around.
                let upper = self[x, top] == drawsDark
                let lower = (top + 1 < span.upperBound ? self[x, top + 1] : false) == drawsDark
                line.append(Self.halfBlock(upper: upper, lower: lower))
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    static func halfBlock(upper: Bool, lower: Bool) -> Character {
        switch (upper, lower) {
        case (true, true): "\u{2588}"
        case (true, false): "\u{2580}"
        case (false, true): "\u{2584}"
        case (false, false): " "
        }
    }

    /// The two encodings of a Netpbm bitmap.
    public enum PBMFormat: Sendable {
        /// "P1": one ASCII 0 or 1 per pixel, readable in a text editor.
        case plain
        /// "P4": eight pixels per byte, most significant bit first, each row padded to a byte.
        case raw
    }

    /// The symbol as a PBM image (Netpbm, where 1 is black): each module `scale` × `scale`
    /// pixels, inside a light quiet zone of `quietZone` modules (4 is the standard's minimum).
    /// An image any Netpbm-aware tool reads (`zbarimg`, ImageMagick, GIMP) without a PNG encoder.
    public func pbm(scale: Int = 4, quietZone: Int = 4, format: PBMFormat = .raw) -> Data {
        precondition(scale >= 1 && quietZone >= 0, "scale must be at least 1 and the quiet zone not negative")
        let pixelsPerSide = (size + 2 * quietZone) * scale
        let pixelRows = (0..<pixelsPerSide).map { pixelY in
            (0..<pixelsPerSide).map { pixelX in self[pixelX / scale - quietZone, pixelY / scale - quietZone] }
        }
        switch format {
        case .plain:
            var text = "P1\n\(pixelsPerSide) \(pixelsPerSide)\n"
            for row in pixelRows {
                // Netpbm asks for lines of at most 70 characters.
                let digits = row.map { $0 ? "1" : "0" }
                for start in stride(from: 0, to: digits.count, by: 70) {
                    text += digits[start..<min(start + 70, digits.count)].joined() + "\n"
                }
            }
            return Data(text.utf8)
        case .raw:
            var data = Data("P4\n\(pixelsPerSide) \(pixelsPerSide)\n".utf8)
            for row in pixelRows {
                for start in stride(from: 0, to: row.count, by: 8) {
                    let byte = (0..<8).reduce(UInt8(0)) { byte, offset in
                        let pixel = start + offset < row.count && row[start + offset]
                        return byte << 1 | (pixel ? 1 : 0)
                    }
                    data.append(byte)
                }
            }
            return data
        }
    }
}
