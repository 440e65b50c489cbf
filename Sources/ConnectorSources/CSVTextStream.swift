import Foundation

/// Why the text of a CSV file cannot be parsed, and where (`byte 812 (line 14)`, `line 3`).
struct CSVTextError: Error, Equatable {
    let position: String
    let reason: String
}

/// Follows the decoded text the way the CSV parser will read it (RFC 4180 quoting), to count
/// physical lines, drop the `skip_rows` lines and catch what the parser lets through
/// silently: a quoted field never closed, or a quote inside one that is not doubled.
struct CSVTextScanner {
    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    let delimiter: UInt8
    private var linesToSkip: Int
    /// The physical line (1-based) of the next byte, skipped lines included.
    private(set) var line = 1
    private var state = State.fieldStart
    private var quoteOpenedOnLine = 1
    private var previousWasCarriageReturn = false
    /// The last skipped line ended with a CR: its LF, if one follows, is skipped too.
    private var dropsLineFeed = false

    init(delimiter: UInt8, skipLines: Int) {
        self.delimiter = delimiter
        linesToSkip = skipLines
    }

    /// Appends to `output` the bytes of `text` the parser is to see.
    mutating func pass(_ text: ArraySlice<UInt8>, into output: inout [UInt8]) throws(CSVTextError) {
        for byte in text {
            // CR LF is one line end, counted at the CR.
            let endsLine = byte == 0x0D || (byte == 0x0A && !previousWasCarriageReturn)
            previousWasCarriageReturn = byte == 0x0D
            if endsLine { line += 1 }
            if linesToSkip > 0 {
                if endsLine {
                    linesToSkip -= 1
                    dropsLineFeed = byte == 0x0D
                }
                continue
            }
            if dropsLineFeed {
                dropsLineFeed = false
                if byte == 0x0A { continue }
            }
            try follow(byte)
            output.append(byte)
        }
    }

    private mutating func follow(_ byte: UInt8) throws(CSVTextError) {
        let endsField = byte == delimiter || byte == 0x0A || byte == 0x0D
        switch state {
        case .fieldStart, .unquoted:
            if state == .fieldStart, byte == UInt8(ascii: "\"") {
                state = .quoted
                quoteOpenedOnLine = line
            } else {
                state = endsField ? .fieldStart : .unquoted
            }
        case .quoted:
            if byte == UInt8(ascii: "\"") { state = .quoteInQuoted }
        case .quoteInQuoted:
            if byte == UInt8(ascii: "\"") {
                state = .quoted
            } else if endsField {
                state = .fieldStart
            } else {
                throw CSVTextError(position: "line \(line)", reason: "a quote inside a quoted field must be doubled (\"\"), or the closing quote must be followed by the delimiter or a line end")
            }
        }
    }

    /// At the end of the text: a quoted field must have been closed.
    func finish() throws(CSVTextError) {
        if state == .quoted {
            throw CSVTextError(position: "line \(quoteOpenedOnLine)", reason: "a quoted field opened on this line is never closed (the file ends inside it)")
        }
    }
}

/// The file as the CSV library reads it: decoded to UTF-8, its skipped lines dropped, in
/// chunks so memory stays flat. A problem is held back until the parser has read all the text
/// before it, so the rows before a bad byte are still read and the error names its place.
final class CSVTextStream: InputStream {
    private static let chunkSize = 64 * 1024

    private let file: FileHandle
    private var decoder: TextDecoder
    private var scanner: CSVTextScanner
    private var ready: [UInt8] = []
    private var readyStart = 0
    private var sourceEnded = false
    private var pendingFailure: CSVTextError?
    /// The problem the parser has reached: the rows it returns from here on are not to be trusted.
    private(set) var failure: CSVTextError?
    private var status = Stream.Status.notOpen

    init(file: FileHandle, encoding: CSVTextEncoding, delimiter: UInt8, skipLines: Int) {
        self.file = file
        decoder = TextDecoder(encoding: encoding)
        scanner = CSVTextScanner(delimiter: delimiter, skipLines: skipLines)
        super.init(data: Data())
    }

    override func open() { status = .open }

    override func close() {
        try? file.close()
        status = .closed
    }

    override var streamStatus: Stream.Status { status }

    /// Asked by the parser when a read fails (the base class's would trap: it has no stream of its own).
    override var streamError: (any Error)? { failure }

    override var hasBytesAvailable: Bool {
        fillIfEmpty()
        return readyStart < ready.count || pendingFailure != nil
    }

    override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength: Int) -> Int {
        fillIfEmpty()
        guard readyStart < ready.count else {
            guard let pendingFailure else { return 0 }
            failure = pendingFailure
            return -1
        }
        let count = min(maxLength, ready.count - readyStart)
        ready.withUnsafeBufferPointer { text in
            buffer.update(from: text.baseAddress! + readyStart, count: count)
        }
        readyStart += count
        return count
    }

    /// Decodes chunks until there is text for the parser, the source ends, or a problem is found.
    private func fillIfEmpty() {
        while readyStart == ready.count, !sourceEnded, pendingFailure == nil {
            ready.removeAll(keepingCapacity: true)
            readyStart = 0
            let chunk: [UInt8]
            do {
                chunk = [UInt8](try file.read(upToCount: Self.chunkSize) ?? Data())
            } catch {
                pendingFailure = CSVTextError(position: "line \(scanner.line)", reason: "cannot read the file: \(error.localizedDescription)")
                return
            }
            sourceEnded = chunk.isEmpty
            var decoded: [UInt8] = []
            decoded.reserveCapacity(chunk.count + 8)
            do throws(TextDecodingError) {
                try decoder.decode(chunk, isLast: sourceEnded, into: &decoded)
            } catch {
                passToParser(decoded[...])
                if pendingFailure == nil {
                    pendingFailure = CSVTextError(position: "byte \(error.offset) (line \(scanner.line))", reason: error.reason)
                }
                return
            }
            passToParser(decoded[...])
            if sourceEnded, pendingFailure == nil {
                do throws(CSVTextError) { try scanner.finish() } catch { pendingFailure = error }
            }
        }
    }

    private func passToParser(_ text: ArraySlice<UInt8>) {
        do throws(CSVTextError) { try scanner.pass(text, into: &ready) } catch { pendingFailure = error }
    }
}
