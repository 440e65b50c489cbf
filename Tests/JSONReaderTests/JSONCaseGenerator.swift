import FixtureSource

extension SplitMix64 {
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &self) < percent }
}

/// Seeded, deterministic JSON texts for the differential tests: valid documents built from a
/// random tree, and mutations of them (and of the committed corpus) aimed at the places where
/// readers go wrong: string bodies, escapes, UTF-8, numbers, separators, nesting.
struct JSONCaseGenerator {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    // MARK: Valid documents

    /// A valid document: mostly objects (records), sometimes any value, sometimes nested deep
    /// around the product's limit.
    mutating func document() -> [UInt8] {
        var out: [UInt8] = []
        space(&out)
        if random.chance(4) {
            deepChain(&out, depth: Int.random(in: 250...262, using: &random))
        } else if random.chance(80) {
            object(&out, depth: 1)
        } else {
            value(&out, depth: 1)
        }
        space(&out)
        return out
    }

    private mutating func value(_ out: inout [UInt8], depth: Int) {
        let roll = Int.random(in: 0..<100, using: &random)
        if depth < 6, roll < 15 { return object(&out, depth: depth) }
        if depth < 6, roll < 25 { return array(&out, depth: depth) }
        switch roll {
        case ..<55: string(&out)
        case ..<80: number(&out)
        case ..<87: out += Array("true".utf8)
        case ..<94: out += Array("false".utf8)
        default: out += Array("null".utf8)
        }
    }

    private mutating func object(_ out: inout [UInt8], depth: Int) {
        out.append(UInt8(ascii: "{"))
        let count = Int.random(in: 0...6, using: &random)
        for index in 0..<count {
            if index > 0 { space(&out); out.append(UInt8(ascii: ",")) }
            space(&out)
            if random.chance(30) { out += Array(#""id""#.utf8) } else { string(&out) }
            space(&out)
            out.append(UInt8(ascii: ":"))
            space(&out)
            value(&out, depth: depth + 1)
        }
        space(&out)
        out.append(UInt8(ascii: "}"))
    }

    private mutating func array(_ out: inout [UInt8], depth: Int) {
        out.append(UInt8(ascii: "["))
        let count = Int.random(in: 0...5, using: &random)
        for index in 0..<count {
            if index > 0 { space(&out); out.append(UInt8(ascii: ",")) }
            space(&out)
            value(&out, depth: depth + 1)
        }
        space(&out)
        out.append(UInt8(ascii: "]"))
    }

    /// `{"id":1,"d":{"d":…}}` or `[[[…]]]` exactly `depth` containers deep.
    private mutating func deepChain(_ out: inout [UInt8], depth: Int) {
        let objects = random.chance(50)
        if objects {
            out += Array(#"{"id":1,"d":"#.utf8)
            for _ in 1..<depth { out += Array(#"{"d":"#.utf8) }
            out.append(UInt8(ascii: "0"))
            for _ in 0..<depth { out.append(UInt8(ascii: "}")) }
        } else {
            for _ in 0..<depth { out.append(UInt8(ascii: "[")) }
            for _ in 0..<depth { out.append(UInt8(ascii: "]")) }
        }
    }

    private mutating func space(_ out: inout [UInt8]) {
        guard random.chance(25) else { return }
        for _ in 0..<Int.random(in: 1...3, using: &random) { out.append([0x20, 0x09, 0x0A, 0x0D].randomElement(using: &random)!) }
    }

    private static let escapes = [#"\""#, #"\\"#, #"\/"#, #"\b"#, #"\f"#, #"\n"#, #"\r"#, #"\t"#, #"\u0000"#, #"\u001f"#,
                                  #"\u00e9"#, #"\u20AC"#, #"\uD83D\uDE00"#, #"\uFFFF"#, #"\u0041"#]
    private static let raw = ["a", "Z", " ", "é", "€", "😀", "\u{7F}", "\u{FFFD}", "e\u{301}", "\u{10FFFF}", "-", "'", "{", "]", ",", ":"]

    private mutating func string(_ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            if random.chance(25) {
                out += Array(Self.escapes.randomElement(using: &random)!.utf8)
            } else {
                out += Array(Self.raw.randomElement(using: &random)!.utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private mutating func number(_ out: inout [UInt8]) {
        var text = random.chance(30) ? "-" : ""
        text += random.chance(20) ? "0" : String(Int.random(in: 1...999_999, using: &random))
        if random.chance(30) { text += "." + String(Int.random(in: 0...9999, using: &random)) }
        if random.chance(20) {
            text += ["e", "E"].randomElement(using: &random)! + ["", "+", "-"].randomElement(using: &random)!
                + String(Int.random(in: 0...400, using: &random))
        }
        if random.chance(3) { text = "123456789012345678901234567890" }
        out += Array(text.utf8)
    }

    // MARK: Mutations

    /// Bytes a mutation inserts: the ones readers disagree about.
    private static let interesting: [[UInt8]] = [
        [0x00], [0x0A], [0x09], [0x0D], [0x1F], [0x5C], [0x22], [0x5C, 0x0A], [0x5C, 0x0D, 0x0A], [0x5C, 0x09],
        Array(#"\u"#.utf8), Array(#"\uD800"#.utf8), Array(#"\uDC00"#.utf8), Array(#"\x41"#.utf8), Array(#"\'"#.utf8),
        [0x80], [0xC0, 0xAF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xEF, 0xBB, 0xBF],
        Array(",".utf8), Array("]".utf8), Array("}".utf8), Array("[".utf8), Array("{".utf8), Array(":".utf8),
        Array("+".utf8), Array(".".utf8), Array("0".utf8), Array("e".utf8), Array("-".utf8), Array(" ".utf8),
        Array("NaN".utf8), Array("tru".utf8), Array("//".utf8), [0x0C], [0xC2, 0xA0],
    ]

    /// One to three random edits of `input`.
    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0, 1:
                bytes.insert(contentsOf: Self.interesting.randomElement(using: &random)!, at: position)
            case 2 where position < bytes.count:
                bytes.remove(at: position)
            case 3 where position < bytes.count:
                bytes[position] = Self.interesting.randomElement(using: &random)!.first!
            case 4:
                bytes = Array(bytes.prefix(position))
            default:
                // Duplicate a short range (repeats a member, a comma, a quote...).
                let end = min(bytes.count, position + Int.random(in: 1...6, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            }
        }
        return bytes
    }
}
