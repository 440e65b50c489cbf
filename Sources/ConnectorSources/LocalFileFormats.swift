import Connectors
import ETLCore
import Foundation

/// A JSON Lines file: each non-blank line is one record, passed on as its bytes. Lines are
/// not validated here: a broken one reaches the transformer, which dead-letters it.
final class JSONLinesBatches: RecordBatches {
    private static let chunkSize = 64 * 1024

    private let file: FileHandle
    private let name: String
    private let object: String
    private let connector: String
    /// Bytes read but not yet split into lines.
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var ended = false
    /// The line (1-based) `pending[pendingStart]` is on.
    private var line = 1

    init(file: FileHandle, name: String, object: String, connector: String) {
        self.file = file
        self.name = name
        self.object = object
        self.connector = connector
    }

    func nextBatch(upTo count: Int) throws(ConnectorError) -> RecordBatch? {
        var records: [[UInt8]] = []
        var firstLine = 0
        while records.count < count, let (text, number) = try nextLine() {
            guard !text.allSatisfy(JSONGrammar.isWhitespace) else { continue }
            if records.isEmpty { firstLine = number }
            records.append(text)
        }
        return records.isEmpty ? nil : RecordBatch(records: records, position: "\(name) line \(firstLine)")
    }

    /// The next line without its line end (LF or CR LF), and its number; nil at the end of the file.
    private func nextLine() throws(ConnectorError) -> ([UInt8], Int)? {
        while true {
            if let newline = pending[pendingStart...].firstIndex(of: 0x0A) {
                var text = Array(pending[pendingStart..<newline])
                if text.last == 0x0D { text.removeLast() }
                pendingStart = newline + 1
                line += 1
                return (text, line - 1)
            }
            if ended {
                guard pendingStart < pending.count else { return nil }
                let text = Array(pending[pendingStart...])
                pendingStart = pending.count
                return (text, line)
            }
            try readChunk()
        }
    }

    private func readChunk() throws(ConnectorError) {
        pending.removeSubrange(..<pendingStart)
        pendingStart = 0
        do {
            let chunk = try file.read(upToCount: Self.chunkSize) ?? Data()
            ended = chunk.isEmpty
            pending.append(contentsOf: chunk)
        } catch {
            throw ConnectorError(.fetch, connector: connector, object: object, position: "line \(line)", "cannot read the file: \(error.localizedDescription)")
        }
    }
}

/// A file holding one JSON array: each element is one record, copied compactly. The file is
/// memory-mapped, so only the pages being read are in memory; a truncated or invalid array
/// fails with the byte offset.
final class JSONArrayBatches: RecordBatches {
    private let data: Data
    private let name: String
    private let object: String
    private let connector: String
    /// Where the next element (or, before the first, the array) starts.
    private var position = 0
    private var opened = false
    private var finished = false
    private var elementsRead = 0

    init(data: Data, name: String, object: String, connector: String) {
        self.data = data
        self.name = name
        self.object = object
        self.connector = connector
    }

    func nextBatch(upTo count: Int) throws(ConnectorError) -> RecordBatch? {
        let first = elementsRead + 1
        let result = data.withUnsafeBytes { raw in
            Result { () throws(JSONGrammarError) -> [[UInt8]] in try elements(in: raw.bindMemory(to: UInt8.self), upTo: count) }
        }
        switch result {
        case .success(let records):
            return records.isEmpty ? nil : RecordBatch(records: records, position: "\(name) element \(first)")
        case .failure(let error):
            throw ConnectorError(.fetch, connector: connector, object: object, position: "byte \(error.offset)",
                                 "not a valid JSON array: \(error.reason)")
        }
    }

    private func elements(in bytes: UnsafeBufferPointer<UInt8>, upTo count: Int) throws(JSONGrammarError) -> [[UInt8]] {
        var cursor = JSONCursor(bytes: bytes)
        cursor.position = position
        defer { position = cursor.position }
        if !opened {
            cursor.skipWhitespace()
            guard cursor.peek() == UInt8(ascii: "[") else { throw cursor.failure(cursor.isAtEnd ? "the file is empty, expected '['" : "expected '[': the file must hold one JSON array") }
            cursor.position += 1
            cursor.skipWhitespace()
            opened = true
            if cursor.peek() == UInt8(ascii: "]") { try close(&cursor) }
        }
        var records: [[UInt8]] = []
        while !finished, records.count < count {
            var element: [UInt8] = []
            _ = try cursor.copyValue(into: &element)
            records.append(element)
            elementsRead += 1
            cursor.skipWhitespace()
            switch cursor.peek() {
            case UInt8(ascii: ",")?:
                cursor.position += 1
                cursor.skipWhitespace()
                if cursor.peek() == UInt8(ascii: "]") { throw cursor.failure("trailing comma in array") }
            case UInt8(ascii: "]")?:
                try close(&cursor)
            case let byte?:
                throw cursor.failure("unexpected \(JSONGrammar.describe(byte)), expected ',' or ']'")
            case nil:
                throw cursor.failure("unterminated array (the file ends inside it)")
            }
        }
        return records
    }

    /// Past the closing bracket, which must end the file (whitespace aside).
    private func close(_ cursor: inout JSONCursor) throws(JSONGrammarError) {
        cursor.position += 1
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the array") }
        finished = true
    }
}
