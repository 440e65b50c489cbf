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
    /// The string contains backslash escapes (decode with `JSONGrammar.unescape`).
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

    /// The entry of `node` for the member `name`, or -1.
    func entry(of node: Int, named name: JSONMemberName) -> Int {
        guard name.hasEscapes else { return entry(of: node, key: name.raw) }
        return JSONGrammar.unescape(name.raw).withUnsafeBufferPointer { entry(of: node, key: $0) }
    }

    private func entry(of node: Int, key: UnsafeBufferPointer<UInt8>) -> Int {
        let length = key.count
        let first = nodeStart[node]
        let stop = first + nodeCount[node]
        var entry = first
        while entry < stop {
            if entries[entry].keyLength == length,
                length == 0 || (entries[entry].firstByte == key[0] && memcmp(keys + entries[entry].keyOffset, key.baseAddress!, length) == 0)
            {
                return entry
            }
            entry += 1
        }
        return -1
    }

    deinit {
        entries.deallocate()
        nodeStart.deallocate()
        nodeCount.deallocate()
        keys.deallocate()
    }
}

/// Reads the members named by a `FieldSpec` out of one JSONL line through the product's one
/// reader (`JSONCursor`): the line must be exactly one JSON object within the product's
/// nesting limit; wanted members are recorded where they sit (nothing is copied) and every
/// other member is validated and skipped in place.
///
/// Why not `JSONSerialization`: it builds a dictionary per line, and measured here it loads
/// about 30,000 lines/s; skipping in place keeps the loader bound by SQLite instead.
enum JSONFieldScanner {
    /// Scans `line` and fills `slots` (`spec.slotCount` of them); throws when the line is not
    /// exactly one JSON object, in which case the slots must be ignored.
    static func scan(_ line: UnsafeBufferPointer<UInt8>, spec: FieldSpec, into slots: UnsafeMutablePointer<ScanSlot>) throws(JSONGrammarError) {
        clear(slots, count: spec.slotCount)
        var cursor = JSONCursor(bytes: line, maximumDepth: JSONNesting.maximumDepth)
        cursor.skipWhitespace()
        guard cursor.peek() == 0x7B else { throw cursor.failure("the line is not a JSON object") }
        try scanObject(&cursor, node: 0, spec: spec, slots: slots)
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.failure("unexpected text after the object") }
    }

    private static func clear(_ slots: UnsafeMutablePointer<ScanSlot>, count: Int) {
        var slot = 0
        while slot < count {
            slots[slot] = ScanSlot()
            slot += 1
        }
    }

    /// At `{`; `node` is the spec node for this object's members.
    private static func scanObject(
        _ cursor: inout JSONCursor, node: Int, spec: FieldSpec, slots: UnsafeMutablePointer<ScanSlot>
    ) throws(JSONGrammarError) {
        try cursor.readObject { name, cursor throws(JSONGrammarError) in
            let entry = spec.entry(of: node, named: name)
            guard entry >= 0 else { return false }
            let child = spec.entries[entry].child
            let slot = spec.entries[entry].slot
            if child >= 0, cursor.peek() == 0x7B {
                try scanObject(&cursor, node: child, spec: spec, slots: slots)
            } else if slot >= 0 {
                try capture(&cursor, into: slots + slot)
            } else {
                return false
            }
            return true
        }
    }

    private static func capture(_ cursor: inout JSONCursor, into slot: UnsafeMutablePointer<ScanSlot>) throws(JSONGrammarError) {
        let start = cursor.position
        switch cursor.peek() {
        case 0x22?:
            let string = try JSONGrammar.endOfString(cursor.bytes, openingQuoteAt: start)
            cursor.position = string.end
            slot.pointee = ScanSlot(kind: .string, start: start + 1, length: string.end - 2 - start, escaped: string.hasEscapes)
        case let byte? where byte == 0x2D || (byte >= 0x30 && byte <= 0x39):
            let number = try JSONGrammar.endOfNumber(cursor.bytes, at: start)
            cursor.position = number.end
            slot.pointee = ScanSlot(kind: .number, start: start, length: number.end - start, integer: number.isInteger)
        case let byte:
            try cursor.skipValue()
            let kind: ScanSlot.Kind = byte == 0x74 ? .boolTrue : byte == 0x66 ? .boolFalse : byte == 0x6E ? .null : .composite
            slot.pointee = ScanSlot(kind: kind, start: start, length: cursor.position - start)
        }
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
        case .string: self = .string(String(decoding: slot.escaped ? JSONGrammar.unescape(bytes) : Array(bytes), as: UTF8.self))
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
