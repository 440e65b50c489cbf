public import ETLCore
public import Foundation
import Synchronization

/// A clock that never really sleeps: each sleep is recorded and advances `now` at once,
/// so backoff schedules are asserted exactly and tests take no wall time.
public final class TestClock: PipelineClock {
    private let state: Mutex<(now: Date, sleeps: [Double])>

    public init(now: Date = Date(timeIntervalSince1970: 1_763_780_400)) {  // 2025-11-22 03:00:00Z
        state = Mutex((now: now, sleeps: []))
    }

    public var sleeps: [Double] { state.withLock { $0.sleeps } }

    public func now() -> Date { state.withLock { $0.now } }

    public func advance(seconds: Double) {
        state.withLock { $0.now = $0.now.addingTimeInterval(seconds) }
    }

    public func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        state.withLock {
            $0.sleeps.append(seconds)
            $0.now = $0.now.addingTimeInterval(max(seconds, 0))
        }
        await Task.yield()
    }
}
