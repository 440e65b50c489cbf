import ETLCore

/// Turns one raw line into one output line, byte-preserving:
///
/// - **valid**: the original bytes of the object with `,"department_code":"ENG"` inserted before
///   its closing `}` (field order, spacing and escapes of the original are kept; whitespace
///   around the object is dropped).
/// - **invalid record** (a JSON object): the original object plus
///   `"error_reason":"<messages joined by '; '>","error_codes":["…",…]`.
/// - **not an object** (`invalid_json`): `{"raw_line":"<the line as a JSON string>","error_reason":…,
///   "error_codes":["invalid_json"]}`; invalid UTF-8 in the line becomes U+FFFD there.
///   A record nested deeper than `JSONNesting.maximumDepth` is written the same way with the code
///   `nesting_too_deep`. An empty or blank line is such a record too (never skipped), so
///   `valid + invalid == lines` always holds.
public struct LineTransformer: Sendable {
    public enum Disposition: Sendable, Equatable {
        case valid
        case invalid
    }

    public let validator: RecordValidator

    public init(validator: RecordValidator) {
        self.validator = validator
    }

    /// Replaces `output`'s content with the line to write; says which file it belongs to.
    public func transform(line: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Disposition {
        output.removeAll(keepingCapacity: true)
        let verdict = self.verdict(for: line)
        switch verdict {
        case .valid(let added):
            Self.appendObject(line, to: &output, adding: !added.isEmpty) { output in
                for (index, member) in added.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    Self.appendQuoted(member.key, to: &output)
                    output.append(UInt8(ascii: ":"))
                    Self.appendQuoted(member.value, to: &output)
                }
            }
            return .valid
        case .invalid(let failures):
            if let code = failures.first?.code, code == .invalidJSON || code == .nestingTooDeep {
                output.append(contentsOf: #"{"raw_line":"#.utf8)
                Self.appendQuoted(repairing: line, to: &output)
                output.append(UInt8(ascii: ","))
                Self.appendErrors(failures, to: &output)
                output.append(UInt8(ascii: "}"))
            } else {
                Self.appendObject(line, to: &output) { Self.appendErrors(failures, to: &$0) }
            }
            return .invalid
        }
    }

    /// Convenience for tests and tools: the output line for `line` as a String.
    public func transform(_ line: String) -> (disposition: Disposition, output: String) {
        var output: [UInt8] = []
        let bytes = Array(line.utf8)
        let disposition = bytes.withUnsafeBufferPointer { transform(line: $0, into: &output) }
        return (disposition, String(decoding: output, as: UTF8.self))
    }

    /// The verdict for one raw line, `invalid_json` included.
    public func verdict(for line: UnsafeBufferPointer<UInt8>) -> RecordVerdict {
        if line.isEmpty { return .invalid([ValidationFailure(.invalidJSON, "line is empty")]) }
        let record: JSONValue
        do {
            record = try JSONParser.parse(line, keepingTopLevelKeys: validator.fields)
        } catch where error.isNestingTooDeep {
            return .invalid([ValidationFailure(
                .nestingTooDeep, "record is nested deeper than \(JSONNesting.maximumDepth) levels (at byte \(error.offset))")])
        } catch {
            let reason = line.allSatisfy(Self.isJSONWhitespace) ? "line is blank" : "line is not valid JSON: \(error)"
            return .invalid([ValidationFailure(.invalidJSON, reason)])
        }
        return validator.validate(record)
    }

    public func verdict(for line: String) -> RecordVerdict {
        Array(line.utf8).withUnsafeBufferPointer { verdict(for: $0) }
    }

    // MARK: Output

    private static func appendErrors(_ failures: [ValidationFailure], to output: inout [UInt8]) {
        output.append(contentsOf: #""error_reason":"#.utf8)
        appendQuoted(failures.map(\.message).joined(separator: "; "), to: &output)
        output.append(contentsOf: #","error_codes":["#.utf8)
        for (index, failure) in failures.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            appendQuoted(failure.code.rawValue, to: &output)
        }
        output.append(UInt8(ascii: "]"))
    }

    /// Copies a (valid, parsed) JSON object line up to its closing brace, lets `members` append
    /// the new members, and closes it. A comma is added unless the object was `{}` or there is
    /// nothing to add (`adding` false: a contract without lookups).
    private static func appendObject(
        _ line: UnsafeBufferPointer<UInt8>, to output: inout [UInt8], adding: Bool = true, members: (inout [UInt8]) -> Void
    ) {
        var start = 0
        while start < line.count, isJSONWhitespace(line[start]) { start += 1 }
        var close = line.count - 1
        while close > start, isJSONWhitespace(line[close]) { close -= 1 }
        // The parser accepted an object, so line[close] is its closing brace.
        var previous = close - 1
        while previous > start, isJSONWhitespace(line[previous]) { previous -= 1 }
        let isEmpty = previous == start
        output.append(contentsOf: UnsafeBufferPointer(rebasing: line[start..<close]))
        if !isEmpty, adding { output.append(UInt8(ascii: ",")) }
        members(&output)
        output.append(UInt8(ascii: "}"))
    }

    /// Strings as the output lines write them: every short escape JSON has (`\b`, `\f` too).
    static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        JSONWriter.appendQuoted(text, to: &output, controlEscapes: .everyShortForm)
    }

    /// A broken line as a JSON string: invalid UTF-8 sequences become U+FFFD, so the result
    /// is always valid JSON.
    private static func appendQuoted(repairing line: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        if line.allSatisfy({ $0 < 0x80 }) {
            JSONWriter.appendQuoted(utf8: line, to: &output, controlEscapes: .everyShortForm)
        } else {
            appendQuoted(String(decoding: line, as: UTF8.self), to: &output)  // String(decoding:) repairs
        }
    }

    @inline(__always) static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
