import CCurl

// Any method, headers and body (a connector's API call), with `get`'s guarantees: the same
// redirect policy, body limit and time limit.

extension CurlHTTPClient {
    /// Sends `method` to `url` with `headers` (name → value) and `body`; returns whatever
    /// status the server answered. Redirects are followed hop by hop as `get` does: up to
    /// `maximumRedirects`, each to the requested URL's own host:port or to one of
    /// `allowedRedirectHosts`. A 303, or a 301/302 answering a POST, continues as a GET without
    /// the body (what browsers and curl do); 307 and 308 repeat the request as it was. A hop
    /// that leaves the requested host:port drops `Authorization` and `Cookie`, so credentials
    /// reach only the host they were configured for. The time limit covers all hops.
    /// Throws `HTTPClientError` when there is no complete HTTP answer.
    public func request(
        _ method: String, _ url: String, headers: [String: String] = [:], body: [UInt8]? = nil, timeoutSeconds: Double
    ) throws -> HTTPResponse {
        let origin = URLOrigin(url)
        let deadline = monotonicSeconds() + timeoutSeconds
        var hop = RequestHop(method: method.uppercased(), url: url, headers: headers, body: body)
        for _ in 0...Self.maximumRedirects {
            let remaining = max(deadline - monotonicSeconds(), 0.001)
            let (response, location) = try transfer(hop, timeoutSeconds: remaining, reportedTimeout: timeoutSeconds)
            guard (300...399).contains(response.status), let location else { return response }
            let target = URLOrigin(location)
            guard let target, target == origin || allowedRedirectHosts.contains(target.host)
                || allowedRedirectHosts.contains(target.hostAndPort)
            else { throw HTTPClientError.redirectRefused(url: url, location: location) }
            hop = hop.redirected(to: location, status: response.status, leavesOrigin: target != origin)
        }
        throw HTTPClientError.tooManyRedirects(url: url, limit: Self.maximumRedirects)
    }

    /// One request, no redirect followed; returns the answer and where it redirects (if it does).
    private func transfer(_ hop: RequestHop, timeoutSeconds: Double, reportedTimeout: Double) throws -> (HTTPResponse, String?) {
        guard let handle = pool.take() else {
            throw HTTPClientError.transferFailed(url: hop.url, reason: "curl_easy_init failed")
        }
        defer { pool.give(back: handle) }

        let context = TransferContext(limit: maxBodyBytes)
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let headerList = hop.headerLines.reduce(nil as UnsafeMutablePointer<curl_slist>?) { curl_slist_append($0, $1) }
        defer { curl_slist_free_all(headerList) }

        let timeoutMilliseconds = Self.milliseconds(timeoutSeconds)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer -> CURLcode in
            var setup = CURLE_OK
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            set(ccurl_setopt_string(handle, CURLOPT_URL, hop.url))
            hop.setMethod(on: handle, set)
            set(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            set(ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds))
            set(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, timeoutMilliseconds))
            // Redirects are followed by `request`, hop by hop, after checking where they lead.
            set(ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
            set(ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
            set(ccurl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
            set(ccurl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""))
            set(ccurl_setopt_string(handle, CURLOPT_USERAGENT, userAgent))
            set(ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
            set(ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress))
            set(ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
            set(ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
            set(ccurl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
            set(ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque()))
            if maxBodyBytes > 0 {
                // Refuses early when Content-Length already says too much; the write callback enforces it otherwise.
                set(ccurl_setopt_long(handle, CURLOPT_MAXFILESIZE, maxBodyBytes))
            }
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }
        var redirect: String?
        if code == CURLE_OK {
            var location: UnsafeMutablePointer<CChar>?
            if ccurl_getinfo_string(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK, let location {
                redirect = String(cString: location)
            }
        }
        // The handle must not keep pointers to this call's buffers or context (it keeps its connection cache).
        curl_easy_reset(handle)

        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            if context.overflowed || code == CURLE_FILESIZE_EXCEEDED {
                throw HTTPClientError.bodyTooLarge(url: hop.url, limit: maxBodyBytes)
            }
            switch code {
            case CURLE_OPERATION_TIMEDOUT:
                throw HTTPClientError.timedOut(url: hop.url, seconds: reportedTimeout)
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
                throw HTTPClientError.connectionFailed(url: hop.url, reason: reason)
            default:
                throw HTTPClientError.transferFailed(url: hop.url, reason: "\(reason) (curl error \(code.rawValue))")
            }
        }
        return (HTTPResponse(status: context.status, headers: context.headers, body: context.body), redirect)
    }
}

/// One hop of a request: what is sent to one URL.
private struct RequestHop {
    var method: String
    var url: String
    var headers: [String: String]
    var body: [UInt8]?

    /// `Name: value` lines, with `Accept: application/json` unless the caller chose another,
    /// and no `Expect: 100-continue` wait before a body.
    var headerLines: [String] {
        var lines = headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        let names = Set(headers.keys.map { $0.lowercased() })
        if !names.contains("accept") { lines.append("Accept: application/json") }
        if body != nil, !names.contains("expect") { lines.append("Expect:") }
        return lines
    }

    /// The request the redirect with `status` to `location` calls for.
    func redirected(to location: String, status: Int, leavesOrigin: Bool) -> RequestHop {
        var next = self
        next.url = location
        let becomesGet = status == 303 || ((status == 301 || status == 302) && method == "POST")
        if becomesGet && method != "HEAD" {
            next.method = "GET"
            next.body = nil
            next.headers = headers.filter { !["content-type", "content-length"].contains($0.key.lowercased()) }
        }
        if leavesOrigin {
            next.headers = next.headers.filter { !["authorization", "cookie"].contains($0.key.lowercased()) }
        }
        return next
    }

    /// GET and HEAD by their own options; any other method as a request with the body (none: empty).
    func setMethod(on handle: UnsafeMutableRawPointer, _ set: (CURLcode) -> Void) {
        switch method {
        case "GET":
            set(ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case "HEAD":
            set(ccurl_setopt_long(handle, CURLOPT_NOBODY, 1))
        default:
            let bytes = body ?? []
            set(ccurl_setopt_long(handle, CURLOPT_POST, 1))
            set(ccurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bytes.count))
            // Copied by libcurl, so the body need not outlive this call.
            if bytes.isEmpty {
                set(ccurl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                set(bytes.withUnsafeBytes { ccurl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) })
            }
            if method != "POST" { set(ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)) }
        }
    }
}
