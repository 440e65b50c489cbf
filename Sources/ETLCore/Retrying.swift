/// The one retry loop: runs an attempt until it succeeds, waiting `policy`'s backoff between
/// failures on `clock`. A cancelled task stops it at once (a `CancellationError` is never
/// retried), so a shutdown is never held up by a backoff wait.
public struct Retrying: Sendable {
    public var policy: RetryPolicy
    /// nil: until an attempt succeeds, `shouldRetry` refuses, or the task is cancelled.
    public var maxAttempts: Int?
    /// Upper bound for one wait (below `policy.maxDelaySeconds`).
    public var maxWaitSeconds: Double
    public let clock: any PipelineClock
    public var randomUnit: @Sendable () -> Double

    public init(policy: RetryPolicy, maxAttempts: Int?, maxWaitSeconds: Double = .infinity, clock: any PipelineClock,
                randomUnit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.policy = policy
        self.maxAttempts = maxAttempts
        self.maxWaitSeconds = maxWaitSeconds
        self.clock = clock
        self.randomUnit = randomUnit
    }

    /// Attempt `n` (1-based) is `attempt(n)`. After a failure that `shouldRetry` accepts, and
    /// while attempts remain, `willRetry` hears the error, the attempt and the wait before the
    /// next one; `retryAfter` may name the wait a server asked for. The last failure is thrown.
    public func run<T>(
        _ attempt: (_ number: Int) async throws -> T,
        shouldRetry: (any Error) -> Bool = { _ in true },
        retryAfter: (any Error) -> Double? = { _ in nil },
        willRetry: (_ error: any Error, _ attempt: Int, _ waitSeconds: Double) -> Void
    ) async throws -> T {
        var number = 1
        while true {
            do {
                return try await attempt(number)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // Some clients report a cancelled call as their own error: the task decides.
                if Task.isCancelled { throw CancellationError() }
                if let maxAttempts, number >= maxAttempts { throw error }
                guard shouldRetry(error) else { throw error }
                let wait = min(policy.delay(beforeRetry: number, retryAfter: retryAfter(error), unit: randomUnit()), maxWaitSeconds)
                willRetry(error, number, wait)
                try await clock.sleep(seconds: wait)
                number += 1
            }
        }
    }
}
