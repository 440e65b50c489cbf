import Connectors

/// Records read from one file, with where they start (`orders.csv line 1201`).
struct RecordBatch {
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
    func write(to sink: any RecordSink, batchSize: Int) async throws {
        while let batch = try nextBatch(upTo: batchSize) {
            try Task.checkCancellation()
            try await sink.write(batch.records, position: batch.position)
        }
    }
}
