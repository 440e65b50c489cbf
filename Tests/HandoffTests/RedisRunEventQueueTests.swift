import ETLCore
import Foundation
import Handoff
import Logging
import RedisClient
import TestSupport
import Testing

@Suite("Redis handoff on a real redis-server")
struct RedisRunEventQueueTests {
    let logger = Logger(label: "test")

    func event(_ seconds: Int) -> RunEvent {
        var event = RunEvent(runID: RunID(date: Date(timeIntervalSince1970: 1_700_000_000 + Double(seconds))), status: .extracted)
        event.extractedCount = seconds
        return event
    }

    @Test func announcedRunsReachAGroupCreatedLater() async throws {
        let redis = try await RedisServer.start()
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        // Announced while no stage is listening: pub/sub alone would drop these.
        try await queue.announce(event(1), at: .phase1)
        try await queue.announce(event(2), at: .phase1)
        let first = try #require(try await queue.next(at: .phase1, group: "transformer", consumer: "a", waitMilliseconds: 100))
        #expect(first.event == event(1))
        #expect(first.deliveryCount == 1)
        try await queue.acknowledge(first, group: "transformer")
        let second = try #require(try await queue.next(at: .phase1, group: "transformer", consumer: "a", waitMilliseconds: 100))
        #expect(second.event == event(2))
        try await queue.acknowledge(second, group: "transformer")
        #expect(try await queue.next(at: .phase1, group: "transformer", consumer: "a", waitMilliseconds: 100) == nil)
    }

    @Test func unacknowledgedDeliveryComesBackAfterARestartWithItsCount() async throws {
        let redis = try await RedisServer.start()
        try await RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger).announce(event(3), at: .phase2)
        let crashed = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        let lost = try #require(try await crashed.next(at: .phase2, group: "saver", consumer: "saver-1", waitMilliseconds: 100))
        // The process "dies" without acknowledging; the same consumer name comes back.
        let restarted = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        let again = try #require(try await restarted.next(at: .phase2, group: "saver", consumer: "saver-1", waitMilliseconds: 100))
        #expect(again.messageID == lost.messageID)
        #expect(again.deliveryCount == 2)
    }

    @Test func entriesOfADeadConsumerAreClaimedByAnother() async throws {
        let redis = try await RedisServer.start()
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger, claimIdleMilliseconds: 50)
        try await queue.announce(event(4), at: .phase1)
        let taken = try #require(try await queue.next(at: .phase1, group: "transformer", consumer: "dead", waitMilliseconds: 100))
        try await Task.sleep(for: .milliseconds(120))
        let claimed = try #require(try await queue.next(at: .phase1, group: "transformer", consumer: "alive", waitMilliseconds: 100))
        #expect(claimed.messageID == taken.messageID)
        #expect(claimed.event == event(4))
    }

    @Test func twoGroupsEachGetEveryRunAndReplicasShareOne() async throws {
        let redis = try await RedisServer.start()
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        for second in 10..<14 { try await queue.announce(event(second), at: .phase3) }
        var seenByReplicas: [Int] = []
        for consumer in ["r1", "r2", "r1", "r2"] {
            let delivery = try #require(try await queue.next(at: .phase3, group: "g1", consumer: consumer, waitMilliseconds: 100))
            seenByReplicas.append(delivery.event.extractedCount ?? -1)
            try await queue.acknowledge(delivery, group: "g1")
        }
        #expect(seenByReplicas == [10, 11, 12, 13])
        let other = try #require(try await queue.next(at: .phase3, group: "g2", consumer: "x", waitMilliseconds: 100))
        #expect(other.event.extractedCount == 10)
    }

    @Test func malformedEntriesAreSetAsideNotRedelivered() async throws {
        let redis = try await RedisServer.start()
        let raw = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        try raw.command(["XADD", HandoffPoint.phase1.stream, "*", "payload", "{not json"])
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        try await queue.announce(event(5), at: .phase1)
        // The bad entry is skipped (nil), the good one follows.
        var delivered: [RunEvent] = []
        for _ in 0..<3 {
            if let delivery = try await queue.next(at: .phase1, group: "t", consumer: "c", waitMilliseconds: 50) {
                delivered.append(delivery.event)
                try await queue.acknowledge(delivery, group: "t")
            }
        }
        #expect(delivered == [event(5)])
        #expect(try raw.command(["XLEN", "stream:malformed_events"]).integer == 1)
    }

    @Test func publishesOnTheSpecChannelToo() async throws {
        let redis = try await RedisServer.start()
        let subscriber = RedisConnection(endpoint: try RedisEndpoint(url: redis.url), commandTimeoutSeconds: 5)
        _ = try subscriber.command(["SUBSCRIBE", "channel:phase1_complete"])
        try await RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger).announce(event(6), at: .phase1)
        let message = try subscriber.receive()
        #expect(message.array?.first?.text == "message")
        #expect(try RunEvent.decode(message.array?[2].text ?? "") == event(6))
    }

    @Test func survivesARedisRestartWithAOF() async throws {
        let redis = try await RedisServer.start()
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        try await queue.announce(event(7), at: .phase1)
        try redis.restart()
        // First call after the restart may see the dropped connection; the next reconnects.
        _ = try? await queue.next(at: .phase1, group: "t", consumer: "c", waitMilliseconds: 50)
        let delivery = try #require(try await queue.next(at: .phase1, group: "t", consumer: "c", waitMilliseconds: 50))
        #expect(delivery.event == event(7))
    }

    @Test func connectionRefusedIsATypedError() async throws {
        let port = try Loopback.freePort()
        let queue = try RedisRunEventQueue(url: "redis://127.0.0.1:\(port)/0", eventKey: RedisServer.eventKey, logger: logger)
        await #expect(throws: RedisError.self) { try await queue.announce(event(8), at: .phase1) }
    }

    @Test func badURLsAreRejected() throws {
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "http://x") }
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://host/notadb") }
        #expect(try RedisEndpoint(url: "redis://:secret@db.local:6380/2") == RedisEndpoint(host: "db.local", port: 6380, database: 2, password: "secret"))
    }
}
