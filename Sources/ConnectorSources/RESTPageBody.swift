import ETLCore

/// What one page's body holds for the walk: its records (each the bytes of one JSON value,
/// insignificant whitespace removed), the total count and the next cursor when asked for.
struct RESTPageBody: Sendable {
    var records: [[UInt8]] = []
    var total: Int?
    var nextCursor: String?
}

/// One fetched page: its body, and the `Link` header link_header pagination follows.
struct FetchedPage: Sendable {
    var body: RESTPageBody
    var linkHeader: String?
}

/// Why a body could not be read as a page.
enum RESTBodyProblem: Error {
    /// Not JSON, or cut short (a transient fault a retry may cure).
    case notJSON(JSONGrammarError)
    /// JSON, but not of the configured shape (records_path missing or not an array...).
    case shape(String)
}

/// Where the records, the total and the next cursor are in a page's body, as dot paths.
/// Parsing is one pass over the bytes with `JSONCursor`: the records are sliced out as they
/// are (a non-object element included: the transformer dead-letters it), everything off the
/// paths is checked and skipped, and no tree is built.
struct RESTBodyLayout: Sendable {
    /// nil: the body is the records array.
    let records: [String]?
    let total: [String]?
    let cursor: [String]?

    /// `data.items` → `["data", "items"]` (an empty component stays, for validation to refuse).
    static func path(_ text: String) -> [String] {
        text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    var recordsText: String? { records?.joined(separator: ".") }

    func parse(_ body: [UInt8]) throws(RESTBodyProblem) -> RESTPageBody {
        var walk = Walk()
        let grammarError: JSONGrammarError? = body.withUnsafeBufferPointer { buffer in
            var cursor = JSONCursor(bytes: buffer)
            do throws(JSONGrammarError) {
                try read(&cursor, into: &walk)
                return nil
            } catch {
                return error
            }
        }
        if let grammarError { throw .notJSON(grammarError) }
        if let problem = walk.problems.first { throw .shape(problem) }
        guard let records = walk.records else {
            throw .shape("records_path \"\(recordsText ?? "")\" is not in the answer")
        }
        if let total, walk.total == nil {
            throw .shape("total_path \"\(total.joined(separator: "."))\" is not in the answer")
        }
        return RESTPageBody(records: records, total: walk.total, nextCursor: walk.cursor)
    }

    // MARK: The walk

    private enum Target { case records, total, cursor }

    /// What the walk found so far.
    private struct Walk {
        var records: [[UInt8]]?
        var total: Int?
        var cursor: String?
        var problems: [String] = []
    }

    private func read(_ cursor: inout JSONCursor, into walk: inout Walk) throws(JSONGrammarError) {
        cursor.skipWhitespace()
        if records == nil {
            try readValue(of: .records, named: "the body", at: &cursor, into: &walk)
        } else {
            let targets: [(Target, [String])] = [(.records, records), (.total, total), (.cursor, self.cursor)].compactMap { target, path in
                path.map { (target, $0) }
            }
            guard cursor.peek() == UInt8(ascii: "{") else {
                walk.problems.append("the answer is \(Self.describe(cursor.peek())), not an object holding records_path \"\(recordsText ?? "")\"")
                try cursor.skipValue()
                return try expectEnd(&cursor)
            }
            try visitObject(&cursor, depth: 0, targets: targets, into: &walk)
        }
        try expectEnd(&cursor)
    }

    private func expectEnd(_ cursor: inout JSONCursor) throws(JSONGrammarError) {
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the JSON value") }
    }

    /// The members of the object at the cursor that lie on a target's path, `depth` levels down.
    private func visitObject(_ cursor: inout JSONCursor, depth: Int, targets: [(Target, [String])], into walk: inout Walk) throws(JSONGrammarError) {
        try cursor.readObject { name, cursor throws(JSONGrammarError) in
            let matching = targets.filter { name.matches($0.1[depth]) }
            guard !matching.isEmpty else { return false }
            if let ending = matching.first(where: { $0.1.count == depth + 1 }) {
                try readValue(of: ending.0, named: ending.1.joined(separator: "."), at: &cursor, into: &walk)
                return true
            }
            guard cursor.peek() == UInt8(ascii: "{") else {
                for (target, path) in matching {
                    walk.problems.append("\(Self.field(target)) \"\(path.joined(separator: "."))\" passes through \(name.decoded), which is \(Self.describe(cursor.peek())), not an object")
                }
                return false
            }
            try visitObject(&cursor, depth: depth + 1, targets: matching, into: &walk)
            return true
        }
    }

    private func readValue(of target: Target, named path: String, at cursor: inout JSONCursor, into walk: inout Walk) throws(JSONGrammarError) {
        let found = cursor.peek()
        switch (target, found) {
        case (.records, .some(UInt8(ascii: "["))):
            walk.records = try Self.readRecords(&cursor)
        case (.total, let byte?) where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
            let text = try cursor.readNumber()
            guard let total = Int(text) else {
                walk.problems.append("total_path \"\(path)\" is \(text), not an integer")
                return
            }
            walk.total = total
        case (.cursor, .some(UInt8(ascii: "\""))):
            walk.cursor = try cursor.readString()
        case (.cursor, let byte?) where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
            walk.cursor = try cursor.readNumber()
        case (.cursor, .some(UInt8(ascii: "n"))):
            try cursor.skipValue()  // null: the last page
        default:
            let expected = target == .records ? "an array" : target == .total ? "an integer" : "a string or a number"
            let subject = records == nil && target == .records ? "the body" : "\(Self.field(target)) \"\(path)\""
            walk.problems.append("\(subject) is \(Self.describe(found)), not \(expected)")
            try cursor.skipValue()
        }
    }

    private static func readRecords(_ cursor: inout JSONCursor) throws(JSONGrammarError) -> [[UInt8]] {
        var records: [[UInt8]] = []
        try cursor.readArray { cursor throws(JSONGrammarError) in
            var record: [UInt8] = []
            _ = try cursor.copyValue(into: &record)
            records.append(record)
            return true
        }
        return records
    }

    private static func field(_ target: Target) -> String {
        switch target {
        case .records: "records_path"
        case .total: "total_path"
        case .cursor: "cursor_path"
        }
    }

    /// The JSON type that starts with `byte`, for messages.
    private static func describe(_ found: UInt8?) -> String {
        guard let byte = found else { return "nothing" }
        switch byte {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return "not JSON"
        }
    }
}
