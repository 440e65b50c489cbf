import Connectors
import CurlHTTP
import ETLCore
import Extraction
import Foundation
import Logging

/// Fetches a remote CSV file into a temporary file (a CSV export can be larger than memory),
/// retrying what may pass (timeouts, refused connections, 408, 429, 5xx) with the context's
/// policy and breaker; refused credentials and a missing file fail at once.
struct CSVDownload {
    let connector: String
    let url: String
    let headers: [String: String]
    let context: SourceContext

    /// Runs `body` on the downloaded file, which is deleted afterwards whatever happens.
    func withDownloadedFile<T>(_ body: (_ path: String) async throws -> T) async throws -> T {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("simple-csv-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: file) }
        try await download(to: file)
        return try await body(file.path)
    }

    /// A failure worth another attempt, and the wait the server asked for.
    private struct RetryableFailure: Error, CustomStringConvertible {
        let error: ConnectorError
        let retryAfter: Double?
        var description: String { error.message }
    }

    private func download(to file: URL) async throws {
        let attempts = context.retry.maxRetries + 1
        let retrying = Retrying(policy: context.retry, maxAttempts: attempts, clock: context.clock)
        do {
            try await retrying.run({ _ in try await attempt(to: file) },
                                   shouldRetry: { $0 is RetryableFailure },
                                   retryAfter: { ($0 as? RetryableFailure)?.retryAfter },
                                   willRetry: { error, attempt, wait in
                context.logger.warning("connector \(connector): GET \(url) attempt \(attempt)/\(attempts) failed: \(error); retrying in \(String(format: "%.1f", wait))s")
            })
        } catch let failure as RetryableFailure {
            let error = failure.error
            throw ConnectorError(error.kind, connector: connector, object: url, "\(error.message) (after \(attempts) attempts)")
        }
    }

    private func attempt(to file: URL) async throws {
        if let breaker = context.breaker { try await breaker.waitUntilRequestAllowed() }
        let response: HTTPResponse
        do {
            response = try await context.downloads.download(HTTPRequest(url: url, headers: headers), to: file, timeoutSeconds: context.timeoutSeconds)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.breaker?.recordFailure()
            throw RetryableFailure(error: transportFailure(error), retryAfter: nil)
        }
        // Any answer but one worth retrying shows the server is up, whatever it refused.
        let outcome = Result { try requireSuccess(response, body: file) }
        if case .failure(let error) = outcome, error is RetryableFailure { context.breaker?.recordFailure() } else { context.breaker?.recordSuccess() }
        try outcome.get()
    }

    private func transportFailure(_ error: any Error) -> ConnectorError {
        switch error as? HTTPClientError {
        case .connectionFailed?, .timedOut?:
            ConnectorError(.connection, connector: connector, object: url, "\(error)")
        default:
            ConnectorError(.fetch, connector: connector, object: url, "\(error)")
        }
    }

    /// Throws unless the answer is a 2xx; what a non-2xx answer means for the operator.
    private func requireSuccess(_ response: HTTPResponse, body file: URL) throws {
        let status = response.status
        guard !(200...299).contains(status) else { return }
        let answer = "HTTP \(status): \(Self.snippet(of: file))"
        switch status {
        case 401, 403:
            throw ConnectorError(.authentication, connector: connector, object: url, "\(answer) (the server refused the credentials: check headers)")
        case 404, 410:
            throw ConnectorError(.notFound, connector: connector, object: url, answer)
        case 408, 429, 500...599:
            let asksToWait = status == 429 || status == 503
            let wait = asksToWait ? RetryPolicy.parseRetryAfter(response.header("retry-after"), now: context.clock.now()) : nil
            throw RetryableFailure(error: ConnectorError(.fetch, connector: connector, object: url, answer), retryAfter: wait)
        default:
            throw ConnectorError(.fetch, connector: connector, object: url, answer)
        }
    }

    /// The start of an error body, on one line, for the message.
    private static func snippet(of file: URL) -> String {
        guard let handle = try? FileHandle(forReadingFrom: file), let data = try? handle.read(upToCount: 200) else { return "" }
        try? handle.close()
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
    }
}
