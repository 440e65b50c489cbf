public import CurlHTTP
public import ETLCore
public import Foundation
public import Logging

/// How the extractor reaches the source. `CurlSource` is the product; tests inject
/// scripted answers and faults.
public protocol HTTPFetching: Sendable {
    func get(_ url: String, timeoutSeconds: Double) async throws -> HTTPResponse
}

/// libcurl on a thread of its own (a transfer blocks until the answer or the timeout).
public struct CurlSource: HTTPFetching {
    /// Internal, not private: the extensions adding other kinds of request use them too.
    let client: CurlHTTPClient
    let executor = BlockingExecutor(label: "extractor.http")

    /// `allowedRedirectHosts`: where a redirect may lead besides the source's own host:port.
    public init(allowedRedirectHosts: Set<String> = []) {
        client = CurlHTTPClient(allowedRedirectHosts: allowedRedirectHosts)
    }

    public func get(_ url: String, timeoutSeconds: Double) async throws -> HTTPResponse {
        try await executor.run { [client] in try client.get(url, timeoutSeconds: timeoutSeconds) }
    }
}

/// A page that could not be fetched in `attempts` tries: the run stops with this message.
public struct PageFetchError: Error, CustomStringConvertible, Equatable {
    public let url: String
    public let skip: Int
    public let lastStatus: Int?
    public let attempts: Int
    public let lastError: String

    public var description: String {
        let status = lastStatus.map { "last status HTTP \($0)" } ?? "no HTTP status"
        return "page skip=\(skip) failed after \(attempts) attempts: GET \(url) (\(status); \(lastError))"
    }
}

/// Fetches one page, retrying non-200 answers, timeouts, connection errors, unparsable
/// bodies and pages that do not match their request with exponential backoff and jitter, and honouring `Retry-After` on 429/503.
public struct PageFetcher: Sendable {
    public let http: any HTTPFetching
    public let sourceURL: URL
    public let timeoutSeconds: Double
    public let retry: RetryPolicy
    public let clock: any PipelineClock
    public let randomUnit: @Sendable () -> Double
    public let logger: Logger
    /// Shared by every page and run of the process; nil: no breaker.
    public let breaker: CircuitBreaker?

    public init(
        http: any HTTPFetching, sourceURL: URL, timeoutSeconds: Double, retry: RetryPolicy,
        clock: any PipelineClock, randomUnit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger, breaker: CircuitBreaker? = nil
    ) {
        self.breaker = breaker
        self.http = http
        self.sourceURL = sourceURL
        self.timeoutSeconds = timeoutSeconds
        self.retry = retry
        self.clock = clock
        self.randomUnit = randomUnit
        self.logger = logger
    }

    public func url(limit: Int, skip: Int) -> String {
        var components = URLComponents(url: sourceURL, resolvingAgainstBaseURL: false)!
        let kept = (components.queryItems ?? []).filter { $0.name != "limit" && $0.name != "skip" }
        components.queryItems = kept + [URLQueryItem(name: "limit", value: String(limit)), URLQueryItem(name: "skip", value: String(skip))]
        return components.string!
    }

    public func fetch(limit: Int, skip: Int) async throws -> SourcePage {
        let url = url(limit: limit, skip: skip)
        let attempts = retry.maxRetries + 1
        let retrying = Retrying(policy: retry, maxAttempts: attempts, clock: clock, randomUnit: randomUnit)
        var lastStatus: Int?
        do {
            return try await retrying.run({ _ in
                if let breaker { try await breaker.waitUntilRequestAllowed() }
                do {
                    let page = try await fetchOnce(url, limit: limit, skip: skip, status: &lastStatus)
                    breaker?.recordSuccess()
                    return page
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    breaker?.recordFailure()
                    throw error
                }
            }, retryAfter: { ($0 as? RefusedAnswer)?.retryAfter }, willRetry: { error, attempt, wait in
                logger.warning("page skip=\(skip) attempt \(attempt)/\(attempts) failed: \(error); retrying in \(String(format: "%.1f", wait))s")
            })
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw PageFetchError(url: url, skip: skip, lastStatus: lastStatus, attempts: attempts, lastError: "\(error)")
        }
    }

    /// A non-200 answer, with the wait a 429 or 503 asked for.
    private struct RefusedAnswer: Error, CustomStringConvertible {
        let description: String
        let retryAfter: Double?
    }

    /// One attempt: a page that does not answer its request (empty or short before `total`,
    /// another `skip`) fails like a 500, so it is retried and then fails the run.
    private func fetchOnce(_ url: String, limit: Int, skip: Int, status: inout Int?) async throws -> SourcePage {
        let response = try await http.get(url, timeoutSeconds: timeoutSeconds)
        status = response.status
        guard response.status == 200 else {
            let asksToWait = response.status == 429 || response.status == 503
            throw RefusedAnswer(
                description: "HTTP \(response.status): \(Self.snippet(response.body))",
                retryAfter: asksToWait ? RetryPolicy.parseRetryAfter(response.headers["retry-after"], now: clock.now()) : nil)
        }
        let page = try SourcePageParser.parse(response.body)
        try page.verify(requestedLimit: limit, requestedSkip: skip)
        return page
    }

    /// The start of an error body, on one line, for the log.
    private static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.replacingOccurrences(of: "\n", with: " ")
    }
}
