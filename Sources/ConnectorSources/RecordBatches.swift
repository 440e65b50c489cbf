import Connectors
import ETLCore

/// Records read from one file, with where they start (`orders.csv line 1201`).
struct RecordBatch: Sendable {
    var records: [[UInt8]]
    var position: String
}

/// A file's records, read a batch at a time so that memory holds one batch, never the file.
protocol RecordBatches: AnyObject {
    /// Up to `count` records from where the reading is; nil once there are none left.
    func nextBatch(upTo count: Int) throws(ConnectorError) -> RecordBatch?
}

extension RecordBatches {
    /// Every remaining record to `sink`, at most `batchSize` a write; stops at cancellation.
    /// Each batch is read and decoded on a thread of its own: a file read and its parsing are
    /// blocking, CPU-heavy work that must not hold one of the cooperative pool's two threads.
    func write(to sink: any RecordSink, batchSize: Int) async throws {
        let reader = ReaderBox(self)
        let executor = BlockingExecutor(label: "connector.file-read")
        while let batch = try await executor.run({ () throws -> RecordBatch? in try reader.batches.nextBatch(upTo: batchSize) }) {
            try Task.checkCancellation()
            try await sink.write(batch.records, position: batch.position)
        }
    }
}

/// The reader crosses to the executor's thread and back, one batch at a time: never used by
/// two threads at once.
private final class ReaderBox<Batches: RecordBatches>: @unchecked Sendable {
    let batches: Batches
    init(_ batches: Batches) { self.batches = batches }
}
