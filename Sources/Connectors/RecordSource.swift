/// One kind of source behind the connector lifecycle: `check`, `discover`, `read`.
///
/// Records travel as the bytes of one JSON object each (no newline): the raw file's lines.
/// A source streams them to a `RecordSink` in batches, so memory stays flat however large
/// the source is. Every failure is a `ConnectorError` naming the object and the position,
/// except the sink's own errors (the disk) and `CancellationError`, which pass through.
public protocol RecordSource: Sendable {
    /// Connects and authenticates, reading as little as possible.
    func check() async throws
    /// The objects the source offers (an endpoint, a file, a table), each with up to
    /// `sampleSize` records to infer its fields from.
    func discover(sampleSize: Int) async throws -> [DiscoveredObject]
    /// Reads every record after `state` (nil: from the start) into `sink` and returns the
    /// state the next run starts from. The caller saves it only once the run's output is
    /// durable, so a crash neither loses nor repeats records.
    func read(after state: IncrementalState?, into sink: any RecordSink) async throws -> IncrementalState?
}

/// Where a source's records go: the run's raw file, or a dry run's counter.
public protocol RecordSink: Sendable {
    /// `records`: one JSON object's bytes each. `position` says where the batch came from,
    /// for messages (`page 3`, `orders.csv line 1201`).
    func write(_ records: [[UInt8]], position: String) async throws
}

/// One object a source offers, with a sample of its records and what is known about it
/// (a file's path, size and modification time).
public struct DiscoveredObject: Sendable, Equatable {
    public var name: String
    public var details: [String: String]
    public var sample: [[UInt8]]

    public init(name: String, details: [String: String] = [:], sample: [[UInt8]]) {
        self.name = name
        self.details = details
        self.sample = sample
    }
}

/// What an incremental source remembers between runs (a cursor value, a file list), as the
/// JSON text the source wrote; opaque to everything else.
public struct IncrementalState: Sendable, Equatable, Codable {
    public var json: String

    public init(json: String) {
        self.json = json
    }
}
