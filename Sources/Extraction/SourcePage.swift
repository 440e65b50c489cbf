import ETLCore

/// One page of the source's `/users` answer: each user kept as the exact bytes received
/// (insignificant whitespace removed so it fits on one JSONL line), plus the envelope.
public struct SourcePage: Sendable, Equatable {
    public var users: [[UInt8]]
    /// Each user's top-level `id` as its compact JSON text (`17`, `"17"`), nil when it has none.
    public var userIDs: [String?]
    /// Indexes in `users` of the records nested deeper than `JSONNesting.maximumDepth`: they
    /// are written as they are, and the transformer dead-letters them (`nesting_too_deep`).
    public var tooDeepUsers: [Int]
    public var total: Int
    public var skip: Int
    public var limit: Int

    public init(users: [[UInt8]], userIDs: [String?]? = nil, tooDeepUsers: [Int] = [], total: Int, skip: Int, limit: Int) {
        self.users = users
        self.userIDs = userIDs ?? Array(repeating: nil, count: users.count)
        self.tooDeepUsers = tooDeepUsers
        self.total = total
        self.skip = skip
        self.limit = limit
    }

    /// Checks the page answers the request it was fetched with: the envelope's `skip` is the
    /// requested one, its `limit` is the requested one or the number of users returned (as
    /// DummyJSON does), and there are exactly as many users as the source's own `total` leaves
    /// from `skip` (up to `limit`). A source that ignores `skip` (a cache that strips query
    /// strings) or answers an empty or short page before `total` fails this check; the fetcher
    /// retries such a page like any failed request.
    public func verify(requestedLimit: Int, requestedSkip: Int) throws(PageMismatch) {
        guard skip == requestedSkip else {
            throw PageMismatch(reason: "the answer says skip=\(skip) for a request with skip=\(requestedSkip) (does something between us and the source ignore the query string?)")
        }
        let expected = min(requestedLimit, max(0, total - requestedSkip))
        guard users.count == expected else {
            throw PageMismatch(reason: "the answer holds \(users.count) users at skip=\(requestedSkip) where total=\(total) and limit=\(requestedLimit) call for \(expected)")
        }
        guard limit == requestedLimit || limit == users.count else {
            throw PageMismatch(reason: "the answer says limit=\(limit) for a request with limit=\(requestedLimit) and \(users.count) users")
        }
    }
}

/// A well-formed page that does not answer its request (see `SourcePage.verify`).
public struct PageMismatch: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { "page does not match its request: \(reason)" }
}

public struct PageParseError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public let offset: Int
    public var description: String { "unparsable page body at byte \(offset): \(reason)" }
}

/// Parses `{"users":[...],"total":T,"skip":S,"limit":N}` in one pass over the bytes,
/// without building a tree: users are sliced out as they are (through `JSONCursor`, the
/// product's one copying reader), the rest is checked and skipped. Anything that is not
/// well-formed JSON of that shape is a `PageParseError`, which the fetcher treats like any
/// other failed attempt.
///
/// Records deeper than `JSONNesting.maximumDepth` are reported in `tooDeepUsers`, not refused
/// (the transformer dead-letters them: one hostile record must not fail its whole page).
public enum SourcePageParser {
    public static func parse(_ body: [UInt8]) throws -> SourcePage {
        try body.withUnsafeBufferPointer { buffer in
            var cursor = JSONCursor(bytes: buffer)
            do throws(JSONGrammarError) {
                return try parseEnvelope(&cursor)
            } catch {
                throw PageParseError(reason: error.reason, offset: error.offset)
            }
        }
    }

    /// The top-level `id` and the nesting depth of one record line the extractor wrote (used
    /// when a run resumes, to count duplicate ids across the whole run).
    public static func recordSummary(_ line: UnsafeBufferPointer<UInt8>) throws -> (id: String?, depth: Int) {
        var cursor = JSONCursor(bytes: line)
        var ignored: [UInt8] = []
        do throws(JSONGrammarError) {
            let copied = try cursor.copyValue(into: &ignored)
            cursor.skipWhitespace()
            guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the record") }
            return (copied.id, copied.depth)
        } catch {
            throw PageParseError(reason: error.reason, offset: error.offset)
        }
    }

    private static func parseEnvelope(_ cursor: inout JSONCursor) throws(JSONGrammarError) -> SourcePage {
        var users: [[UInt8]]?
        var ids: [String?] = []
        var tooDeep: [Int] = []
        var numbers: [String: Int] = [:]
        cursor.skipWhitespace()
        try cursor.readObject { name, cursor throws(JSONGrammarError) in
            let key = String(decoding: name.raw, as: UTF8.self)
            switch key {
            case "users": users = try readUsers(&cursor, ids: &ids, tooDeep: &tooDeep)
            case "total", "skip", "limit": numbers[key] = try readInteger(&cursor)
            default: return false
            }
            return true
        }
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the JSON object") }
        guard let users else { throw cursor.failure("no \"users\" array") }
        guard let total = numbers["total"], total >= 0 else { throw cursor.failure("no non-negative integer \"total\"") }
        guard let skip = numbers["skip"], skip >= 0 else { throw cursor.failure("no non-negative integer \"skip\"") }
        guard let limit = numbers["limit"], limit >= 0 else { throw cursor.failure("no non-negative integer \"limit\"") }
        return SourcePage(users: users, userIDs: ids, tooDeepUsers: tooDeep, total: total, skip: skip, limit: limit)
    }

    private static func readUsers(_ cursor: inout JSONCursor, ids: inout [String?], tooDeep: inout [Int]) throws(JSONGrammarError) -> [[UInt8]] {
        try cursor.expect(UInt8(ascii: "["))
        var elements: [[UInt8]] = []
        cursor.skipWhitespace()
        if cursor.peek() == UInt8(ascii: "]") { cursor.position += 1; return elements }
        while true {
            cursor.skipWhitespace()
            var element: [UInt8] = []
            element.reserveCapacity(2048)
            let copied = try cursor.copyValue(into: &element)
            if copied.depth > JSONNesting.maximumDepth { tooDeep.append(elements.count) }
            elements.append(element)
            ids.append(copied.id)
            cursor.skipWhitespace()
            if cursor.peek() == UInt8(ascii: ",") { cursor.position += 1; continue }
            try cursor.expect(UInt8(ascii: "]"))
            return elements
        }
    }

    private static func readInteger(_ cursor: inout JSONCursor) throws(JSONGrammarError) -> Int {
        var raw: [UInt8] = []
        let start = cursor.position
        try cursor.copyNumber(into: &raw)
        guard let value = Int(String(decoding: raw, as: UTF8.self)) else {
            throw JSONGrammarError(offset: start, reason: "expected an integer")
        }
        return value
    }
}
