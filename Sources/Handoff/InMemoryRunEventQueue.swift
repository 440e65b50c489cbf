import Synchronization
public import ETLCore


/// A process-local queue with the same delivery rules as the Redis one (per-group cursor,
/// pending until acknowledged, redelivery of pending entries), for tests of stage logic.
public final class InMemoryRunEventQueue: RunEventQueue {
    private struct State {
        var entries: [HandoffPoint: [(id: String, event: RunEvent)]] = [:]
        var cursors: [String: Int] = [:]  // "handoff/group" -> next index
        var pending: [String: [String: Int]] = [:]  // "handoff/group" -> id -> delivery count
        var sequence = 0
        var announcedKeys: Set<String> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Everything announced at `handoff`, in order (what a test asserts on).
    public func announced(at handoff: HandoffPoint) -> [RunEvent] {
        state.withLock { $0.entries[handoff, default: []].map(\.event) }
    }

    /// Entries of `handoff` delivered to `group` at least once (what a test waits for).
    public func deliveredCount(at handoff: HandoffPoint, group: String) -> Int {
        state.withLock { $0.cursors["\(handoff.rawValue)/\(group)", default: 0] }
    }

    /// Entries of `handoff` delivered to `group` and not acknowledged yet.
    public func pendingCount(at handoff: HandoffPoint, group: String) -> Int {
        state.withLock { $0.pending["\(handoff.rawValue)/\(group)", default: [:]].count }
    }

    public func announce(_ event: RunEvent, at handoff: HandoffPoint) async throws {
        state.withLock { state in
            state.sequence += 1
            state.entries[handoff, default: []].append((id: "\(state.sequence)-0", event: event))
        }
    }

    public func announce(_ event: RunEvent, at handoff: HandoffPoint, onceFor key: String) async throws -> Bool {
        state.withLock { state in
            guard state.announcedKeys.insert("\(handoff.rawValue)/\(key)").inserted else { return false }
            state.sequence += 1
            state.entries[handoff, default: []].append((id: "\(state.sequence)-0", event: event))
            return true
        }
    }

    public func next(at handoff: HandoffPoint, group: String, consumer: String, waitMilliseconds: Int) async throws -> Delivery? {
        let key = "\(handoff.rawValue)/\(group)"
        let delivery: Delivery? = state.withLock { state in
            let entries = state.entries[handoff, default: []]
            if let (id, count) = state.pending[key, default: [:]].min(by: { $0.key < $1.key }),
               let entry = entries.first(where: { $0.id == id }) {
                state.pending[key]![id] = count + 1
                return Delivery(handoff: handoff, messageID: id, event: entry.event, deliveryCount: count + 1)
            }
            let cursor = state.cursors[key, default: 0]
            guard cursor < entries.count else { return nil }
            state.cursors[key] = cursor + 1
            let entry = entries[cursor]
            state.pending[key, default: [:]][entry.id] = 1
            return Delivery(handoff: handoff, messageID: entry.id, event: entry.event, deliveryCount: 1)
        }
        if delivery == nil, waitMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(min(waitMilliseconds, 50)))
        }
        return delivery
    }

    public func acknowledge(_ delivery: Delivery, group: String) async throws {
        _ = state.withLock { $0.pending["\(delivery.handoff.rawValue)/\(group)"]?.removeValue(forKey: delivery.messageID) }
    }
}
