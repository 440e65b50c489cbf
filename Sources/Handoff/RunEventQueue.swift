public import ETLCore

/// The three points where one stage hands a run to the next. Each has the SPEC's pub/sub
/// channel (for anyone listening live) and a Redis Stream next to it (so a stage that was
/// down still gets every run when it comes back).
public enum HandoffPoint: String, Sendable, CaseIterable {
    case phase1 = "phase1_complete"
    case phase2 = "phase2_complete"
    case phase3 = "phase3_complete"
    /// Not a hand-off: an upstream stage at work on a run (`extracting` with the users
    /// fetched so far, `transforming`), for the saver's ledger. Losing one loses nothing.
    case progress = "run_progress"

    public var channel: String { "channel:\(rawValue)" }
    public var stream: String { "stream:\(rawValue)" }
}

/// One delivery of an event to a consumer. It stays pending (and is delivered again after a
/// crash) until `acknowledge` is called, which a stage does only once its output is durable.
public struct Delivery: Sendable, Equatable {
    public let handoff: HandoffPoint
    public let messageID: String
    public let event: RunEvent
    /// How many times this message has been delivered, this one included.
    public let deliveryCount: Int

    public init(handoff: HandoffPoint, messageID: String, event: RunEvent, deliveryCount: Int) {
        self.handoff = handoff
        self.messageID = messageID
        self.event = event
        self.deliveryCount = deliveryCount
    }
}

/// The seam between stages. `RedisRunEventQueue` is the product; `InMemoryRunEventQueue`
/// lets stage logic be tested without a server.
public protocol RunEventQueue: Sendable {
    /// Durably records `event` for the next stage, then publishes it on the SPEC channel.
    func announce(_ event: RunEvent, at handoff: HandoffPoint) async throws
    /// Announces `event` only if no announcement was made with `key` at `handoff` before
    /// (atomically: of two stages racing with the same key, exactly one announces). Returns
    /// false when it was already announced. The key names what is announced (a run's transform
    /// output), so a second finder of the same output never hands it on twice.
    func announce(_ event: RunEvent, at handoff: HandoffPoint, onceFor key: String) async throws -> Bool
    /// The next delivery for `consumer` in `group`: its own unacknowledged deliveries first
    /// (after a restart), then ones abandoned by dead consumers, then new ones. Waits at most
    /// `waitMilliseconds` and returns nil when there is nothing.
    func next(at handoff: HandoffPoint, group: String, consumer: String, waitMilliseconds: Int) async throws -> Delivery?
    /// Marks a delivery done for `group`; it is never delivered to that group again.
    func acknowledge(_ delivery: Delivery, group: String) async throws
    /// Tells the queue that `consumer` is still handling `delivery`, so no other consumer
    /// claims it as abandoned however long the handling takes. Returns false when the
    /// delivery is no longer this consumer's (another one claimed it meanwhile).
    func keepClaimed(_ delivery: Delivery, group: String, consumer: String) async throws -> Bool
    /// How often a consumer calls `keepClaimed` while handling; nil when never needed.
    var claimRefreshSeconds: Double? { get }
}

extension RunEventQueue {
    /// For queues that cannot deduplicate (test doubles): always announces.
    public func announce(_ event: RunEvent, at handoff: HandoffPoint, onceFor key: String) async throws -> Bool {
        try await announce(event, at: handoff)
        return true
    }
    public func keepClaimed(_ delivery: Delivery, group: String, consumer: String) async throws -> Bool { true }
    public var claimRefreshSeconds: Double? { nil }
}

/// Stream entries that are not authentic, well-formed run events are never delivered: they
/// are logged, copied (truncated) to this stream for the operator, and acknowledged.
public enum RejectedEvents {
    public static let stream = "stream:malformed_events"
    /// At most this much of a rejected payload is kept.
    public static let excerptBytes = 1024
}
