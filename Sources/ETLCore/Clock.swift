public import Foundation

/// Time as the stages see it. Tests inject a clock that does not really sleep, so backoff
/// and schedules are checked without waiting.
public protocol PipelineClock: Sendable {
    func now() -> Date
    func sleep(seconds: Double) async throws
}

public struct SystemClock: PipelineClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }
}
