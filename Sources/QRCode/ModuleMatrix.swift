/// The square of modules being built: function patterns first, then the codewords, then a
/// mask and the format information that names it.
struct ModuleMatrix: Sendable {
    let version: SymbolVersion
    let size: Int
    /// Row-major, `true` for dark.
    private(set) var dark: [Bool]
    /// Finder, separator, timing and alignment patterns, format and version areas: never
    /// data, never masked.
    private(set) var isFunction: [Bool]

    /// A symbol with every function pattern drawn and the format area reserved (written once
    /// the mask is known).
    init(version: SymbolVersion) {
        self.version = version
        size = version.size
        dark = Array(repeating: false, count: size * size)
        isFunction = Array(repeating: false, count: size * size)
        drawTimingPatterns()
        drawFinderPatterns()
        drawAlignmentPatterns()
        drawFormatInformation(0)
        drawVersionInformation()
    }

    subscript(x: Int, y: Int) -> Bool {
        dark[y * size + x]
    }

    func isFunction(x: Int, y: Int) -> Bool {
        isFunction[y * size + x]
    }

    private mutating func setFunction(x: Int, y: Int, dark isDark: Bool) {
        dark[y * size + x] = isDark
        isFunction[y * size + x] = true
    }

    // MARK: Function patterns

    /// Row 6 and column 6 alternate dark and light, dark on even coordinates. Drawn first:
    /// the finders and alignment patterns drawn after cover their ends.
    private mutating func drawTimingPatterns() {
        for index in 0..<size {
            setFunction(x: 6, y: index, dark: index % 2 == 0)
            setFunction(x: index, y: 6, dark: index % 2 == 0)
        }
    }

    /// The three 7 × 7 finders (dark ring, light ring, 3 × 3 dark centre) in the corners but
    /// the bottom right, each with its one-module light separator (distance 4 from the centre).
    private mutating func drawFinderPatterns() {
        for (centerX, centerY) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = centerX + dx, y = centerY + dy
                    guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                    let ring = max(abs(dx), abs(dy))
                    setFunction(x: x, y: y, dark: ring != 2 && ring != 4)
                }
            }
        }
    }

    /// 5 × 5 patterns (dark ring, light ring, dark centre) on every pair of centre
    /// coordinates, except the three pairs that fall on a finder.
    private mutating func drawAlignmentPatterns() {
        let centers = version.alignmentCenters
        guard let first = centers.first, let last = centers.last else { return }
        for centerY in centers {
            for centerX in centers {
                if (centerX == first && centerY == first) || (centerX == first && centerY == last)
                    || (centerX == last && centerY == first) {
                    continue
                }
                for dy in -2...2 {
                    for dx in -2...2 {
                        setFunction(x: centerX + dx, y: centerY + dy, dark: max(abs(dx), abs(dy)) != 1)
                    }
                }
            }
        }
    }

    /// The 15 format bits (7.9) in both copies: around the top-left finder, and split between
    /// the bottom-left and top-right ones; plus the dark module that is always beside the
    /// bottom-left copy. Bit 0 is the least significant.
    mutating func drawFormatInformation(_ bits: Int) {
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        // Top left: down column 8 (skipping the timing row), then left along row 8.
        for index in 0...5 { setFunction(x: 8, y: index, dark: bit(index)) }
        setFunction(x: 8, y: 7, dark: bit(6))
        setFunction(x: 8, y: 8, dark: bit(7))
        setFunction(x: 7, y: 8, dark: bit(8))
        for index in 9..<15 { setFunction(x: 14 - index, y: 8, dark: bit(index)) }
        // The copy: row 8 from the right edge, then column 8 up to the bottom edge.
        for index in 0..<8 { setFunction(x: size - 1 - index, y: 8, dark: bit(index)) }
        for index in 8..<15 { setFunction(x: 8, y: size - 15 + index, dark: bit(index)) }
        setFunction(x: 8, y: size - 8, dark: true)
    }

    /// From version 7, the 18 version bits (7.10) in a 6 × 3 block above the bottom-left
    /// finder and its transpose left of the top-right one.
    private mutating func drawVersionInformation() {
        guard version.number >= 7 else { return }
        let bits = BCHCode.versionInformation(version.number)
        for index in 0..<18 {
            let isDark = (bits >> index) & 1 == 1
            let across = size - 11 + index % 3, along = index / 3
            setFunction(x: across, y: along, dark: isDark)
            setFunction(x: along, y: across, dark: isDark)
        }
    }

    // MARK: Data

    /// The codewords' bits, most significant first, in the standard's zigzag (7.7.3): column
    /// pairs from the right edge, upward then downward in turn, right module before left,
    /// skipping function modules and stepping over the vertical timing column. Modules left
    /// after the last codeword are the remainder bits and stay light.
    mutating func placeCodewords(_ codewords: [UInt8]) {
        let bitCount = codewords.count * 8
        var bitIndex = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            let upward = (right + 1) & 2 == 0
            for step in 0..<size {
                let y = upward ? size - 1 - step : step
                for x in [right, right - 1] where !isFunction(x: x, y: y) && bitIndex < bitCount {
                    dark[y * size + x] = (codewords[bitIndex >> 3] >> (7 - UInt8(bitIndex & 7))) & 1 == 1
                    bitIndex += 1
                }
            }
            right -= 2
        }
        precondition(bitIndex == bitCount, "the version's data modules hold every codeword")
    }

    /// Inverts every data module the mask selects; function modules are left as they are.
    mutating func applyMask(_ mask: MaskPattern) {
        for y in 0..<size {
            for x in 0..<size where !isFunction(x: x, y: y) && mask.inverts(x: x, y: y) {
                dark[y * size + x].toggle()
            }
        }
    }
}

/// The BCH codes that protect the format and version information.
enum BCHCode {
    /// The error-correction level's two bits and the mask's three, with the (15, 5) BCH
    /// remainder of generator 0x537, XOR-ed with 0x5412 so no format is all light (7.9.1).
    static func formatInformation(level: QRCode.ErrorCorrection, mask: MaskPattern) -> Int {
        let data = level.formatBits << 3 | mask.rawValue
        return (data << 10 | remainder(data, degree: 10, generator: 0x537)) ^ 0x5412
    }

    /// The version's six bits with the (18, 6) BCH remainder of generator 0x1F25 (7.10).
    static func versionInformation(_ version: Int) -> Int {
        version << 12 | remainder(version, degree: 12, generator: 0x1F25)
    }

    /// The remainder of `data × x^degree` divided by `generator` (of that degree), over GF(2).
    static func remainder(_ data: Int, degree: Int, generator: Int) -> Int {
        var remainder = data
        for _ in 0..<degree {
            remainder = (remainder << 1) ^ ((remainder >> (degree - 1)) & 1 == 1 ? generator : 0)
        }
        return remainder
    }
}
