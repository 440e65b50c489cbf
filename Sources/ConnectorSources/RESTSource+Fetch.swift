import Connectors
import CurlHTTP
import ETLCore
import Extraction
import Foundation
import Logging

/// A failed attempt worth another: a 5xx or 429, a connection problem, a body cut short.
/// The error is what the page fails with once the attempts are spent.
private struct RetryableFailure: Error {
    let error: ConnectorError
    /// The wait a 429 or 503 asked for.
    var retryAfter: Double?
}

extension RESTSource {
    /// One page, sent through the circuit breaker and retried with backoff (`Retry-After`
    /// honoured); 401/403, 404 and bodies of the wrong shape fail at once.
    func fetch(_ location: PageLocation) async throws -> FetchedPage {
        let attempts = context.retry.maxRetries + 1
        let retrying = Retrying(policy: context.retry, maxAttempts: attempts, clock: context.clock)
        do {
            return try await retrying.run({ _ in
                try await attemptThroughBreaker(location)
            }, shouldRetry: { $0 is RetryableFailure }, retryAfter: { ($0 as? RetryableFailure)?.retryAfter }, willRetry: { error, attempt, wait in
                let reason = (error as? RetryableFailure)?.error.message ?? "\(error)"
                context.logger.warning(
                    "connector \(connector): \(method) \(location.url) \(location.label) attempt \(attempt)/\(attempts) failed: \(reason); retrying in \(String(format: "%.1f", wait))s")
            })
        } catch let failure as RetryableFailure {
            let error = failure.error
            let tries = attempts == 1 ? "1 attempt" : "\(attempts) attempts"
            throw ConnectorError(error.kind, connector: error.connector, object: error.object, position: error.position, "\(error.message) (gave up after \(tries))")
        }
    }

    /// The breaker hears of every retryable failure and of every answer that is not one.
    private func attemptThroughBreaker(_ location: PageLocation) async throws -> FetchedPage {
        if let breaker = context.breaker { try await breaker.waitUntilRequestAllowed() }
        do {
            let page = try await attempt(location)
            context.breaker?.recordSuccess()
            return page
        } catch let failure as RetryableFailure {
            context.breaker?.recordFailure()
            throw failure
        }
    }

    private func attempt(_ location: PageLocation) async throws -> FetchedPage {
        let request = HTTPRequest(method: method, url: requestURL(location.url), headers: headers, body: body)
        let response: HTTPResponse
        do {
            response = try await context.http.send(request, timeoutSeconds: context.timeoutSeconds)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError {
            throw transportFailure(error, at: location)
        } catch {
            throw RetryableFailure(error: failure(.connection, at: location, "\(error)"))
        }
        try checkStatus(of: response, at: location)
        do throws(RESTBodyProblem) {
            return FetchedPage(body: try layout.parse(response.body), linkHeader: response.header("link"))
        } catch {
            switch error {
            case .notJSON(let grammar):
                let position = "\(location.label) byte \(grammar.offset)"
                throw RetryableFailure(error: failure(.fetch, at: location, position: position, "the answer is not valid JSON: \(grammar.reason)"))
            case .shape(let problem):
                throw failure(.fetch, at: location, problem)
            }
        }
    }

    /// A 2xx passes; 401/403 and 404 fail at once; anything else is retried.
    private func checkStatus(of response: HTTPResponse, at location: PageLocation) throws {
        switch response.status {
        case 200...299:
            return
        case 401, 403:
            throw failure(.authentication, at: location,
                          "HTTP \(response.status): the API refused the credentials (auth_type \(authType)); check them and the headers")
        case 404:
            throw failure(.notFound, at: location, "HTTP 404: nothing at this URL; check endpoint")
        case 429, 503:
            let wait = RetryPolicy.parseRetryAfter(response.header("retry-after"), now: context.clock.now())
            throw RetryableFailure(error: failure(.fetch, at: location, "HTTP \(response.status): \(Self.snippet(response.body))"), retryAfter: wait)
        default:
            throw RetryableFailure(error: failure(.fetch, at: location, "HTTP \(response.status): \(Self.snippet(response.body))"))
        }
    }

    /// Timeouts and connection problems are retried; a body over the limit and refused
    /// redirects would answer the same again.
    private func transportFailure(_ error: HTTPClientError, at location: PageLocation) -> any Error {
        switch error {
        case .timedOut(_, let seconds):
            return RetryableFailure(error: failure(.connection, at: location, "no complete answer within \(seconds) s"))
        case .connectionFailed(_, let reason):
            return RetryableFailure(error: failure(.connection, at: location, "could not connect: \(reason)"))
        case .transferFailed(_, let reason):
            return RetryableFailure(error: failure(.connection, at: location, "the transfer failed: \(reason)"))
        case .bodyTooLarge(_, let limit):
            return failure(.fetch, at: location, "the answer is larger than \(limit) bytes")
        case .redirectRefused(_, let target):
            return failure(.fetch, at: location, "redirects to \(target), another host: refused")
        case .tooManyRedirects(_, let limit):
            return failure(.fetch, at: location, "redirected more than \(limit) times")
        }
    }

    /// An error naming the page's URL (never with a query credential) and position, with
    /// every secret removed from the message.
    private func failure(_ kind: ConnectorError.Kind, at location: PageLocation, position: String? = nil, _ message: String) -> ConnectorError {
        let redacted = secretValues.reduce(message) { $0.replacingOccurrences(of: $1, with: SecretReference.mask) }
        return ConnectorError(kind, connector: connector, object: "\(method) \(location.url)", position: position ?? location.label, redacted)
    }

    /// `url` with the query credential, if any: for the request only.
    private func requestURL(_ url: String) -> String {
        guard let queryCredential else { return url }
        return URLQuery.setting([queryCredential], in: url)
    }

    /// The start of an error body, on one line.
    private static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.isEmpty ? "(empty body)" : text.replacingOccurrences(of: "\n", with: " ")
    }
}
