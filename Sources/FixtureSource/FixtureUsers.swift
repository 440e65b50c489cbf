import ETLCore
import Foundation

/// Deterministic DummyJSON-shaped users. Every user's bytes are a pure function of
/// (seed, id, count, invalidRate), generated on demand: serving a million users needs no
/// memory beyond the page being answered.
public struct FixtureUsers: Sendable {
    /// The ways an invalid user breaks the transformer's rules (SPEC §2 "Validation").
    public enum InvalidKind: String, CaseIterable, Sendable {
        case idAsString            // "id":"17"
        case emptyFirstName        // "firstName":""
        case missingFirstName      // no firstName member
        case emailWithoutAt        // "emily.johnson17x.dummyjson.com"
        case emailWithoutDomainDot // "emily@johnson"
        case emailWithSpace        // "emily johnson17@x.dummyjson.com"
        case ageTooYoung           // 12
        case ageTooOld             // 80
        case ageAsString           // "thirty"
        case missingDepartment     // company without department
        case emptyDepartment       // "department":""
        case unknownDepartment     // "Astrology" (valid shape, not in the departments lookup)
        case severalProblems       // empty firstName, email "no-at-sign" and age 80 at once

        /// The rules this kind breaks, named by field: `id`, `firstName`, `email`, `age`, `company.department`.
        public var brokenRules: Set<String> {
            switch self {
            case .idAsString: ["id"]
            case .emptyFirstName, .missingFirstName: ["firstName"]
            case .emailWithoutAt, .emailWithoutDomainDot, .emailWithSpace: ["email"]
            case .ageTooYoung, .ageTooOld, .ageAsString: ["age"]
            case .missingDepartment, .emptyDepartment, .unknownDepartment: ["company.department"]
            case .severalProblems: ["firstName", "email", "age"]
            }
        }
    }

    /// DummyJSON's 12 departments (the transformer's lookup covers exactly these).
    public static let departments = [
        "Accounting", "Business Development", "Engineering", "Human Resources", "Legal", "Marketing",
        "Product Management", "Research and Development", "Sales", "Services", "Support", "Training",
    ]

    public let count: Int
    public let invalidRate: Double
    public let seed: UInt64
    let plan: InvalidPlan

    public init(count: Int, invalidRate: Double, seed: UInt64) {
        self.count = max(0, count)
        self.invalidRate = invalidRate.isFinite ? min(max(invalidRate, 0), 1) : 0
        self.seed = seed
        self.plan = InvalidPlan(count: self.count, invalidCount: Self.invalidCount(count: self.count, invalidRate: self.invalidRate))
    }

    /// round(invalidRate × count), clamped to [0, count].
    public static func invalidCount(count: Int, invalidRate: Double) -> Int {
        guard count > 0, invalidRate.isFinite, invalidRate > 0 else { return 0 }
        return min(count, Int((min(invalidRate, 1) * Double(count)).rounded()))
    }

    /// The users (ids 1...count) as compact JSON, one element per user.
    public static func generate(count: Int, invalidRate: Double, seed: UInt64) -> [[UInt8]] {
        let users = FixtureUsers(count: count, invalidRate: invalidRate, seed: seed)
        return (1...max(users.count, 1)).prefix(users.count).map { users.user(id: $0) }
    }

    /// The ids of the invalid users: exactly `round(invalidRate × count)` of them, spread evenly.
    public static func invalidIDs(count: Int, invalidRate: Double, seed: UInt64) -> Set<Int> {
        Set(FixtureUsers(count: count, invalidRate: invalidRate, seed: seed).invalidKinds().keys)
    }

    /// Every invalid id with the way it is broken.
    public func invalidKinds() -> [Int: InvalidKind] {
        var kinds: [Int: InvalidKind] = [:]
        for ordinal in 0..<plan.invalidCount {
            kinds[plan.id(ofInvalid: ordinal)] = kind(ofInvalid: ordinal)
        }
        return kinds
    }

    /// How user `id` is broken, or nil when it is valid.
    public func invalidKind(id: Int) -> InvalidKind? {
        plan.ordinal(ofID: id).map(kind(ofInvalid:))
    }

    private func kind(ofInvalid ordinal: Int) -> InvalidKind {
        let all = InvalidKind.allCases
        return all[(ordinal + Int(seed % UInt64(all.count))) % all.count]
    }

    /// One user's compact JSON.
    public func user(id: Int) -> [UInt8] {
        var out = JSONWriter(capacity: 1600)
        appendUser(id: id, into: &out)
        return out.bytes
    }

    /// Loads the users of a JSON file (an array of users, or DummyJSON's `{"users":[...]}`), each
    /// compacted but otherwise byte-identical (member order and number spelling kept).
    public static func load(fixtureFile: String) throws -> [[UInt8]] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: fixtureFile))
        } catch {
            throw FixtureError.unreadableFixture(path: fixtureFile, reason: "\(error.localizedDescription)")
        }
        let users: [[UInt8]]?
        do {
            users = try [UInt8](data).withUnsafeBufferPointer { try usersArray(in: $0) }
        } catch {
            throw FixtureError.invalidFixture(path: fixtureFile, reason: "not valid JSON (\(error))")
        }
        guard let users else {
            throw FixtureError.invalidFixture(path: fixtureFile, reason: "expected a JSON array of users or an object with a \"users\" array")
        }
        return users
    }

    /// The compacted elements of the top-level array, or of the top-level object's `users`
    /// array; nil for any other shape. Read through `JSONCursor`, the reader the extractor's
    /// page parser uses, so a fixture file is refused for exactly what a page would be.
    static func usersArray(in bytes: UnsafeBufferPointer<UInt8>) throws(JSONGrammarError) -> [[UInt8]]? {
        var cursor = JSONCursor(bytes: bytes)
        // A UTF-8 byte order mark (editors write one) is not JSON: skipped before reading.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { cursor.position = 3 }
        cursor.skipWhitespace()
        var users: [[UInt8]]?
        switch cursor.peek() {
        case UInt8(ascii: "["):
            users = try elements(&cursor)
        case UInt8(ascii: "{"):
            try cursor.readObject { name, cursor throws(JSONGrammarError) in
                guard name.raw.elementsEqual("users".utf8), cursor.peek() == UInt8(ascii: "[") else { return false }
                users = try elements(&cursor)
                return true
            }
        default:
            try cursor.skipValue()
        }
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the JSON value") }
        return users
    }

    private static func elements(_ cursor: inout JSONCursor) throws(JSONGrammarError) -> [[UInt8]] {
        try cursor.expect(UInt8(ascii: "["))
        var elements: [[UInt8]] = []
        cursor.skipWhitespace()
        if cursor.peek() == UInt8(ascii: "]") { cursor.position += 1; return elements }
        while true {
            var element: [UInt8] = []
            _ = try cursor.copyValue(into: &element)
            elements.append(element)
            cursor.skipWhitespace()
            if cursor.peek() == UInt8(ascii: ",") { cursor.position += 1; continue }
            try cursor.expect(UInt8(ascii: "]"))
            return elements
        }
    }
}

public enum FixtureError: Error, CustomStringConvertible, Sendable {
    case unreadableFixture(path: String, reason: String)
    case invalidFixture(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFixture(let path, let reason): "cannot read fixture file \(path): \(reason)"
        case .invalidFixture(let path, let reason): "invalid fixture file \(path): \(reason)"
        }
    }
}

/// Which ids are invalid: the k-th of m invalid users (0-based) sits at index ⌊(2k+1)·N / 2m⌋,
/// i.e. in the middle of the k-th of m equal slices, and the inverse is O(1).
struct InvalidPlan: Sendable {
    let count: Int
    let invalidCount: Int

    func id(ofInvalid ordinal: Int) -> Int {
        (2 * ordinal + 1) * count / (2 * invalidCount) + 1
    }

    func ordinal(ofID id: Int) -> Int? {
        guard invalidCount > 0, id >= 1, id <= count else { return nil }
        let index = id - 1
        let guess = index * invalidCount / count
        for candidate in max(0, guess - 1)...min(invalidCount - 1, guess + 1) where self.id(ofInvalid: candidate) == id {
            return candidate
        }
        return nil
    }
}

/// SplitMix64: tiny, fast, and identical on every platform (the fixture's users and the
/// tests' generated cases come from it).
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<upperBound (upperBound > 0).
    public mutating func below(_ upperBound: Int) -> Int {
        Int(next() % UInt64(upperBound))
    }

    public mutating func inRange(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    public mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: a ^ (b &* 0xD1B5_4A32_D192_ED03))
        _ = generator.next()
        return generator.next()
    }
}
