public import ETLCore
public import Foundation
import GRDB
import PipelineSchema
#if canImport(GRDBSQLite)
import GRDBSQLite
#else
import SQLite3
#endif

/// The three per-row tables the saver fills, one per run file.
public enum LoadTable: Sendable, CaseIterable {
    case raw, processed, invalid

    /// The table's name, from its record (`PipelineSchema`).
    public var rawValue: String { plan.table }

    var plan: LoadPlan {
        switch self {
        case .raw: LoadPlan.raw
        case .processed: LoadPlan.processed
        case .invalid: LoadPlan.invalid
        }
    }
}

public enum LoadingError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String, table: String)

    public var description: String {
        switch self {
        case .missingFile(let path, let table):
            "cannot load \(table): \(path) does not exist (the run's file is missing or not complete yet)"
        }
    }
}

/// What loading one file did.
public struct LoadResult: Sendable, Equatable {
    public let table: LoadTable
    public let runID: RunID
    /// Rows now in the table for this run (one per non-blank line).
    public let rows: Int
    /// Lines stored with their text only, because they are not a JSON object.
    public let unparsedLines: Int
    public let seconds: Double

    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : Double(rows) }
}

/// Loads one run file into one table, in one transaction: the run's previous rows are
/// deleted and every line inserted again, so loading a run twice (a re-delivery, a restart)
/// never duplicates anything, and a crash mid-load leaves the previous state intact.
///
/// The file is streamed with `LineReader` (memory stays flat whatever its size), each line
/// scanned once for the columns, and inserted through one prepared statement.
public struct RunLoader: Sendable {
    public let database: PipelineDatabase

    public init(database: PipelineDatabase) {
        self.database = database
    }

    public func load(_ file: URL, into table: LoadTable, runID: RunID, now: Date = Date()) async throws -> LoadResult {
        let started = ContinuousClock.now
        let (rows, unparsed) = try await load(file, plan: table.plan, runID: runID, now: now)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return LoadResult(table: table, runID: runID, rows: rows, unparsedLines: unparsed, seconds: seconds)
    }

    /// One file into `plan`'s table in one write transaction, after `prepare` (which makes a
    /// dataset's table) in the same transaction.
    func load(_ file: URL, plan: LoadPlan, runID: RunID, now: Date,
              prepare: @escaping @Sendable (Database) throws -> Void = { _ in }) async throws -> (rows: Int, unparsed: Int) {
        let path = file.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadingError.missingFile(path: path, table: plan.table)
        }
        let insertedAt = ISO8601.string(from: now)
        return try await database.pool.write { db in
            try prepare(db)
            return try Self.load(path: path, plan: plan, runID: runID.timestamp, insertedAt: insertedAt, db: db)
        }
    }

    /// Reads and scans the file on a thread of its own while this (GRDB's writer) thread
    /// inserts: with two cores the scan and SQLite overlap. Batches are bounded, so memory
    /// stays flat whatever the file size.
    static func load(path: String, plan: LoadPlan, runID: String, insertedAt: String, db: Database) throws -> (rows: Int, unparsed: Int) {
        try db.execute(sql: plan.deleteRunSQL, arguments: [runID])
        // One prepared statement for every row of every load of this table.
        let statement = try db.cachedStatement(sql: plan.insertSQL)
        let handle = statement.sqliteStatement
        // Lines are bound with SQLITE_STATIC: no binding may outlive this load's buffers.
        defer { sqlite3_clear_bindings(handle) }
        let spec = plan.spec
        let channel = BatchChannel(capacity: 4)
        let producer = Thread {
            do {
                try scanBatches(LineReader(path: path), spec: spec, into: channel)
                channel.finish(error: nil)
            } catch {
                channel.finish(error: error)
            }
        }
        producer.name = "loader.scan"
        producer.start()
        defer { channel.cancel() }  // a failed insert stops the producer

        // run_id and inserted_at are the same for every row: bound once (reset keeps bindings).
        _ = runID.withCString { sqlite3_bind_text(handle, plan.runIDParameter, $0, -1, RowBinder.transient) }
        _ = insertedAt.withCString { sqlite3_bind_text(handle, plan.insertedAtParameter, $0, -1, RowBinder.transient) }
        var rows = 0
        var unparsed = 0
        try plan.rowBindings.withUnsafeBufferPointer { bindings in
            while let batch = try channel.take() {
                unparsed += batch.unparsed
                rows += try insert(batch, bindings: bindings, handle: handle, slotCount: spec.slotCount, sql: plan.insertSQL)
            }
        }
        return (rows, unparsed)
    }

    private static func insert(
        _ batch: LineBatch, bindings: UnsafeBufferPointer<RowBinding>, handle: OpaquePointer, slotCount: Int, sql: String
    ) throws -> Int {
        try batch.withPointers { (bytes: UnsafePointer<UInt8>, lines: UnsafePointer<LineBatch.Line>, slots: UnsafePointer<ScanSlot>) throws -> Int in
            var line = 0
            while line < batch.count {
                let binder = RowBinder(handle: handle, line: bytes + lines[line].start)
                binder.bind(bindings, line: lines[line], slots: slots + line * slotCount)
                let code = sqlite3_step(handle)
                sqlite3_reset(handle)
                guard code == SQLITE_DONE else {
                    throw DatabaseError(
                        resultCode: ResultCode(rawValue: code),
                        message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))),
                        sql: sql)
                }
                line += 1
            }
            return batch.count
        }
    }

    /// The producer: lines (non-blank) with their scanned slots, in batches.
    private static func scanBatches(_ reader: LineReader, spec: FieldSpec, into channel: BatchChannel) throws {
        let slotCount = max(spec.slotCount, 1)
        let scratch = UnsafeMutablePointer<ScanSlot>.allocate(capacity: slotCount)
        scratch.initialize(repeating: ScanSlot(), count: slotCount)
        defer { scratch.deallocate() }
        var batch = LineBatch(slotCount: spec.slotCount)
        var lineNumber = 0
        try reader.forEachLine { line in
            lineNumber += 1
            guard let base = line.baseAddress, Self.hasContent(base, line.count) else { return }  // blank: no record
            do {
                try JSONFieldScanner.scan(line, spec: spec, into: scratch)
            } catch {
                for slot in 0..<spec.slotCount { scratch[slot] = ScanSlot() }
                batch.unparsed += 1
            }
            batch.append(line, number: lineNumber, slots: UnsafeBufferPointer(start: scratch, count: spec.slotCount))
            if batch.count >= LineBatch.lines || batch.bytes.count >= LineBatch.bytes {
                guard channel.put(batch) else { throw CancellationError() }
                batch = LineBatch(slotCount: spec.slotCount)
            }
        }
        if batch.count > 0, !channel.put(batch) { throw CancellationError() }
    }

    private static func hasContent(_ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var index = 0
        while index < count {
            let byte = base[index]
            if byte != 0x20, byte != 0x09 { return true }
            index += 1
        }
        return false
    }
}

/// Binds one row's parameters straight from the line's bytes (no Swift strings on the fast
/// path). Bytes bound with `SQLITE_STATIC` stay valid until the statement is stepped and
/// reset, which happens before the line buffer is reused.
struct RowBinder {
    let handle: OpaquePointer
    let line: UnsafePointer<UInt8>
    private let chars: UnsafePointer<CChar>

    init(handle: OpaquePointer, line: UnsafePointer<UInt8>) {
        self.handle = handle
        self.line = line
        chars = UnsafeRawPointer(line).assumingMemoryBound(to: CChar.self)
    }

    /// Binds every per-row parameter of `bindings` for `line`, whose scanned members are `slots`.
    /// (A `while` over the pointer, not `for … in`: the iterator is not inlined in debug builds.)
    func bind(_ bindings: UnsafeBufferPointer<RowBinding>, line: LineBatch.Line, slots: UnsafePointer<ScanSlot>) {
        guard let first = bindings.baseAddress else { return }
        var index = 0
        while index < bindings.count {
            let binding = first[index]
            index += 1
            let parameter = binding.parameter
            switch binding.kind {
            case .lineNumber: sqlite3_bind_int64(handle, parameter, Int64(line.number))
            case .line: bytes(parameter, start: 0, length: line.length)
            case .integer: integer(parameter, slots[binding.firstSlot])
            case .text: text(parameter, slots[binding.firstSlot])
            case .real: real(parameter, slots[binding.firstSlot])
            case .errorCodes: errorCodes(parameter, slots[binding.firstSlot])
            case .firstString: text(parameter, Self.firstString(slots + binding.firstSlot, count: binding.slotCount))
            case .boolean: boolean(parameter, slots[binding.firstSlot])
            case .json: json(parameter, slots[binding.firstSlot])
            }
        }
    }

    /// The first slot holding a string, else the last one (bound as NULL by `text`).
    private static func firstString(_ slots: UnsafePointer<ScanSlot>, count: Int) -> ScanSlot {
        var index = 0
        while index < count - 1, slots[index].kind != .string { index += 1 }
        return slots[index]
    }

    /// SQLite copies the value (for buffers that do not outlive the call).
    static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    func bytes(_ index: Int32, start: Int, length: Int) {
        sqlite3_bind_text(handle, index, chars + start, Int32(length), nil)
    }

    func boolean(_ index: Int32, _ slot: ScanSlot) {
        switch slot.kind {
        case .boolTrue: sqlite3_bind_int64(handle, index, 1)
        case .boolFalse: sqlite3_bind_int64(handle, index, 0)
        default: sqlite3_bind_null(handle, index)
        }
    }

    /// A string as its text; a number, boolean, object or array as its JSON text.
    func json(_ index: Int32, _ slot: ScanSlot) {
        switch slot.kind {
        case .missing, .null: sqlite3_bind_null(handle, index)
        case .string: text(index, slot)
        case .boolTrue: sqlite3_bind_text(handle, index, "true", 4, Self.transient)
        case .boolFalse: sqlite3_bind_text(handle, index, "false", 5, Self.transient)
        case .number, .composite: bytes(index, start: slot.start, length: slot.length)
        }
    }

    /// A string member as TEXT (escapes decoded), anything else NULL.
    func text(_ index: Int32, _ slot: ScanSlot) {
        guard slot.kind == .string else {
            sqlite3_bind_null(handle, index)
            return
        }
        guard slot.escaped else {
            bytes(index, start: slot.start, length: slot.length)
            return
        }
        let decoded = JSONGrammar.unescape(UnsafeBufferPointer(start: line + slot.start, count: slot.length))
        let text = String(decoding: decoded, as: UTF8.self)
        let count = Int32(text.utf8.count)  // not -1: a decoded \u0000 must not cut the value
        text.withCString { _ = sqlite3_bind_text(handle, index, $0, count, Self.transient) }
    }

    /// An integer literal that fits in 64 bits as INTEGER, anything else NULL (`42.0`, `"42"`…).
    func integer(_ index: Int32, _ slot: ScanSlot) {
        if let value = int64(slot) {
            sqlite3_bind_int64(handle, index, value)
        } else {
            sqlite3_bind_null(handle, index)
        }
    }

    /// A finite number as REAL, anything else NULL.
    func real(_ index: Int32, _ slot: ScanSlot) {
        if let value = int64(slot) {
            sqlite3_bind_double(handle, index, Double(value))
            return
        }
        guard slot.kind == .number,
            let value = Double(String(decoding: UnsafeBufferPointer(start: line + slot.start, count: slot.length), as: UTF8.self)),
            value.isFinite
        else {
            sqlite3_bind_null(handle, index)
            return
        }
        sqlite3_bind_double(handle, index, value)
    }

    /// An integer literal's value (the scanner validated its digits), nil beyond 64 bits.
    private func int64(_ slot: ScanSlot) -> Int64? {
        guard slot.kind == .number, slot.integer else { return nil }
        var cursor = slot.start
        let stop = slot.start + slot.length
        let negative = line[cursor] == 0x2D
        if negative { cursor += 1 }
        var magnitude: UInt64 = 0
        while cursor < stop {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(line[cursor] - 0x30))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            cursor += 1
        }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// `error_codes` as a JSON array text: the array as written, a lone string wrapped, else `[]`.
    func errorCodes(_ index: Int32, _ slot: ScanSlot) {
        if slot.kind == .composite, line[slot.start] == 0x5B {
            bytes(index, start: slot.start, length: slot.length)
            return
        }
        var json = "[]"
        if slot.kind == .string, let value = ScannedValue(slot, in: UnsafeBufferPointer(start: line, count: slot.start + slot.length))?.string {
            json = RunRecord.encodeStringArray([value])
        }
        _ = json.withCString { sqlite3_bind_text(handle, index, $0, -1, Self.transient) }
    }
}

/// Lines copied out of the reader's buffer with their scan results.
struct LineBatch: Sendable {
    static let lines = 512
    static let bytes = 1 << 20

    struct Line {
        var start: Int
        var length: Int
        var number: Int
    }

    let slotCount: Int
    var bytes: [UInt8] = []
    var lines: [Line] = []
    var slots: [ScanSlot] = []
    var unparsed = 0
    var count: Int { lines.count }

    init(slotCount: Int) {
        self.slotCount = slotCount
        bytes.reserveCapacity(Self.bytes + 4096)
        lines.reserveCapacity(Self.lines)
        slots.reserveCapacity(Self.lines * slotCount)
    }

    mutating func append(_ line: UnsafeBufferPointer<UInt8>, number: Int, slots scanned: UnsafeBufferPointer<ScanSlot>) {
        lines.append(Line(start: bytes.count, length: line.count, number: number))
        bytes.append(contentsOf: line)
        slots.append(contentsOf: scanned)
    }

    func withPointers<T>(_ body: (UnsafePointer<UInt8>, UnsafePointer<Line>, UnsafePointer<ScanSlot>) throws -> T) rethrows -> T {
        // A batch always holds at least one line, so the buffers are non-empty; the dummies are never read.
        try bytes.withUnsafeBufferPointer { bytes in
            try lines.withUnsafeBufferPointer { lines in
                try slots.withUnsafeBufferPointer { slots in
                    let dummySlot = ScanSlot()
                    return try withUnsafePointer(to: dummySlot) { dummy in
                        try body(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, lines.baseAddress!, slots.baseAddress ?? dummy)
                    }
                }
            }
        }
    }
}

extension ScanSlot: @unchecked Sendable {}

/// A bounded hand-off between the scanning thread and the inserting one.
private final class BatchChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [LineBatch] = []
    private var finished = false
    private var cancelled = false
    private var failure: (any Error)?
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// False when the consumer gave up.
    func put(_ batch: LineBatch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity, !cancelled { condition.wait() }
        guard !cancelled else { return false }
        queue.append(batch)
        condition.broadcast()
        return true
    }

    func finish(error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch; nil at the end; rethrows the producer's error.
    func take() throws -> LineBatch? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty, !finished { condition.wait() }
        if !queue.isEmpty {
            let batch = queue.removeFirst()
            condition.broadcast()
            return batch
        }
        if let failure, !(failure is CancellationError) { throw failure }
        return nil
    }

    /// The consumer is done (finished or failed): unblocks and stops the producer, and waits
    /// until it has stopped, so it never outlives the transaction.
    func cancel() {
        condition.lock()
        cancelled = true
        queue.removeAll()
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
