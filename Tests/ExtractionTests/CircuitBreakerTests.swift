import ETLCore
import Extraction
import Foundation
import Handoff
import Logging
import TestSupport
import Testing

@Suite("Circuit breaker on the source")
struct CircuitBreakerTests {
    let logger = Logger(label: "test")

    @Test func opensAfterThresholdConsecutiveFailuresAndWaitsTheCooldown() {
        let clock = TestClock()
        let breaker = CircuitBreaker(threshold: 3, cooldownSeconds: 30, clock: clock, logger: logger)
        #expect(breaker.currentState == .closed)
        breaker.recordFailure()
        breaker.recordFailure()
        #expect(breaker.currentState == .closed)
        #expect(breaker.delayBeforeRequest() == 0)
        breaker.recordFailure()
        #expect(breaker.currentState == .open(until: clock.now().addingTimeInterval(30)))
        #expect(breaker.openings == 1)
        #expect(breaker.delayBeforeRequest() == 30)
        clock.advance(seconds: 10)
        #expect(breaker.delayBeforeRequest() == 20)
        clock.advance(seconds: 20)
        // Cool-down over: one trial request may go (half-open).
        #expect(breaker.delayBeforeRequest() == 0)
        #expect(breaker.currentState == .halfOpen)
    }

    @Test func aSuccessResetsTheCountAndClosesAHalfOpenBreaker() {
        let clock = TestClock()
        let breaker = CircuitBreaker(threshold: 2, cooldownSeconds: 5, clock: clock, logger: logger)
        breaker.recordFailure()
        breaker.recordSuccess()
        breaker.recordFailure()
        #expect(breaker.currentState == .closed)  // not consecutive
        breaker.recordFailure()
        #expect(breaker.openings == 1)
        clock.advance(seconds: 5)
        #expect(breaker.delayBeforeRequest() == 0)
        breaker.recordSuccess()
        #expect(breaker.currentState == .closed)
        #expect(breaker.consecutiveFailures == 0)
    }

    @Test func aFailedTrialRequestOpensItAgainAtOnce() {
        let clock = TestClock()
        let breaker = CircuitBreaker(threshold: 3, cooldownSeconds: 5, clock: clock, logger: logger)
        for _ in 0..<3 { breaker.recordFailure() }
        clock.advance(seconds: 5)
        #expect(breaker.delayBeforeRequest() == 0)
        breaker.recordFailure()  // the half-open trial failed
        #expect(breaker.currentState == .open(until: clock.now().addingTimeInterval(5)))
        #expect(breaker.openings == 2)
    }

    @Test func thresholdZeroNeverOpens() {
        let clock = TestClock()
        let breaker = CircuitBreaker(threshold: 0, cooldownSeconds: 5, clock: clock, logger: logger)
        for _ in 0..<100 { breaker.recordFailure() }
        #expect(breaker.currentState == .closed)
        #expect(breaker.delayBeforeRequest() == 0)
    }

    @Test func theFetcherPausesForTheCooldownInsteadOfHammeringTheSource() async throws {
        let clock = TestClock()
        let breaker = CircuitBreaker(threshold: 3, cooldownSeconds: 60, clock: clock, logger: logger)
        // Five failures in a row, then the source is back.
        let source = ScriptedSource(userCount: 10, faults: [0: .status(500), 1: .status(500), 2: .status(502), 3: .timeout, 4: .status(500)])
        let fetcher = PageFetcher(
            http: source, sourceURL: URL(string: "http://source.test/users")!, timeoutSeconds: 1,
            retry: RetryPolicy(maxRetries: 10, baseSeconds: 1, factor: 1, jitter: 0), clock: clock, randomUnit: { 0.5 },
            logger: logger, breaker: breaker)
        let page = try await fetcher.fetch(limit: 10, skip: 0)
        #expect(page.users.count == 10)
        #expect(source.requests.count == 6)
        // 1 s backoff after each failure; after the 3rd failure the breaker holds requests
        // for the rest of its 60 s cool-down, and again after each failed trial (4th, 5th).
        #expect(clock.sleeps == [1, 1, 1, 59, 1, 59, 1, 59])
        #expect(breaker.openings == 3)
        #expect(breaker.currentState == .closed)
    }

    @Test func failuresCountAcrossPages() async throws {
        let clock = TestClock()
        let breaker = CircuitBreaker(threshold: 2, cooldownSeconds: 10, clock: clock, logger: logger)
        // Request 0 (page 1) fails, request 1 (page 1 retry) succeeds, requests 2, 3 (page 2) fail.
        let source = ScriptedSource(userCount: 20, faults: [0: .status(500), 2: .status(500), 3: .status(500)])
        let fetcher = PageFetcher(
            http: source, sourceURL: URL(string: "http://source.test/users")!, timeoutSeconds: 1,
            retry: RetryPolicy(maxRetries: 5, baseSeconds: 1, factor: 1, jitter: 0), clock: clock, randomUnit: { 0.5 },
            logger: logger, breaker: breaker)
        _ = try await fetcher.fetch(limit: 10, skip: 0)
        #expect(breaker.openings == 0)
        _ = try await fetcher.fetch(limit: 10, skip: 10)
        #expect(breaker.openings == 1)
    }

    @Test func configurationReadsTheBreakerVariables() throws {
        let key = String(repeating: "k", count: 32)  // EVENT_HMAC_KEY is required
        let source = ConfigurationSource(values: ["CIRCUIT_BREAKER_THRESHOLD": "7", "CIRCUIT_BREAKER_COOLDOWN_SECONDS": "2.5", "EVENT_HMAC_KEY": key])
        let configuration = try ExtractorConfiguration(source)
        #expect(configuration.circuitBreakerThreshold == 7)
        #expect(configuration.circuitBreakerCooldownSeconds == 2.5)
        let defaults = try ExtractorConfiguration(ConfigurationSource(values: ["EVENT_HMAC_KEY": key]))
        #expect(defaults.circuitBreakerThreshold == 5)
        #expect(defaults.circuitBreakerCooldownSeconds == 30)
        #expect(throws: ConfigurationError.self) {
            try ExtractorConfiguration(ConfigurationSource(values: ["CIRCUIT_BREAKER_THRESHOLD": "-1"]))
        }
    }
}
