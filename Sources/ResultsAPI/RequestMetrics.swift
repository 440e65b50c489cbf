import Dispatch
import Hummingbird
import Metrics
public import Prometheus
import Synchronization

/// The API's metrics through swift-metrics, with a Prometheus registry of its own (not the
/// process-global `MetricsSystem`: every router, e.g. one per test, counts separately).
///
/// - `http_requests_total{route, method, status}`: requests answered;
/// - `http_request_duration_seconds{route, method}`: a latency histogram.
///
/// `route` is the matched route pattern (`/etl_runs/{id}`), never the raw path: a client
/// could otherwise create one series per URL it invents.
public final class RequestMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let counters = Mutex<[CounterKey: Metrics.Counter]>([:])
    private let timers = Mutex<[TimerKey: Metrics.Timer]>([:])

    struct CounterKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct TimerKey: Hashable {
        var route: String
        var method: String
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // API answers take well under 5 ms; the default buckets start at 5 ms.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        self.factory = factory
    }

    func record(route: String, method: String, status: Int, nanoseconds: UInt64) {
        let counterKey = CounterKey(route: route, method: method, status: status)
        let counter = counters.withLock { counters in
            if let counter = counters[counterKey] { return counter }
            let counter = Metrics.Counter(label: "http_requests_total",
                                  dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory)
            counters[counterKey] = counter
            return counter
        }
        let timerKey = TimerKey(route: route, method: method)
        let timer = timers.withLock { timers in
            if let timer = timers[timerKey] { return timer }
            let timer = Metrics.Timer(label: "http_request_duration_seconds",
                                      dimensions: [("route", route), ("method", method)], factory: factory)
            timers[timerKey] = timer
            return timer
        }
        counter.increment()
        timer.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}

/// Records every answer, errors included (it runs outside `JSONErrorMiddleware`, which has
/// turned them into responses by then).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let response = try await next(request, context)
        let route = Self.routeLabel(context.endpointPath)
        metrics.record(route: route, method: request.method.rawValue, status: response.status.code,
                       nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        return response
    }

    /// `/etl_runs/:id` → `/etl_runs/{id}` (OpenAPI spelling); unmatched paths → `unmatched`.
    static func routeLabel(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return "unmatched" }
        let segments = endpointPath.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }
        let path = segments.joined(separator: "/")
        return path.hasPrefix("/") ? path : "/" + path
    }
}
