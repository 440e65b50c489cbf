@testable import ResultsAPI
import Synchronization
import Testing

/// `FreshReads` may share a read among callers, but never give a caller a value that was read
/// before it asked: that is what keeps `ResponseCache` from serving an answer older than a
/// commit the client already saw.
@Suite struct FreshReadsTests {
    /// A read that returns how many reads have started, and that the test lets finish.
    final class GatedCounter: Sendable {
        private let state = Mutex<(started: Int, gates: [CheckedContinuation<Void, Never>])>((0, []))

        var started: Int { state.withLock { $0.started } }

        func read() async -> Int {
            await withCheckedContinuation { gate in
                state.withLock { state in
                    state.started += 1
                    state.gates.append(gate)
                }
            }
            return started
        }

        func releaseAll() {
            let gates = state.withLock { state in
                defer { state.gates.removeAll() }
                return state.gates
            }
            for gate in gates { gate.resume() }
        }

        func waitUntilStarted(_ count: Int) async {
            while started < count { await Task.yield() }
        }
    }

    @Test func aCallerArrivingDuringAReadGetsTheNextRead() async throws {
        let counter = GatedCounter()
        let reads = FreshReads { await counter.read() }

        let first = Task { try await reads.value() }
        await counter.waitUntilStarted(1)
        let second = Task { try await reads.value() }
        // `second` asks while read 1 is running: read 1 must not answer it.
        while reads.waitingCount < 1 { await Task.yield() }
        counter.releaseAll()
        #expect(try await first.value == 1)

        await counter.waitUntilStarted(2)
        counter.releaseAll()
        #expect(try await second.value == 2)
    }

    @Test func callersWaitingTogetherShareOneRead() async throws {
        let counter = GatedCounter()
        let reads = FreshReads { await counter.read() }

        let leader = Task { try await reads.value() }
        await counter.waitUntilStarted(1)
        let followers = (0..<10).map { _ in Task { try await reads.value() } }
        while reads.waitingCount < followers.count { await Task.yield() }
        counter.releaseAll()
        #expect(try await leader.value == 1)

        await counter.waitUntilStarted(2)
        counter.releaseAll()
        for follower in followers { #expect(try await follower.value == 2) }
        #expect(counter.started == 2)
    }

    struct ReadFailed: Error {}

    @Test func aFailedReadFailsItsCallersAndTheNextReadStartsAfresh() async throws {
        let failures = Mutex(1)
        let reads = FreshReads<Int> {
            if failures.withLock({ count in defer { count -= 1 }; return count > 0 }) { throw ReadFailed() }
            return 7
        }
        await #expect(throws: ReadFailed.self) { try await reads.value() }
        #expect(try await reads.value() == 7)
    }
}
