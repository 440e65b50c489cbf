import ETLCore
import Synchronization
import TestSupport
import Testing

@Suite struct RetryingTests {
    struct Failure: Error, Equatable {
        let attempt: Int
    }

    /// Fails the first `failures` attempts, then answers the attempt's number.
    final class Flaky: Sendable {
        let failures: Int
        private let attempts = Mutex(0)

        init(failures: Int) { self.failures = failures }

        var count: Int { attempts.withLock { $0 } }

        func attempt(_ number: Int) throws -> Int {
            attempts.withLock { $0 += 1 }
            if number <= failures { throw Failure(attempt: number) }
            return number
        }
    }

    let policy = RetryPolicy(maxRetries: 0, baseSeconds: 1, factor: 2, jitter: 0)

    @Test func waitsThePolicysBackoffCappedUntilAnAttemptSucceeds() async throws {
        let clock = TestClock()
        let flaky = Flaky(failures: 4)
        var heard: [Int] = []
        let answer = try await Retrying(policy: policy, maxAttempts: nil, maxWaitSeconds: 5, clock: clock)
            .run({ try flaky.attempt($0) }, willRetry: { _, attempt, _ in heard.append(attempt) })
        #expect(answer == 5)
        #expect(clock.sleeps == [1, 2, 4, 5])
        #expect(heard == [1, 2, 3, 4])
    }

    @Test func throwsTheLastFailureWhenTheAttemptsRunOut() async throws {
        let flaky = Flaky(failures: 10)
        await #expect(throws: Failure(attempt: 3)) {
            try await Retrying(policy: policy, maxAttempts: 3, clock: TestClock()).run({ try flaky.attempt($0) }, willRetry: { _, _, _ in })
        }
        #expect(flaky.count == 3)
    }

    @Test func aFailureTheCallerRefusesToRetryIsThrownAtOnce() async throws {
        let clock = TestClock()
        let flaky = Flaky(failures: 10)
        await #expect(throws: Failure(attempt: 2)) {
            try await Retrying(policy: policy, maxAttempts: nil, clock: clock)
                .run({ try flaky.attempt($0) }, shouldRetry: { ($0 as? Failure)?.attempt != 2 }, willRetry: { _, _, _ in })
        }
        #expect(clock.sleeps == [1])
    }

    @Test func aServersRetryAfterReplacesTheBackoff() async throws {
        let clock = TestClock()
        let flaky = Flaky(failures: 2)
        _ = try await Retrying(policy: policy, maxAttempts: nil, clock: clock)
            .run({ try flaky.attempt($0) }, retryAfter: { _ in 7 }, willRetry: { _, _, _ in })
        #expect(clock.sleeps == [7, 7])
    }

    @Test func cancellationIsNeverRetried() async throws {
        let clock = TestClock()
        let attempts = Mutex(0)
        await #expect(throws: CancellationError.self) {
            try await Retrying(policy: policy, maxAttempts: nil, clock: clock).run({ _ in
                attempts.withLock { $0 += 1 }
                throw CancellationError()
            }, willRetry: { _, _, _ in })
        }
        #expect(attempts.withLock { $0 } == 1)
        #expect(clock.sleeps.isEmpty)
    }
}
