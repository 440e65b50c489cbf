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
        try followingRedirects(
            from: url, first: RequestHop(method: method.uppercased(), url: url, headers: headers, body: body), timeoutSeconds: timeoutSeconds,
            redirect: { hop, location, status, leavesOrigin in hop.redirected(to: location, status: status, leavesOrigin: leavesOrigin) },
            send: { hop, remaining in try transfer(hop, timeoutSeconds: remaining, reportedTimeout: timeoutSeconds) })
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

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer -> CURLcode in
            var setup = CURLE_OK
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            setCommonOptions(handle, url: hop.url, timeoutSeconds: timeoutSeconds, headerList: headerList,
                             errorBuffer: errorPointer.baseAddress, head: context, set)
            hop.setMethod(on: handle, set)
            set(ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
            set(ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
            if maxBodyBytes > 0 {
                // Refuses early when Content-Length already says too much; the write callback enforces it otherwise.
                set(ccurl_setopt_long(handle, CURLOPT_MAXFILESIZE, maxBodyBytes))
            }
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }
        let redirect = code == CURLE_OK ? Self.redirectLocation(handle) : nil
        // The handle must not keep pointers to this call's buffers or context (it keeps its connection cache).
        curl_easy_reset(handle)

        guard code == CURLE_OK else {
            if context.overflowed || code == CURLE_FILESIZE_EXCEEDED {
                throw HTTPClientError.bodyTooLarge(url: hop.url, limit: maxBodyBytes)
            }
            throw Self.failure(code, url: hop.url, errorBuffer: errorBuffer, reportedTimeout: reportedTimeout)
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
