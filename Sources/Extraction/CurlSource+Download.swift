public import CurlHTTP
public import Foundation
import ETLCore
import Synchronization

extension CurlSource: HTTPDownloading {
    /// The body streamed to `file`, on a thread of its own: a download may take minutes and
    /// must hold up neither the cooperative pool nor this source's page requests. Cancelling
    /// the task aborts the transfer (`CancellationError`).
    public func download(_ request: HTTPRequest, to file: URL, timeoutSeconds: Double) async throws -> HTTPResponse {
        let executor = BlockingExecutor(label: "extractor.download")
        let cancelled = CancellationFlag()
        do {
            return try await withTaskCancellationHandler {
                try await executor.run { [client] in
                    try client.download(url: request.url, headers: request.headers, to: file.path, timeoutSeconds: timeoutSeconds,
                                        isCancelled: { cancelled.isSet })
                }
            } onCancel: {
                cancelled.set()
            }
        } catch where cancelled.isSet {
            throw CancellationError()
        }
    }
}

/// Set once by a task's cancellation handler, read by the transfer's thread.
private final class CancellationFlag: Sendable {
    private let value = Mutex(false)

    var isSet: Bool { value.withLock { $0 } }

    func set() { value.withLock { $0 = true } }
}
