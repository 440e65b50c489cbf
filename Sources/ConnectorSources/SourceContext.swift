public import Connectors
public import ETLCore
public import Extraction
public import Logging

/// What every source is built with besides its own config: how to resolve secrets, how to
/// reach HTTP, how hard to retry, and the clock those retries wait on.
public struct SourceContext: Sendable {
    public var secrets: SecretResolver
    public var http: any HTTPRequesting
    public var downloads: any HTTPDownloading
    public var retry: RetryPolicy
    public var timeoutSeconds: Double
    public var clock: any PipelineClock
    public var logger: Logger
    /// Shared by every request of the process; nil: no breaker.
    public var breaker: CircuitBreaker?
    /// Records per `RecordSink.write`: bounds the memory a run holds.
    public var batchSize: Int

    public init(
        secrets: SecretResolver = SecretResolver(), http: any HTTPRequesting, downloads: any HTTPDownloading, retry: RetryPolicy = RetryPolicy(),
        timeoutSeconds: Double = 30, clock: any PipelineClock = SystemClock(), logger: Logger,
        breaker: CircuitBreaker? = nil, batchSize: Int = 1000
    ) {
        self.secrets = secrets
        self.http = http
        self.downloads = downloads
        self.retry = retry
        self.timeoutSeconds = timeoutSeconds
        self.clock = clock
        self.logger = logger
        self.breaker = breaker
        self.batchSize = batchSize
    }
}
