public import CurlHTTP
import ETLCore

/// Connectors send their API calls (any method, headers and body) through the same libcurl
/// client, thread and redirect policy as the extractor's pages.
extension CurlSource: HTTPRequesting {
    public func send(_ request: HTTPRequest, timeoutSeconds: Double) async throws -> HTTPResponse {
        try await executor.run { [client] in
            try client.request(request.method, request.url, headers: request.headers, body: request.body, timeoutSeconds: timeoutSeconds)
        }
    }
}
