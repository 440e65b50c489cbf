import Synchronization
public import ETLCore
import Foundation
public import Logging
import RedisClient

/// The product's handoff: each `HandoffPoint` is a Redis Stream with one consumer group per
/// downstream stage, next to the SPEC's pub/sub channel.
///
/// Why a stream as well as PUBLISH: pub/sub forgets a message nobody was listening to;
/// a stream keeps it until every group acknowledged it, so a stage that was down, killed or
/// restarting still gets every run. Entries stay pending per consumer until `acknowledge`,
/// and entries left pending by a consumer that died are reclaimed with `XAUTOCLAIM`.
///
/// Every entry is signed (`sig`, HMAC-SHA256 with `EVENT_HMAC_KEY`, see `EventAuthenticator`)
/// and nothing is believed on reading: an entry that is too large, unsigned, badly signed or
/// not a valid run event (`RunEvent.decode`) is logged, copied in excerpt to
/// `stream:malformed_events`, acknowledged, and never handed to a stage.
public final class RedisRunEventQueue: RunEventQueue {
    /// Entry field that carries the event's JSON.
    static let payloadField = "payload"
    /// Entry field that carries the payload's HMAC-SHA256 (hex).
    static let signatureField = "sig"
    /// Announcement keys of `announce(_:at:onceFor:)` expire after this long (a month: far
    /// longer than any re-delivery; the saver's ledger check covers anything later).
    static let announcedKeySeconds = 30 * 86_400
    /// Streams are trimmed to about this many entries (runs are daily; this is years).
    static let maxStreamLength = 100_000

    private let writer: RedisConnection
    private let reader: RedisConnection
    private let writeExecutor = BlockingExecutor(label: "redis.queue.writer")
    private let readExecutor = BlockingExecutor(label: "redis.queue.reader")
    private let logger: Logger
    private let authenticator: EventAuthenticator
    /// A pending entry idle this long belongs to a consumer presumed dead and may be claimed.
    private let claimIdleMilliseconds: Int
    private let createdGroups = Mutex<Set<String>>([])

    /// `claimIdleMilliseconds` is `CLAIM_IDLE_SECONDS`: consumers refresh their entry every
    /// third of it (`keepClaimed`), so only the entries of dead consumers reach it.
    public init(
        url: String, eventKey: String, logger: Logger,
        claimIdleMilliseconds: Int = Int(Settings.claimIdleSeconds.defaultValue * 1000)
    ) throws {
        let endpoint = try RedisEndpoint(url: url)
        authenticator = try EventAuthenticator(secret: eventKey)
        writer = RedisConnection(endpoint: endpoint)
        reader = RedisConnection(endpoint: endpoint)
        self.logger = logger
        self.claimIdleMilliseconds = claimIdleMilliseconds
    }

    public func announce(_ event: RunEvent, at handoff: HandoffPoint) async throws {
        let payload = event.jsonString()
        let signature = authenticator.signature(of: payload, for: handoff.stream)
        try await writeExecutor.run { [writer] in
            try writer.command([
                "XADD", handoff.stream, "MAXLEN", "~", String(Self.maxStreamLength), "*",
                Self.payloadField, payload, Self.signatureField, signature,
            ])
            try writer.command(["PUBLISH", handoff.channel, payload])
        }
        logger.debug("announced", metadata: ["run_id": "\(event.runID)", "stream": "\(handoff.stream)", "status": "\(event.status.rawValue)"])
    }

    /// `SET key NX` and `XADD` in one script: two announcers racing with the same key (the
    /// transformer's catch-up scan and its stream consumer, two replicas) add one entry.
    public func announce(_ event: RunEvent, at handoff: HandoffPoint, onceFor key: String) async throws -> Bool {
        let payload = event.jsonString()
        let signature = authenticator.signature(of: payload, for: handoff.stream)
        let reply = try await writeExecutor.run { [writer] in
            try writer.command([
                "EVAL", Self.announceOnceScript, "2", handoff.stream, "handoff:announced:\(handoff.rawValue):\(key)",
                String(Self.maxStreamLength), Self.payloadField, payload, Self.signatureField, signature, handoff.channel,
                String(Self.announcedKeySeconds),
            ])
        }
        let announced = reply.integer == 1
        logger.debug(announced ? "announced" : "already announced", metadata: [
            "run_id": "\(event.runID)", "stream": "\(handoff.stream)", "status": "\(event.status.rawValue)", "key": "\(key)",
        ])
        return announced
    }

    static let announceOnceScript = """
        if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[7]) then return 0 end
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[3], ARGV[4], ARGV[5])
        redis.call('PUBLISH', ARGV[6], ARGV[3])
        return 1
        """

    public func next(at handoff: HandoffPoint, group: String, consumer: String, waitMilliseconds: Int) async throws -> Delivery? {
        try await ensureGroup(group, at: handoff)
        let claimIdle = claimIdleMilliseconds
        let entry = try await forgettingLostGroup(group, at: handoff) { try await self.readExecutor.run { [reader] () -> StreamEntry? in
            let stream = handoff.stream
            // 1. This consumer's own unacknowledged entries (a restart, or a failed handling).
            if let entry = try Self.firstEntry(of: reader.command(
                ["XREADGROUP", "GROUP", group, consumer, "COUNT", "1", "STREAMS", stream, "0"]).array?.first) {
                return entry
            }
            // 2. Entries abandoned by consumers that have been silent for `claimIdle`.
            let claimed = try reader.command(
                ["XAUTOCLAIM", stream, group, consumer, String(claimIdle), "0-0", "COUNT", "1"])
            if let entries = claimed.array, entries.count >= 2, let entry = Self.entry(entries[1].array?.first) {
                return entry
            }
            // 3. New entries, waiting up to `waitMilliseconds` for one.
            let fresh = try reader.command(
                ["XREADGROUP", "GROUP", group, consumer, "COUNT", "1", "BLOCK", String(max(waitMilliseconds, 1)), "STREAMS", stream, ">"])
            return Self.firstEntry(of: fresh.array?.first)
        } }
        guard let entry else { return nil }
        return try await delivery(of: entry, at: handoff, group: group)
    }

    public func acknowledge(_ delivery: Delivery, group: String) async throws {
        _ = try await writeExecutor.run { [writer] in
            try writer.command(["XACK", delivery.handoff.stream, group, delivery.messageID])
        }
    }

    public var claimRefreshSeconds: Double? { Double(claimIdleMilliseconds) / 3000 }

    /// Resets the entry's idle time with `XCLAIM … JUSTID` (which does not count a delivery),
    /// but only while the entry is still pending for `consumer`: checked and claimed in one
    /// script, so a consumer never takes back an entry another one already claimed.
    public func keepClaimed(_ delivery: Delivery, group: String, consumer: String) async throws -> Bool {
        let reply = try await writeExecutor.run { [writer] in
            try writer.command([
                "EVAL", Self.keepClaimedScript, "1", delivery.handoff.stream, group, consumer, delivery.messageID,
            ])
        }
        return reply.integer == 1
    }

    static let keepClaimedScript = """
        local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
        if #pending == 0 then return 0 end
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
        return 1
        """

    // MARK: - Internals

    /// A Redis that restarted without its data (or lost the last second of it) no longer
    /// knows the group: forget that it was created, so the next call creates it again.
    private func forgettingLostGroup<T: Sendable>(_ group: String, at handoff: HandoffPoint, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError {
            if case .server(_, let message) = error, message.hasPrefix("NOGROUP") {
                let key = "\(handoff.stream)/\(group)"
                _ = createdGroups.withLock { $0.remove(key) }
                logger.warning("consumer group missing on the server; it will be created again", metadata: ["stream": "\(handoff.stream)", "group": "\(group)"])
            }
            throw error
        }
    }

    private struct StreamEntry: Sendable {
        let id: String
        let payload: String?
        let signature: String?
    }

    /// Creates the group reading the stream from its start, so a group created after
    /// runs were announced still sees them. Existing groups are fine (BUSYGROUP).
    private func ensureGroup(_ group: String, at handoff: HandoffPoint) async throws {
        let key = "\(handoff.stream)/\(group)"
        guard !createdGroups.withLock({ $0.contains(key) }) else { return }
        try await writeExecutor.run { [writer] in
            let reply = try writer.send(["XGROUP", "CREATE", handoff.stream, group, "0", "MKSTREAM"])
            if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") {
                throw RedisError.server(command: "XGROUP CREATE", message: message)
            }
        }
        createdGroups.withLock { _ = $0.insert(key) }
    }

    /// Turns an entry into a delivery, or refuses it (see the type's comment): a refused
    /// entry is acknowledged rather than redelivered forever, and never reaches a stage.
    private func delivery(of entry: StreamEntry, at handoff: HandoffPoint, group: String) async throws -> Delivery? {
        do {
            let event = try authenticEvent(entry, at: handoff)
            let count = try await deliveryCount(of: entry.id, at: handoff, group: group)
            return Delivery(handoff: handoff, messageID: entry.id, event: event, deliveryCount: count)
        } catch let rejection as EventRejection {
            try await reject(entry, at: handoff, group: group, because: rejection)
            return nil
        }
    }

    /// Size first (before any work on the payload), then the signature, then the content.
    private func authenticEvent(_ entry: StreamEntry, at handoff: HandoffPoint) throws(EventRejection) -> RunEvent {
        guard let payload = entry.payload else { throw .malformed("no payload field") }
        let bytes = payload.utf8.count
        guard bytes <= RunEvent.Limits.payloadBytes else { throw .tooLarge(bytes: bytes, limit: RunEvent.Limits.payloadBytes) }
        guard let signature = entry.signature else { throw .unsigned }
        guard authenticator.isAuthentic(payload, for: handoff.stream, signature: signature) else { throw .badSignature }
        do {
            return try RunEvent.decode(payload)
        } catch let rejection as EventRejection {
            throw rejection
        } catch {
            throw .malformed("\(error)")
        }
    }

    private func reject(_ entry: StreamEntry, at handoff: HandoffPoint, group: String, because rejection: EventRejection) async throws {
        let payload = entry.payload ?? ""
        logger.error("rejected an event; acknowledged without processing it", metadata: [
            "message_id": "\(entry.id)", "stream": "\(handoff.stream)", "reason": "\(rejection)",
            "payload_bytes": "\(payload.utf8.count)",
        ])
        let excerpt = String(decoding: payload.utf8.prefix(RejectedEvents.excerptBytes), as: UTF8.self)
        try await writeExecutor.run { [writer] in
            try writer.command(["XADD", RejectedEvents.stream, "MAXLEN", "~", "10000", "*",
                                "source", handoff.stream, "id", entry.id, "reason", "\(rejection)",
                                "payload_bytes", String(payload.utf8.count), "excerpt", excerpt])
            try writer.command(["XACK", handoff.stream, group, entry.id])
        }
    }

    private func deliveryCount(of id: String, at handoff: HandoffPoint, group: String) async throws -> Int {
        try await readExecutor.run { [reader] in
            let reply = try reader.command(["XPENDING", handoff.stream, group, id, id, "1"])
            return Int(reply.array?.first?.array?[3].integer ?? 1)
        }
    }

    /// `[stream, [[id, [field, value, ...]], ...]]` → its first entry.
    private static func firstEntry(of streamReply: RedisReply?) -> StreamEntry? {
        guard let parts = streamReply?.array, parts.count == 2 else { return nil }
        return entry(parts[1].array?.first)
    }

    /// `[id, [field, value, ...]]` → entry; a trimmed entry has a null field list.
    private static func entry(_ reply: RedisReply?) -> StreamEntry? {
        guard let parts = reply?.array, parts.count == 2, let id = parts[0].text else { return nil }
        let fields = parts[1].array ?? []
        var payload: String?
        var signature: String?
        var index = 0
        while index + 1 < fields.count {
            switch fields[index].text {
            case payloadField: payload = fields[index + 1].text
            case signatureField: signature = fields[index + 1].text
            default: break
            }
            index += 2
        }
        return StreamEntry(id: id, payload: payload, signature: signature)
    }
}
