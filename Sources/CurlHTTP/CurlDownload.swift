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
        try followingRedirects(
            from: url, first: url, timeoutSeconds: timeoutSeconds,
            redirect: { _, location, _, _ in location },
            send: { current, remaining in
                try downloadOnce(current, headers: headers, to: path, timeoutSeconds: remaining, reportedTimeout: timeoutSeconds,
                                 isCancelled: isCancelled)
            })
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
        var code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer -> CURLcode in
            var setup = CURLE_OK
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            setCommonOptions(handle, url: url, timeoutSeconds: timeoutSeconds, headerList: headerList,
                             errorBuffer: errorPointer.baseAddress, head: context, set)
            set(ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1))
            set(ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWriteToFile))
            set(ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
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
        guard code == CURLE_OK else {
            if code == CURLE_ABORTED_BY_CALLBACK { throw HTTPClientError.transferFailed(url: url, reason: "cancelled") }
            if let writeError = context.writeError {
                throw HTTPClientError.transferFailed(url: url, reason: "cannot write \(path): \(writeError)")
            }
            throw Self.failure(code, url: url, errorBuffer: errorBuffer, reportedTimeout: reportedTimeout)
        }
        return (HTTPResponse(status: context.status, headers: context.headers, body: []), Self.redirectLocation(handle))
    }
}

/// A response whose body goes to a file, reached through an `Unmanaged` pointer.
private final class DownloadContext: ResponseHead {
    let file: UnsafeMutablePointer<FILE>
    /// Why the body could not be written (a full disk): the transfer is aborted.
    var writeError: String?

    let isCancelled: @Sendable () -> Bool

    init(file: UnsafeMutablePointer<FILE>, isCancelled: @escaping @Sendable () -> Bool) {
        self.file = file
        self.isCancelled = isCancelled
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
