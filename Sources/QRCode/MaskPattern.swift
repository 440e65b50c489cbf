/// The eight data masks (7.8.2), each a condition on column x and row y that inverts the
/// module where it holds. Masking breaks up large areas and finder-like runs that would
/// confuse a scanner.
enum MaskPattern: Int, CaseIterable, Sendable {
    case checkerboard = 0, rows, thirdColumns, diagonals, blocks, products, productsAlternating, productsAndSums

    func inverts(x: Int, y: Int) -> Bool {
        switch self {
        case .checkerboard: (x + y) % 2 == 0
        case .rows: y % 2 == 0
        case .thirdColumns: x % 3 == 0
        case .diagonals: (x + y) % 3 == 0
        case .blocks: (x / 3 + y / 2) % 2 == 0
        case .products: (x * y) % 2 + (x * y) % 3 == 0
        case .productsAlternating: ((x * y) % 2 + (x * y) % 3) % 2 == 0
        case .productsAndSums: ((x + y) % 2 + (x * y) % 3) % 2 == 0
        }
    }

    /// The symbol masked with each pattern, its format information written (it takes part in
    /// the penalty), and the one with the lowest penalty kept; on a tie the lower-numbered
    /// mask, so the choice is deterministic. `forcing` skips the choice (tests reproducing
    /// another encoder's symbol).
    static func choose(for unmasked: ModuleMatrix, errorCorrection level: QRCode.ErrorCorrection, forcing forced: Int?)
        -> (MaskPattern, ModuleMatrix)
    {
        let candidates = forced.flatMap(MaskPattern.init(rawValue:)).map { [$0] } ?? allCases
        var best: (mask: MaskPattern, matrix: ModuleMatrix, penalty: Int)?
        for mask in candidates {
            var matrix = unmasked
            matrix.applyMask(mask)
            matrix.drawFormatInformation(BCHCode.formatInformation(level: level, mask: mask))
            let penalty = MaskPenalty.score(matrix)
            if best == nil || penalty < best!.penalty { best = (mask, matrix, penalty) }
        }
        return (best!.mask, best!.matrix)
    }
}

/// The four penalty rules of 7.8.3 (Table 11), summed over the whole symbol.
enum MaskPenalty {
    static let runWeight = 3, blockWeight = 3, finderLikeWeight = 40, balanceWeight = 10

    static func score(_ matrix: ModuleMatrix) -> Int {
        let rows = (0..<matrix.size).map { y in (0..<matrix.size).map { x in matrix[x, y] } }
        let columns = (0..<matrix.size).map { x in (0..<matrix.size).map { y in matrix[x, y] } }
        let lines = rows + columns
        return lines.map(runPenalty).reduce(0, +)
            + blockPenalty(rows)
            + lines.map(finderLikePenalty).reduce(0, +)
            + balancePenalty(rows)
    }

    /// Rule 1: every run of five or more modules of one colour in a row or column costs 3,
    /// plus 1 for each module beyond five.
    static func runPenalty(_ line: [Bool]) -> Int {
        var penalty = 0
        var runLength = 0
        for (index, module) in line.enumerated() {
            runLength = index > 0 && line[index - 1] == module ? runLength + 1 : 1
            let runEnds = index == line.count - 1 || line[index + 1] != module
            if runEnds && runLength >= 5 { penalty += runWeight + (runLength - 5) }
        }
        return penalty
    }

    /// Rule 2: each 2 × 2 block of one colour costs 3 (overlapping blocks each count, so an
    /// m × n area costs 3(m − 1)(n − 1)).
    static func blockPenalty(_ rows: [[Bool]]) -> Int {
        var penalty = 0
        for y in 0..<(rows.count - 1) {
            for x in 0..<(rows.count - 1) {
                let colour = rows[y][x]
                if rows[y][x + 1] == colour && rows[y + 1][x] == colour && rows[y + 1][x + 1] == colour {
                    penalty += blockWeight
                }
            }
        }
        return penalty
    }

    /// Rule 3: each dark-light-dark-dark-dark-light-dark run (the finder's 1:1:3:1:1) with
    /// four light modules before or after it costs 40. Beyond the edge counts as light: the
    /// quiet zone is light, so a scanner sees a finder-like pattern there too.
    static func finderLikePenalty(_ line: [Bool]) -> Int {
        let pattern = [true, false, true, true, true, false, true]
        guard line.count >= pattern.count else { return 0 }
        func isLight(_ range: Range<Int>) -> Bool {
            range.clamped(to: 0..<line.count).allSatisfy { !line[$0] }
        }
        var penalty = 0
        for start in 0...(line.count - pattern.count) where line[start..<(start + pattern.count)].elementsEqual(pattern) {
            let end = start + pattern.count
            if isLight((start - 4)..<start) || isLight(end..<(end + 4)) { penalty += finderLikeWeight }
        }
        return penalty
    }

    /// Rule 4: 10 for every full 5 % that the share of dark modules is away from 50 %.
    static func balancePenalty(_ rows: [[Bool]]) -> Int {
        let total = rows.count * rows.count
        let darkCount = rows.reduce(0) { $0 + $1.filter { $0 }.count }
        let fivePercentSteps = abs(darkCount * 2 - total) * 10 / total
        return fivePercentSteps * balanceWeight
    }
}
