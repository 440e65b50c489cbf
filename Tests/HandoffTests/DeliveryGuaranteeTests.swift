import ETLCore
import Foundation
import Handoff
import Logging
import RedisClient
import Synchronization
import TestSupport
import Testing

@Suite("Handoff: claims, lost groups, outages")
struct DeliveryGuaranteeTests {
    let logger = Logger(label: "test")

    func event(_ seconds: Int) -> RunEvent {
        RunEvent(runID: RunID(date: Date(timeIntervalSince1970: 1_700_000_000 + Double(seconds))), status: .extracted)
    }

    /// A slow but alive consumer refreshes its claim, so another consumer does not take
    /// the entry (and do the run a second time) however long the handling lasts.
    @Test func aRefreshedClaimIsNotTakenByAnotherConsumer() async throws {
        let redis = try await RedisServer.start()
        // A claim idle time well above a refresh interval, so that a loaded machine (the whole
        // suite runs in parallel on two cores) cannot make a refresh late enough to lose it.
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger, claimIdleMilliseconds: 3000)
        try await queue.announce(event(1), at: .phase1)
        let slow = try #require(try await queue.next(at: .phase1, group: "t", consumer: "slow", waitMilliseconds: 100))
        let delivered = Date()
        while Date().timeIntervalSince(delivered) < 4.5 {
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await queue.keepClaimed(slow, group: "t", consumer: "slow"))
        }
        // 4.5 s after the delivery, well past the 3 s claim idle time, and just after a refresh
        // (so a busy machine delaying this task cannot age the claim in between): still its.
        #expect(try await queue.keepClaimed(slow, group: "t", consumer: "slow"))
        #expect(try await queue.next(at: .phase1, group: "t", consumer: "other", waitMilliseconds: 50) == nil)
        // Once it stops refreshing (it died), the entry is claimed.
        try await Task.sleep(for: .milliseconds(3500))
        let claimed = try #require(try await queue.next(at: .phase1, group: "t", consumer: "other", waitMilliseconds: 50))
        #expect(claimed.messageID == slow.messageID)
        // The slow one learns that it lost the entry, and cannot take it back.
        #expect(try await queue.keepClaimed(slow, group: "t", consumer: "slow") == false)
        #expect(try await queue.keepClaimed(claimed, group: "t", consumer: "other"))
        #expect(queue.claimRefreshSeconds == 1)
    }

    @Test func theConsumerRefreshesItsClaimWhileHandling() async throws {
        let redis = try await RedisServer.start()
        // Refreshed every second: a busy machine delaying a refresh by a second still keeps it.
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger, claimIdleMilliseconds: 3000)
        try await queue.announce(event(2), at: .phase1)
        let handledBy = Mutex<[String]>([])
        let consumer = StageConsumer(queue: queue, handoff: .phase1, group: "t", consumer: "slow",
                                     retry: RetryPolicy(maxRetries: 1, baseSeconds: 0.01), logger: logger, waitMilliseconds: 50)
        let slow = Task {
            await consumer.run(handle: { delivery in
                handledBy.withLock { $0.append("slow") }
                try await Task.sleep(for: .milliseconds(9000))  // 3 × the claim idle time
            }, giveUp: { _, _ in })
        }
        try await Task.sleep(for: .milliseconds(6500))
        // Another replica polls meanwhile: it must not get the run.
        #expect(try await queue.next(at: .phase1, group: "t", consumer: "other", waitMilliseconds: 50) == nil)
        // The slow handling finishes and is acknowledged.
        let raw = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        var pending: Int64? = nil
        for _ in 0..<400 {
            pending = try raw.command(["XPENDING", HandoffPoint.phase1.stream, "t"]).array?.first?.integer
            if pending == 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        slow.cancel()
        await slow.value
        #expect(pending == 0)
        #expect(handledBy.withLock { $0 } == ["slow"])
    }

    /// Redis restarted without the group (data lost, or the last second of AOF everysec):
    /// the queue creates the group again instead of failing with NOGROUP forever.
    @Test func aGroupLostByRedisIsCreatedAgain() async throws {
        let redis = try await RedisServer.start()
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        try await queue.announce(event(3), at: .phase2)
        let first = try #require(try await queue.next(at: .phase2, group: "saver", consumer: "c", waitMilliseconds: 50))
        try await queue.acknowledge(first, group: "saver")
        let raw = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        try raw.command(["FLUSHALL"])
        try await queue.announce(event(4), at: .phase2)
        await #expect(throws: RedisError.self) { try await queue.next(at: .phase2, group: "saver", consumer: "c", waitMilliseconds: 50) }
        let again = try #require(try await queue.next(at: .phase2, group: "saver", consumer: "c", waitMilliseconds: 50))
        #expect(again.event == event(4))
    }

    /// Redis down while a handler announces its output must not count as a failed
    /// delivery: a long outage would otherwise mark a healthy run failed.
    @Test func anOutageDuringHandlingNeverGivesTheRunUp() async throws {
        let queue = InMemoryRunEventQueue()
        try await queue.announce(event(5), at: .phase1)
        let attempts = Mutex(0)
        let gaveUp = Mutex(false)
        let consumer = StageConsumer(queue: queue, handoff: .phase1, group: "t", consumer: "c", maxDeliveries: 2,
                                     retry: RetryPolicy(maxRetries: 1, baseSeconds: 0, jitter: 0), clock: TestClock(),
                                     logger: logger, waitMilliseconds: 1)
        let task = Task {
            await consumer.run(handle: { _ in
                let attempt = attempts.withLock { value -> Int in
                    value += 1
                    return value
                }
                if attempt <= 6 { throw RedisError.connectionLost(endpoint: "redis", reason: "Server closed the connection") }
            }, giveUp: { _, _ in gaveUp.withLock { $0 = true } })
        }
        while attempts.withLock({ $0 }) < 7 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await task.value
        #expect(gaveUp.withLock { $0 } == false)
        #expect(attempts.withLock { $0 } == 7)
        #expect(try await queue.next(at: .phase1, group: "t", consumer: "c", waitMilliseconds: 1) == nil)
    }
}
