public import ETLCore
public import Foundation
public import Logging
import Synchronization

/// A circuit breaker in front of the source: after `threshold` consecutive failed requests
/// (across pages and runs) it opens, and no request is sent for `cooldownSeconds`; then one
/// trial request is let through (half-open): a success closes it, a failure opens it again
/// for another cool-down. Opening and closing are logged.
///
/// Retries of a page are not stopped by an open breaker, only delayed: the page's own
/// retry budget (`RETRY_MAX`) still decides when a run fails. Time comes from the injected
/// clock, so tests move it by hand.
public final class CircuitBreaker: Sendable {
    public enum State: Sendable, Equatable {
        case closed
        case open(until: Date)
        case halfOpen
    }

    public let threshold: Int
    public let cooldownSeconds: Double
    private let clock: any PipelineClock
    private let logger: Logger
    private let state: Mutex<(state: State, consecutiveFailures: Int, openings: Int)>

    /// `threshold` 0 disables the breaker (it never opens).
    public init(threshold: Int, cooldownSeconds: Double, clock: any PipelineClock, logger: Logger) {
        self.threshold = threshold
        self.cooldownSeconds = cooldownSeconds
        self.clock = clock
        self.logger = logger
        state = Mutex((state: .closed, consecutiveFailures: 0, openings: 0))
    }

    public var currentState: State { state.withLock { $0.state } }
    public var consecutiveFailures: Int { state.withLock { $0.consecutiveFailures } }
    /// How many times the breaker opened (for logs and tests).
    public var openings: Int { state.withLock { $0.openings } }

    /// Seconds to wait before the next request may be sent: 0 when closed or half-open.
    /// An open breaker whose cool-down has passed becomes half-open here.
    public func delayBeforeRequest() -> Double {
        let now = clock.now()
        return state.withLock { current in
            guard case .open(let until) = current.state else { return 0 }
            let remaining = until.timeIntervalSince(now)
            if remaining > 0 { return remaining }
            current.state = .halfOpen
            return 0
        }
    }

    /// Waits (on the clock) until a request may be sent.
    public func waitUntilRequestAllowed() async throws {
        while true {
            let delay = delayBeforeRequest()
            guard delay > 0 else { return }
            try await clock.sleep(seconds: delay)
        }
    }

    public func recordSuccess() {
        let wasOpen = state.withLock { current -> Bool in
            let wasOpen = current.state != .closed
            current.state = .closed
            current.consecutiveFailures = 0
            return wasOpen
        }
        if wasOpen { logger.notice("circuit breaker closed: the source answered again") }
    }

    public func recordFailure() {
        guard threshold > 0 else { return }
        let now = clock.now()
        let opened: (failures: Int, until: Date)? = state.withLock { current in
            current.consecutiveFailures += 1
            let trialFailed = current.state == .halfOpen
            guard trialFailed || (current.state == .closed && current.consecutiveFailures >= threshold) else { return nil }
            let until = now.addingTimeInterval(cooldownSeconds)
            current.state = .open(until: until)
            current.openings += 1
            return (current.consecutiveFailures, until)
        }
        if let opened {
            logger.warning(
                "circuit breaker open after \(opened.failures) consecutive failed requests: no request to the source for \(String(format: "%.1f", cooldownSeconds))s (until \(ISO8601.string(from: opened.until)))")
        }
    }
}
