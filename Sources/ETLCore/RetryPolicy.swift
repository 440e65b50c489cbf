public import Foundation

/// Exponential backoff with jitter: retry `n` (1-based) waits `base × factor^(n-1)`,
/// spread by ±`jitter` so replicas that failed together do not retry together.
public struct RetryPolicy: Sendable, Equatable {
    public var maxRetries: Int
    public var baseSeconds: Double
    public var factor: Double
    public var jitter: Double
    /// Upper bound for any single wait, including a server's `Retry-After`.
    public var maxDelaySeconds: Double

    public init(maxRetries: Int = Settings.retryMax.defaultValue, baseSeconds: Double = Settings.retryBaseSeconds.defaultValue,
                factor: Double = Settings.retryFactor.defaultValue, jitter: Double = 0.1, maxDelaySeconds: Double = 600) {
        self.maxRetries = maxRetries
        self.baseSeconds = baseSeconds
        self.factor = factor
        self.jitter = jitter
        self.maxDelaySeconds = maxDelaySeconds
    }

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        self.init(
            maxRetries: try source.read(Settings.retryMax),
            baseSeconds: try source.read(Settings.retryBaseSeconds),
            factor: try source.read(Settings.retryFactor))
    }

    /// The wait before retry `retry` (1-based), without jitter: 5, 15, 45 … by default.
    public func nominalDelay(beforeRetry retry: Int) -> Double {
        min(baseSeconds * pow(factor, Double(max(retry - 1, 0))), maxDelaySeconds)
    }

    /// The wait before retry `retry`, jittered by `unit` in [0, 1) and overridden by a
    /// server-requested `Retry-After` when one was given.
    public func delay(beforeRetry retry: Int, retryAfter: Double? = nil, unit: Double) -> Double {
        if let retryAfter, retryAfter >= 0 { return min(retryAfter, maxDelaySeconds) }
        let nominal = nominalDelay(beforeRetry: retry)
        return max(0, nominal * (1 + jitter * (2 * unit - 1)))
    }

    /// Parses a `Retry-After` header: delta-seconds or an HTTP date.
    public static func parseRetryAfter(_ value: String?, now: Date) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
