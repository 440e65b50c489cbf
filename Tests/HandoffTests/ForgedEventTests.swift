import ETLCore
import Foundation
import Handoff
import Logging
import RedisClient
import TestSupport
import Testing

/// Issue 9, finding 10: anyone who can write to Redis could hand the stages any event. Every
/// entry must now be signed with `EVENT_HMAC_KEY`, bounded and well-formed; anything else is
/// rejected, logged, set aside in excerpt and acknowledged, never delivered to a stage.
@Suite("Forged events on a real redis-server")
struct ForgedEventTests {
    let logger = Logger(label: "test")
    let runID = RunID("20270115_080000")!

    func validEvent() -> RunEvent {
        var event = RunEvent(runID: runID, status: .transformed)
        event.validCount = 4
        event.invalidCount = 1
        return event
    }

    /// Adds a raw entry to phase2 the way an intruder with Redis access would.
    func inject(_ redis: RedisServer, fields: [String]) throws {
        let raw = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        try raw.command(["XADD", HandoffPoint.phase2.stream, "*"] + fields)
    }

    /// Reads phase2 as the saver would, `reads` times (a rejected entry makes `next` return
    /// nil, so nil does not mean "empty"); returns what was delivered.
    func drain(_ queue: RedisRunEventQueue, reads: Int = 12) async throws -> [RunEvent] {
        var delivered: [RunEvent] = []
        for _ in 0..<reads {
            guard let delivery = try await queue.next(at: .phase2, group: "saver", consumer: "c", waitMilliseconds: 10) else { continue }
            delivered.append(delivery.event)
            try await queue.acknowledge(delivery, group: "saver")
        }
        return delivered
    }

    func pending(_ redis: RedisServer) throws -> Int64? {
        let raw = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        return try raw.command(["XPENDING", HandoffPoint.phase2.stream, "saver"]).array?.first?.integer
    }

    func rejectedReasons(_ redis: RedisServer) throws -> [String] {
        let raw = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        let entries = try raw.command(["XRANGE", RejectedEvents.stream, "-", "+"]).array ?? []
        return entries.compactMap { entry in
            let fields = entry.array?[1].array ?? []
            guard let index = fields.firstIndex(where: { $0.text == "reason" }), index + 1 < fields.count else { return nil }
            return fields[index + 1].text
        }
    }

    @Test func unsignedBadlySignedReplayedOversizedAndTraversingEventsAreRejected() async throws {
        let redis = try await RedisServer.start()
        let queue = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        let signer = try EventAuthenticator(secret: RedisServer.eventKey)
        let otherKey = try EventAuthenticator(secret: String(repeating: "x", count: 40))
        let payload = validEvent().jsonString()

        // 1. No signature.
        try inject(redis, fields: ["payload", payload])
        // 2. Signed with another key.
        try inject(redis, fields: ["payload", payload, "sig", otherKey.signature(of: payload, for: HandoffPoint.phase2.stream)])
        // 3. A genuine phase1 signature replayed on phase2.
        try inject(redis, fields: ["payload", payload, "sig", signer.signature(of: payload, for: HandoffPoint.phase1.stream)])
        // 4. A 20 MB field, even correctly signed (a key holder gone wrong).
        var huge = validEvent()
        huge.error = String(repeating: "A", count: 20 * 1024 * 1024)
        let hugePayload = huge.jsonString()
        try inject(redis, fields: ["payload", hugePayload, "sig", signer.signature(of: hugePayload, for: HandoffPoint.phase2.stream)])
        // 5. Path traversal in a file field, correctly signed.
        var traversal = validEvent()
        traversal.rawFile = "../../../../etc/passwd"
        let traversalPayload = traversal.jsonString()
        try inject(redis, fields: ["payload", traversalPayload, "sig", signer.signature(of: traversalPayload, for: HandoffPoint.phase2.stream)])
        // 6. A truncated signature.
        try inject(redis, fields: ["payload", payload, "sig", String(signer.signature(of: payload, for: HandoffPoint.phase2.stream).prefix(10))])
        // And one genuine event after them.
        try await queue.announce(validEvent(), at: .phase2)

        let delivered = try await drain(queue)
        #expect(delivered == [validEvent()])
        #expect(try pending(redis) == 0, "rejected entries are acknowledged")
        let reasons = try rejectedReasons(redis)
        #expect(reasons.count == 6)
        #expect(reasons[0].contains("no signature"))
        #expect(reasons[1].contains("signature does not match"))
        #expect(reasons[2].contains("signature does not match"))
        #expect(reasons[3].contains("over the \(RunEvent.Limits.payloadBytes)-byte limit"))
        #expect(reasons[4].contains("raw_file"))
        #expect(reasons[5].contains("signature does not match"))
        // Only an excerpt of a rejected payload is kept.
        let raw = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        let memory = try raw.command(["MEMORY", "USAGE", RejectedEvents.stream]).integer ?? 0
        #expect(memory < 1_000_000)
    }

    @Test func announceOnceAddsOneEntryWhateverTheRace() async throws {
        let redis = try await RedisServer.start()
        let first = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        let second = try RedisRunEventQueue(url: redis.url, eventKey: RedisServer.eventKey, logger: logger)
        let event = validEvent()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                let queue = index % 2 == 0 ? first : second
                group.addTask { try await queue.announce(event, at: .phase2, onceFor: "\(event.runID)/r1-p2-d3/-") }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try await drain(first) == [event])
        // Another output (or an operator retry) is another key.
        #expect(try await first.announce(event, at: .phase2, onceFor: "\(event.runID)/r1-p2-d3/retry-1"))
    }

    @Test func redisRequiresThePasswordAndAcceptsAnACLUser() async throws {
        let redis = try await RedisServer.start()
        let anonymous = RedisConnection(endpoint: try RedisEndpoint(url: redis.urlWithoutPassword))
        #expect(throws: RedisError.self) { try anonymous.command(["XLEN", HandoffPoint.phase2.stream]) }

        let admin = RedisConnection(endpoint: try RedisEndpoint(url: redis.url))
        try admin.command(["ACL", "SETUSER", "etl", "on", ">etl-secret", "~*", "&*", "+@all"])
        let user = try RedisRunEventQueue(
            url: "redis://etl:etl-secret@127.0.0.1:\(redis.port)/0", eventKey: RedisServer.eventKey, logger: logger)
        try await user.announce(validEvent(), at: .phase2)
        #expect(try await drain(user) == [validEvent()])

        let wrong = RedisConnection(endpoint: try RedisEndpoint(url: "redis://etl:nope@127.0.0.1:\(redis.port)/0"))
        do {
            try wrong.command(["PING"])
            Issue.record("a wrong password was accepted")
        } catch {
            #expect("\(error)".contains("REDIS_URL"))
            #expect(!"\(error)".contains("nope"), "the password is never printed")
        }
    }

    @Test func urlsWithAUserAndAPasswordParse() throws {
        #expect(try RedisEndpoint(url: "redis://etl:s%40cret@db.local:6380/1")
            == RedisEndpoint(host: "db.local", port: 6380, database: 1, user: "etl", password: "s@cret"))
        #expect(try RedisEndpoint(url: "redis://etl:s@db.local").authCommand == ["AUTH", "etl", "s"])
        #expect(try RedisEndpoint(url: "redis://:s@db.local").authCommand == ["AUTH", "s"])
        #expect(try RedisEndpoint(url: "redis://db.local").authCommand == nil)
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://etl@db.local") }
        do {
            _ = try RedisEndpoint(url: "redis://:topsecret@db.local/x")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }

    @Test func aKeyTooShortIsRefused() {
        #expect(throws: EventAuthenticator.KeyError.self) { try EventAuthenticator(secret: "short") }
        #expect(throws: (any Error).self) {
            try RedisRunEventQueue(url: "redis://127.0.0.1:1/0", eventKey: "", logger: Logger(label: "t"))
        }
    }
}
