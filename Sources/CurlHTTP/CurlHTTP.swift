import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The only Swift code in the package that touches libcurl pointers. Everything it hands
// out is plain Swift values: a status, lower-cased headers and the body bytes.

/// One HTTP answer, whatever its status (a non-2xx status is not an error at this level).
public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header names lower-cased; repeated headers joined with ", ". Only the final
    /// response's headers when redirects were followed.
    public let headers: [String: String]
    public let body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A header by case-insensitive name.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// `Retry-After` in seconds when it is given as a number of seconds (HTTP-date form is not parsed).
    public var retryAfterSeconds: Double? {
        guard let value = header("retry-after"), let seconds = Double(value.trimmingSpaces()), seconds >= 0 else { return nil }
        return seconds
    }
}

public enum HTTPClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No complete answer within the time limit (connect + transfer).
    case timedOut(url: String, seconds: Double)
    /// Could not resolve the host or connect to it (refused, unreachable).
    case connectionFailed(url: String, reason: String)
    /// Anything else libcurl reports (reset connection, malformed response, TLS, too many redirects...).
    case transferFailed(url: String, reason: String)
    /// The body exceeded the client's `maxBodyBytes`.
    case bodyTooLarge(url: String, limit: Int)
    /// The server redirected to another host (host:port) that is not in the client's allowed
    /// redirect hosts: the answer of a host nobody configured is never read.
    case redirectRefused(url: String, location: String)
    /// More than `maximumRedirects` redirects in a row.
    case tooManyRedirects(url: String, limit: Int)

    public var description: String {
        switch self {
        case .timedOut(let url, let seconds): "GET \(url) timed out after \(formatSeconds(seconds)) s"
        case .connectionFailed(let url, let reason): "GET \(url) could not connect: \(reason)"
        case .transferFailed(let url, let reason): "GET \(url) failed: \(reason)"
        case .bodyTooLarge(let url, let limit): "GET \(url) body larger than \(limit) bytes"
        case .redirectRefused(let url, let location):
            "GET \(url) redirects to \(location), another host: refused (add that host to the allowed redirect hosts if it is trusted)"
        case .tooManyRedirects(let url, let limit): "GET \(url) redirected more than \(limit) times"
        }
    }

    public var url: String {
        switch self {
        case .timedOut(let url, _), .connectionFailed(let url, _), .transferFailed(let url, _), .bodyTooLarge(let url, _),
            .redirectRefused(let url, _), .tooManyRedirects(let url, _): url
        }
    }
}

private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
}

/// `curl_global_init` exactly once per process (Swift globals are initialised lazily and atomically).
private let curlGlobalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32))

/// Blocking HTTP GET over libcurl. Call it off Swift's cooperative pool (e.g. through
/// ETLCore's `BlockingExecutor`): a request blocks its thread for up to `timeoutSeconds`.
///
/// Thread-safe: concurrent calls each use their own easy handle; idle handles are kept
/// (up to a few) so that sequential calls reuse curl's connection cache (keep-alive).
public final class CurlHTTPClient: Sendable {
    public let userAgent: String
    public let maxBodyBytes: Int
    /// Hosts (`host` for any port, or `host:port`) a redirect may lead to besides the
    /// requested URL's own host:port. Redirects anywhere else are refused.
    public let allowedRedirectHosts: Set<String>
    public static let maximumRedirects = 5
    let pool: HandlePool

    public init(userAgent: String = "swift-etl-extractor/1.0", maxBodyBytes: Int = 64 << 20, allowedRedirectHosts: Set<String> = []) {
        _ = curlGlobalInit
        self.userAgent = userAgent
        self.maxBodyBytes = max(0, maxBodyBytes)
        self.allowedRedirectHosts = Set(allowedRedirectHosts.map { $0.lowercased() })
        self.pool = HandlePool(maxIdle: 4)
    }

    /// GET `url`; returns whatever status the server answered. Redirects are followed here,
    /// not by libcurl, so that each hop is checked: up to `maximumRedirects` hops, each to the
    /// requested URL's own host:port or to one of `allowedRedirectHosts`; a redirect anywhere
    /// else throws `.redirectRefused` without contacting that host. The time limit covers all hops.
    /// Throws `HTTPClientError` when there is no complete HTTP answer.
    public func get(_ url: String, timeoutSeconds: Double) throws -> HTTPResponse {
        try request("GET", url, timeoutSeconds: timeoutSeconds)
    }

    /// Sends `first`, then each hop `redirect` makes of a 3xx answer, checking where each
    /// leads: up to `maximumRedirects` hops, each to the URL's own host:port or to one of
    /// `allowedRedirectHosts` (anything else throws `.redirectRefused` without contacting it).
    /// `send` gets the time left of `timeoutSeconds`, which covers all hops.
    func followingRedirects<Hop>(
        from url: String, first: Hop, timeoutSeconds: Double,
        redirect: (_ hop: Hop, _ location: String, _ status: Int, _ leavesOrigin: Bool) -> Hop,
        send: (_ hop: Hop, _ remainingSeconds: Double) throws -> (HTTPResponse, String?)
    ) throws -> HTTPResponse {
        let origin = URLOrigin(url)
        let deadline = monotonicSeconds() + timeoutSeconds
        var hop = first
        for _ in 0...Self.maximumRedirects {
            let (response, location) = try send(hop, max(deadline - monotonicSeconds(), 0.001))
            guard (300...399).contains(response.status), let location else { return response }
            let target = URLOrigin(location)
            guard let target, target == origin || allowedRedirectHosts.contains(target.host)
                || allowedRedirectHosts.contains(target.hostAndPort)
            else { throw HTTPClientError.redirectRefused(url: url, location: location) }
            hop = redirect(hop, location, response.status, target != origin)
        }
        throw HTTPClientError.tooManyRedirects(url: url, limit: Self.maximumRedirects)
    }

    /// The options every transfer sets: one URL, no redirect followed by libcurl (see
    /// `followingRedirects`), HTTP(S) only, the time limit, the headers, curl's error text
    /// into `errorBuffer`, and the response head into `head`.
    func setCommonOptions(
        _ handle: UnsafeMutableRawPointer, url: String, timeoutSeconds: Double, headerList: UnsafeMutablePointer<curl_slist>?,
        errorBuffer: UnsafeMutablePointer<CChar>?, head: ResponseHead, _ set: (CURLcode) -> Void
    ) {
        let timeoutMilliseconds = Self.milliseconds(timeoutSeconds)
        set(ccurl_setopt_string(handle, CURLOPT_URL, url))
        set(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds))
        set(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, timeoutMilliseconds))
        set(ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""))
        set(ccurl_setopt_string(handle, CURLOPT_USERAGENT, userAgent))
        set(ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        set(ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        set(ccurl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        set(ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, Unmanaged.passUnretained(head).toOpaque()))
    }

    /// Where a completed transfer's answer redirects, if it does.
    static func redirectLocation(_ handle: UnsafeMutableRawPointer) -> String? {
        var location: UnsafeMutablePointer<CChar>?
        guard ccurl_getinfo_string(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK, let location else { return nil }
        return String(cString: location)
    }

    /// The error for a failed transfer, in curl's own words where it gave any.
    static func failure(_ code: CURLcode, url: String, errorBuffer: [CChar], reportedTimeout: Double) -> HTTPClientError {
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timedOut(url: url, seconds: reportedTimeout)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .connectionFailed(url: url, reason: reason)
        default: return .transferFailed(url: url, reason: "\(reason) (curl error \(code.rawValue))")
        }
    }

    static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 1 }
        return Int(min(seconds * 1000, Double(Int32.max)).rounded(.up))
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Who answers a URL: its lower-cased host and its port (the scheme's default when absent),
/// as libcurl's own URL parser reads them.
struct URLOrigin: Equatable {
    let host: String
    let port: String

    var hostAndPort: String { "\(host):\(port)" }

    init?(_ url: String) {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart, flags: UInt32 = 0) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &value, flags) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }
        guard let host = part(CURLUPART_HOST), let port = part(CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT)) else { return nil }
        self.host = host.lowercased()
        self.port = port
    }
}

/// The status and headers of a response, filled in by `curlWriteHeader` through an
/// `Unmanaged` pointer. Header names are lower-cased; repeated ones are joined with ", ".
class ResponseHead {
    var headers: [String: String] = [:]
    var status = 0

    func appendHeaderLine(_ raw: UnsafeBufferPointer<UInt8>) {
        var line = String(decoding: raw, as: UTF8.self)
        while let last = line.last, last.isNewline { line.removeLast() }  // "\r\n" is one Character
        if line.hasPrefix("HTTP/") {
            // A new response starts (redirect hop, 100 Continue): keep only the last one's headers.
            headers = [:]
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.count >= 2, let code = Int(parts[1]) { status = code }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingSpaces().lowercased()
        let value = line[line.index(after: colon)...].trimmingSpaces()
        guard !name.isEmpty else { return }
        if let existing = headers[name] { headers[name] = existing + ", " + value } else { headers[name] = value }
    }
}

/// A response held in memory, up to `limit` bytes of body (0: no limit).
final class TransferContext: ResponseHead {
    let limit: Int
    var body: [UInt8] = []
    var overflowed = false

    init(limit: Int) { self.limit = limit }
}

let curlWriteBody: ccurl_write_callback = { pointer, size, count, userdata in
    guard let userdata else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let pointer else { return length }
    if context.limit > 0, context.body.count + length > context.limit {
        context.overflowed = true
        return 0  // makes curl abort with CURLE_WRITE_ERROR
    }
    pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        context.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}

let curlWriteHeader: ccurl_write_callback = { pointer, size, count, userdata in
    guard let userdata else { return 0 }
    let head = Unmanaged<ResponseHead>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let pointer else { return length }
    pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        head.appendHeaderLine(UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}

/// Idle easy handles, so sequential requests reuse connections; one handle is never used by two threads at once.
final class HandlePool: Sendable {
    /// Easy handles are plain C pointers; the pool hands each to one thread at a time.
    private struct Idle: @unchecked Sendable {
        var handles: [UnsafeMutableRawPointer] = []
    }

    private let maxIdle: Int
    private let idle = Mutex(Idle())

    init(maxIdle: Int) {
        self.maxIdle = maxIdle
    }

    deinit {
        idle.withLock { idle in
            for handle in idle.handles { curl_easy_cleanup(handle) }
        }
    }

    func take() -> UnsafeMutableRawPointer? {
        let handle = idle.withLock { $0.handles.popLast() }
        return handle ?? curl_easy_init()
    }

    func give(back handle: UnsafeMutableRawPointer) {
        let kept = idle.withLock { idle in
            guard idle.handles.count < maxIdle else { return false }
            idle.handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle) }
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let end = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(String.UnicodeScalarView(scalars[start...end]))
    }
}
