import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CurlHTTPClient {
    /// GET `url` with `headers`, its body streamed to the file at `path` (created or
    /// truncated) rather than held: for exports too large for memory. The returned response's
    /// body is empty. Redirects follow `get`'s policy: each hop checked, to the URL's own
    /// host:port or an allowed host, at most `maximumRedirects`; the time limit covers all hops.
    /// `maxBodyBytes` does not apply (the body goes to disk). Throws `HTTPClientError` when
    /// there is no complete answer; the file then holds whatever arrived. `isCancelled` is
    /// asked while the transfer runs (about once a second, and as data arrives): true aborts
    /// it with `.cancelled`, so a long download does not hold up a shutdown.
    public func download(
        url: String, headers: [String: String], to path: String, timeoutSeconds: Double,
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws -> HTTPResponse {
        let origin = URLOrigin(url)
        let deadline = ContinuousClock.now + .milliseconds(Self.downloadMilliseconds(timeoutSeconds))
        var current = url
        for _ in 0...Self.maximumRedirects {
            let remaining = deadline - ContinuousClock.now
            let remainingSeconds = max(Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18, 0.001)
            let (response, location) = try downloadOnce(
                current, headers: headers, to: path, timeoutSeconds: remainingSeconds, reportedTimeout: timeoutSeconds, isCancelled: isCancelled)
            guard (300...399).contains(response.status), let location else { return response }
            let target = URLOrigin(location)
            guard let target, target == origin || allowedRedirectHosts.contains(target.host)
                || allowedRedirectHosts.contains(target.hostAndPort)
            else { throw HTTPClientError.redirectRefused(url: url, location: location) }
            current = location
        }
        throw HTTPClientError.tooManyRedirects(url: url, limit: Self.maximumRedirects)
    }

    /// One request, no redirect followed, on an easy handle of its own (a download is long and
    /// rare: it gains nothing from the idle handles' connection cache).
    private func downloadOnce(
        _ url: String, headers: [String: String], to path: String, timeoutSeconds: Double, reportedTimeout: Double,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws -> (HTTPResponse, String?) {
        guard let handle = curl_easy_init() else {
            throw HTTPClientError.transferFailed(url: url, reason: "curl_easy_init failed")
        }
        defer { curl_easy_cleanup(handle) }
        guard let file = fopen(path, "wb") else {
            throw HTTPClientError.transferFailed(url: url, reason: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let context = DownloadContext(file: file, isCancelled: isCancelled)
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        var headerList: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        defer { curl_slist_free_all(headerList) }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let milliseconds = Self.downloadMilliseconds(timeoutSeconds)
        var code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer -> CURLcode in
            var setup = CURLE_OK
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            set(ccurl_setopt_string(handle, CURLOPT_URL, url))
            set(ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1))
            set(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            set(ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds))
            set(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds))
            set(ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
            set(ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
            set(ccurl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
            set(ccurl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""))
            set(ccurl_setopt_string(handle, CURLOPT_USERAGENT, userAgent))
            set(ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
            set(ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress))
            set(ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWriteToFile))
            set(ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
            set(ccurl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlCollectHeader))
            set(ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque()))
            set(ccurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0))
            set(ccurl_setopt_xferinfo_function(handle, CURLOPT_XFERINFOFUNCTION, curlAbortIfCancelled))
            set(ccurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, unmanaged.toOpaque()))
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }
        if fclose(file) != 0, code == CURLE_OK, context.writeError == nil {
            context.writeError = String(cString: strerror(errno))
            code = CURLE_WRITE_ERROR
        }
        var redirect: String?
        if code == CURLE_OK {
            var location: UnsafeMutablePointer<CChar>?
            if ccurl_getinfo_string(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK, let location {
                redirect = String(cString: location)
            }
        }
        guard code == CURLE_OK else {
            throw Self.downloadFailure(code, url: url, path: path, detail: errorBuffer, context: context, reportedTimeout: reportedTimeout)
        }
        return (HTTPResponse(status: context.status, headers: context.headers, body: []), redirect)
    }

    private static func downloadFailure(
        _ code: CURLcode, url: String, path: String, detail: [CChar], context: DownloadContext, reportedTimeout: Double
    ) -> HTTPClientError {
        if code == CURLE_ABORTED_BY_CALLBACK {
            return .transferFailed(url: url, reason: "cancelled")
        }
        if let writeError = context.writeError {
            return .transferFailed(url: url, reason: "cannot write \(path): \(writeError)")
        }
        let text = String(decoding: detail.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let reason = text.isEmpty ? String(cString: curl_easy_strerror(code)) : text
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timedOut(url: url, seconds: reportedTimeout)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .connectionFailed(url: url, reason: reason)
        default: return .transferFailed(url: url, reason: "\(reason) (curl error \(code.rawValue))")
        }
    }

    private static func downloadMilliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 1 }
        return Int(min(seconds * 1000, Double(Int32.max)).rounded(.up))
    }
}

/// What the download callbacks fill in, reached through an `Unmanaged` pointer.
private final class DownloadContext {
    let file: UnsafeMutablePointer<FILE>
    var headers: [String: String] = [:]
    var status = 0
    /// Why the body could not be written (a full disk): the transfer is aborted.
    var writeError: String?

    let isCancelled: @Sendable () -> Bool

    init(file: UnsafeMutablePointer<FILE>, isCancelled: @escaping @Sendable () -> Bool) {
        self.file = file
        self.isCancelled = isCancelled
    }

    /// One raw header line: a status line starts a new response (a redirect hop, 100
    /// Continue), whose headers replace the previous ones; names are lower-cased.
    func addHeaderLine(_ raw: UnsafeBufferPointer<UInt8>) {
        let line = String(decoding: raw, as: UTF8.self).trimmingCharactersInHeader()
        if line.hasPrefix("HTTP/") {
            headers = [:]
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.count >= 2, let code = Int(parts[1]) { status = code }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingCharactersInHeader().lowercased()
        let value = line[line.index(after: colon)...].trimmingCharactersInHeader()
        guard !name.isEmpty else { return }
        headers[name] = headers[name].map { $0 + ", " + value } ?? value
    }
}

private let curlWriteToFile: ccurl_write_callback = { pointer, size, count, userdata in
    guard let userdata else { return 0 }
    let context = Unmanaged<DownloadContext>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let pointer else { return length }
    let written = fwrite(pointer, 1, length, context.file)
    if written != length {
        context.writeError = String(cString: strerror(errno))
        return 0  // makes curl abort with CURLE_WRITE_ERROR
    }
    return length
}

private let curlAbortIfCancelled: ccurl_xferinfo_callback = { userdata, _, _, _, _ in
    guard let userdata else { return 0 }
    return Unmanaged<DownloadContext>.fromOpaque(userdata).takeUnretainedValue().isCancelled() ? 1 : 0
}

private let curlCollectHeader: ccurl_write_callback = { pointer, size, count, userdata in
    guard let userdata else { return 0 }
    let context = Unmanaged<DownloadContext>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let pointer else { return length }
    pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        context.addHeaderLine(UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}

extension StringProtocol {
    /// Without the spaces, tabs and line ends around it.
    fileprivate func trimmingCharactersInHeader() -> String {
        let scalars = unicodeScalars
        let isPadding: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let start = scalars.firstIndex(where: { !isPadding($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !isPadding($0) })!
        return String(String.UnicodeScalarView(scalars[start...end]))
    }
}
