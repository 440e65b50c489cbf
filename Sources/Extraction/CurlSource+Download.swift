public import CurlHTTP
public import Foundation
import ETLCore

extension CurlSource: HTTPDownloading {
    /// The body streamed to `file`, on a thread of its own: a download may take minutes and
    /// must hold up neither the cooperative pool nor this source's page requests.
    public func download(_ request: HTTPRequest, to file: URL, timeoutSeconds: Double) async throws -> HTTPResponse {
        let executor = BlockingExecutor(label: "extractor.download")
        return try await executor.run { [client] in
            try client.download(url: request.url, headers: request.headers, to: file.path, timeoutSeconds: timeoutSeconds)
        }
    }
}
