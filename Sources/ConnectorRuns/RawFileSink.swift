public import Connectors
import ETLCore

/// The run's raw file as a `RecordSink`: one record per line, written off the cooperative
/// pool, under a temporary name until `commit` (synced, then renamed) makes it visible.
final class RawFileSink: RecordSink, @unchecked Sendable {
    private let file: AtomicLineFile
    private let executor: BlockingExecutor
    /// Touched only on `executor`, one batch at a time.
    private var written = 0

    init(finalPath: String, executor: BlockingExecutor) async throws {
        self.executor = executor
        file = try await executor.run { try SendableBox(AtomicLineFile(finalPath: finalPath)) }.value
    }

    func write(_ records: [[UInt8]], position: String) async throws {
        try await executor.run { [self] in
            for record in records { try file.writer.writeLine(record) }
            written += records.count
        }
    }

    var count: Int {
        get async { (try? await executor.run { [self] in written }) ?? 0 }
    }

    func commit() async throws {
        try await executor.run { [self] in try file.commit() }
    }

    func discard() async {
        _ = try? await executor.run { [self] in file.discard() }
    }
}

/// Carries a value made on a blocking executor back to the task that waits for it.
struct SendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
