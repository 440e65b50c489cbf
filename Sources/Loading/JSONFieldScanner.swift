import ETLCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one wanted member's value sits in the scanned line (nothing is copied).
struct ScanSlot {
    enum Kind: UInt8 {
        case missing, string, number, boolTrue, boolFalse, null
        /// An object or array, kept as its source text.
        case composite
    }

    var kind: Kind = .missing
    /// Byte range of the value in the line: a string's body without its quotes, a number's
    /// or a composite's full text.
    var start = 0
    var length = 0
    /// The string contains backslash escapes (decode with `JSONFieldScanner.unescape`).
    var escaped = false
    /// The number is an integer literal (no fraction, no exponent).
    var integer = false
}

/// Which members of a JSON object to capture, by path (`company.department`). Each path
/// gets a slot; the scanner fills the slots it finds and skips everything else. Stored as
/// flat, immutable C arrays: matching a key costs a few integer compares and one `memcmp`.
final class FieldSpec: @unchecked Sendable {
    struct Entry {
        var keyOffset: Int
        var keyLength: Int
        var firstByte: UInt8
        /// The slot filled by this member's value, or -1.
        var slot: Int
        /// The node describing this member's own members (when it is an object), or -1.
        var child: Int
    }

    let slotCount: Int
    let entries: UnsafeMutablePointer<Entry>
    /// Node `n` is the entries `nodeStart[n] ..< nodeStart[n] + nodeCount[n]`; node 0 is the line's object.
    let nodeStart: UnsafeMutablePointer<Int>
    let nodeCount: UnsafeMutablePointer<Int>
    let keys: UnsafeMutablePointer<UInt8>
    private let entryTotal: Int
    private let nodeTotal: Int
    private let keyTotal: Int

    /// `paths[i]` fills slot `i`; a path is dot-separated member names (`address.city`).
    init(paths: [String]) {
        var entryList: [Entry] = []
        var nodes: [(start: Int, count: Int)] = []
        var keyBytes: [UInt8] = []

        func build(_ paths: [(slot: Int, keys: [String])]) -> Int {
            var order: [String] = []
            var leaf: [String: Int] = [:]
            var nested: [String: [(slot: Int, keys: [String])]] = [:]
            for path in paths {
                guard let first = path.keys.first else { continue }
                if !order.contains(first) { order.append(first) }
                if path.keys.count == 1 {
                    leaf[first] = path.slot
                } else {
                    nested[first, default: []].append((path.slot, Array(path.keys.dropFirst())))
                }
            }
            let node = nodes.count
            nodes.append((entryList.count, order.count))
            let firstEntry = entryList.count
            for key in order {
                let bytes = Array(key.utf8)
                entryList.append(Entry(keyOffset: keyBytes.count, keyLength: bytes.count, firstByte: bytes.first ?? 0,
                                       slot: leaf[key] ?? -1, child: -1))
                keyBytes += bytes
            }
            for (offset, key) in order.enumerated() {
                if let children = nested[key] {
                    // Children are appended after this node's entries, which stay contiguous.
                    entryList[firstEntry + offset].child = build(children)
                }
            }
            return node
        }
        _ = build(paths.enumerated().map { ($0.offset, $0.element.split(separator: ".").map(String.init)) })

        slotCount = paths.count
        entryTotal = entryList.count
        nodeTotal = nodes.count
        keyTotal = keyBytes.count
        entries = .allocate(capacity: max(entryTotal, 1))
        entries.initialize(from: entryList, count: entryTotal)
        nodeStart = .allocate(capacity: max(nodeTotal, 1))
        nodeStart.initialize(from: nodes.map(\.start), count: nodeTotal)
        nodeCount = .allocate(capacity: max(nodeTotal, 1))
        nodeCount.initialize(from: nodes.map(\.count), count: nodeTotal)
        keys = .allocate(capacity: max(keyTotal, 1))
        keys.initialize(from: keyBytes, count: keyTotal)
    }

    deinit {
        entries.deallocate()
        nodeStart.deallocate()
        nodeCount.deallocate()
        keys.deallocate()
    }
}

struct JSONScanError: Error, CustomStringConvertible {
    let offset: Int
    let reason: String
    var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A validating, copy-free JSON scanner for one JSONL line: it checks the line is exactly one
/// JSON object and records where the members named by a `FieldSpec` are, skipping the rest.
///
/// Why not `JSONSerialization`: it builds a dictionary per line, and measured here it loads
/// about 30,000 lines/s; this scanner walks raw pointers and jumps over string bodies with
/// the product's `JSONGrammar` for strings and numbers, so the loader is bound by SQLite
/// instead. It validates the whole grammar: structure, numbers, literals, and strings (escapes,
/// surrogates, UTF-8, no raw control characters), with the product's one nesting limit.
struct JSONFieldScanner {
    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var index = 0
    private var depth = 0
    // The spec's arrays, copied out so the hot loop never touches the class (no retain/release).
    private let entries: UnsafeMutablePointer<FieldSpec.Entry>
    private let nodeStart: UnsafeMutablePointer<Int>
    private let nodeCount: UnsafeMutablePointer<Int>
    private let keys: UnsafeMutablePointer<UInt8>
    private let slots: UnsafeMutablePointer<ScanSlot>
    private static let maxDepth = JSONNesting.maximumDepth

    // Written for speed in debug builds too (the product's tests run unoptimized): raw
    // pointers, `==` on bytes rather than `switch` patterns (which call the generic `~=`).

    private init(base: UnsafePointer<UInt8>, count: Int, spec: FieldSpec, slots: UnsafeMutablePointer<ScanSlot>) {
        self.base = base
        self.end = count
        self.entries = spec.entries
        self.nodeStart = spec.nodeStart
        self.nodeCount = spec.nodeCount
        self.keys = spec.keys
        self.slots = slots
    }

    /// Scans `line` and fills `slots` (`spec.slotCount` of them); throws when the line is not
    /// exactly one JSON object, in which case the slots must be ignored.
    static func scan(_ line: UnsafeBufferPointer<UInt8>, spec: FieldSpec, into slots: UnsafeMutablePointer<ScanSlot>) throws {
        var slot = 0
        while slot < spec.slotCount {
            slots[slot] = ScanSlot()
            slot += 1
        }
        guard let base = line.baseAddress, line.count > 0 else { throw JSONScanError(offset: 0, reason: "empty line") }
        var scanner = JSONFieldScanner(base: base, count: line.count, spec: spec, slots: slots)
        scanner.skipWhitespace()
        guard scanner.index < scanner.end, base[scanner.index] == 0x7B else {
            throw JSONScanError(offset: scanner.index, reason: "the line is not a JSON object")
        }
        try scanner.scanObject(node: 0)
        scanner.skipWhitespace()
        guard scanner.index == scanner.end else {
            throw JSONScanError(offset: scanner.index, reason: "unexpected text after the object")
        }
    }

    // MARK: - Grammar (byte constants: { 0x7B, } 0x7D, [ 0x5B, ] 0x5D, " 0x22, : 0x3A, , 0x2C, \ 0x5C)

    /// At `{`; `node` is the spec node for this object's members, -1 for none.
    private mutating func scanObject(node: Int) throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        index += 1
        skipWhitespace()
        if index < end, base[index] == 0x7D {
            index += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            guard index < end, base[index] == 0x22 else { throw fail("expected a member name") }
            let keyStart = index + 1
            let keyEscaped = try skipString()
            var entry = -1
            if node >= 0 {
                entry = match(node: node, keyStart: keyStart, keyLength: index - 1 - keyStart, escaped: keyEscaped)
            }
            skipWhitespace()
            guard index < end, base[index] == 0x3A else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            guard index < end else { throw fail("expected a value") }
            if entry >= 0 {
                let child = entries[entry].child
                let slot = entries[entry].slot
                if child >= 0, base[index] == 0x7B {
                    try scanObject(node: child)
                } else if slot >= 0 {
                    try captureValue(into: slot)
                } else {
                    try skipValue()
                }
            } else {
                try skipValue()
            }
            skipWhitespace()
            guard index < end else { throw fail("unterminated object") }
            let byte = base[index]
            index += 1
            if byte == 0x2C { continue }
            if byte == 0x7D { break }
            index -= 1
            throw fail("expected ',' or '}' in an object")
        }
        depth -= 1
    }

    /// At `[`.
    private mutating func skipArray() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        index += 1
        skipWhitespace()
        if index < end, base[index] == 0x5D {
            index += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            guard index < end else { throw fail("unterminated array") }
            let byte = base[index]
            index += 1
            if byte == 0x2C { continue }
            if byte == 0x5D { break }
            index -= 1
            throw fail("expected ',' or ']' in an array")
        }
        depth -= 1
    }

    private mutating func skipValue() throws {
        guard index < end else { throw fail("expected a value") }
        let byte = base[index]
        if byte == 0x22 {
            _ = try skipString()
        } else if byte == 0x7B {
            try scanObject(node: -1)
        } else if byte == 0x5B {
            try skipArray()
        } else if byte == 0x74 {
            try expectLiteral(0x74, 0x72, 0x75, 0x65, count: 4)  // true
        } else if byte == 0x66 {
            try expectLiteral(0x66, 0x61, 0x6C, 0x73, 0x65, count: 5)  // false
        } else if byte == 0x6E {
            try expectLiteral(0x6E, 0x75, 0x6C, 0x6C, count: 4)  // null
        } else {
            _ = try skipNumber()
        }
    }

    private mutating func captureValue(into slot: Int) throws {
        let start = index
        let byte = base[index]
        if byte == 0x22 {
            let escaped = try skipString()
            slots[slot] = ScanSlot(kind: .string, start: start + 1, length: index - 1 - (start + 1), escaped: escaped)
        } else if byte == 0x7B || byte == 0x5B {
            try skipValue()
            slots[slot] = ScanSlot(kind: .composite, start: start, length: index - start)
        } else if byte == 0x74 || byte == 0x66 || byte == 0x6E {
            try skipValue()
            slots[slot] = ScanSlot(kind: byte == 0x74 ? .boolTrue : byte == 0x66 ? .boolFalse : .null, start: start, length: index - start)
        } else {
            let integer = try skipNumber()
            slots[slot] = ScanSlot(kind: .number, start: start, length: index - start, integer: integer)
        }
    }

    /// At the opening quote; ends after the closing one. Returns whether it had escapes.
    /// The product's one string grammar (`JSONGrammar`): raw control characters, bad escapes,
    /// lone surrogates and invalid UTF-8 are refused here exactly as in every other reader.
    private mutating func skipString() throws -> Bool {
        do throws(JSONGrammarError) {
            let string = try JSONGrammar.endOfString(UnsafeBufferPointer(start: base, count: end), openingQuoteAt: index)
            index = string.end
            return string.hasEscapes
        } catch {
            throw JSONScanError(offset: error.offset, reason: error.reason)
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; returns whether it is an integer literal.
    private mutating func skipNumber() throws -> Bool {
        do throws(JSONGrammarError) {
            let number = try JSONGrammar.endOfNumber(UnsafeBufferPointer(start: base, count: end), at: index)
            index = number.end
            return number.isInteger
        } catch {
            index = error.offset
            throw fail(error.reason == "invalid number, expected a digit" ? "expected a value" : error.reason)
        }
    }

    private mutating func expectLiteral(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8 = 0, count: Int) throws {
        guard index + count <= end, base[index] == b0, base[index + 1] == b1, base[index + 2] == b2, base[index + 3] == b3,
            count == 4 || base[index + 4] == b4
        else { throw fail("expected true, false or null") }
        index += count
    }

    // MARK: - Helpers

    /// The entry of `node` named by the key at `keyStart`, or -1.
    private func match(node: Int, keyStart: Int, keyLength: Int, escaped: Bool) -> Int {
        if escaped {
            let decoded = Self.unescape(UnsafeBufferPointer(start: base + keyStart, count: keyLength))
            return decoded.withUnsafeBufferPointer { match(node: node, key: $0.baseAddress, length: $0.count) }
        }
        return match(node: node, key: base + keyStart, length: keyLength)
    }

    private func match(node: Int, key: UnsafePointer<UInt8>?, length: Int) -> Int {
        guard let key else { return -1 }
        let first = nodeStart[node]
        let stop = first + nodeCount[node]
        var entry = first
        while entry < stop {
            if entries[entry].keyLength == length, length == 0 || entries[entry].firstByte == key[0],
                memcmp(keys + entries[entry].keyOffset, key, length) == 0
            {
                return entry
            }
            entry += 1
        }
        return -1
    }

    private mutating func skipWhitespace() {
        while index < end {
            let byte = base[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    private func fail(_ reason: String) -> JSONScanError {
        JSONScanError(offset: index, reason: reason)
    }

    /// Decodes the escapes of an already validated string body into UTF-8 (lone surrogates
    /// become U+FFFD).
    static func unescape(_ body: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        JSONGrammar.unescape(body)
    }
}

// MARK: - Values (for tests and slow paths)

/// A captured value decoded into Swift types.
enum ScannedValue: Equatable {
    case string(String)
    /// A number's exact source text.
    case number(String)
    case bool(Bool)
    case null
    /// The exact source text of an object or array.
    case raw(String)

    init?(_ slot: ScanSlot, in line: UnsafeBufferPointer<UInt8>) {
        let bytes = UnsafeBufferPointer(rebasing: line[slot.start..<(slot.start + slot.length)])
        switch slot.kind {
        case .missing: return nil
        case .string: self = .string(String(decoding: slot.escaped ? JSONFieldScanner.unescape(bytes) : Array(bytes), as: UTF8.self))
        case .number: self = .number(String(decoding: bytes, as: UTF8.self))
        case .boolTrue: self = .bool(true)
        case .boolFalse: self = .bool(false)
        case .null: self = .null
        case .composite: self = .raw(String(decoding: bytes, as: UTF8.self))
        }
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// An exact integer literal that fits in 64 bits.
    var int64: Int64? {
        guard case .number(let text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int64(text)
    }

    var double: Double? {
        guard case .number(let text) = self, let value = Double(text), value.isFinite else { return nil }
        return value
    }
}
