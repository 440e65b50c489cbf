import CurlHTTP
import Extraction
import Foundation
import Synchronization

/// An in-memory source with DummyJSON's contract and a script of faults per request.
final class ScriptedSource: HTTPFetching {
    enum Fault: Sendable {
        case status(Int, retryAfter: String? = nil)
        case truncated
        case timeout
        /// Returns `count` users instead of the requested number (a short page).
        case shortPage(Int)
    }

    let users: [String]
    private let state: Mutex<(faults: [Int: Fault], alwaysFailSkip: Int?, requests: [String])>

    init(userCount: Int, faults: [Int: Fault] = [:], alwaysFailSkip: Int? = nil) {
        users = (1...max(userCount, 1)).prefix(userCount).map { #"{"id":\#($0),"firstName":"User\#($0)","age":30}"# }
        state = Mutex((faults: faults, alwaysFailSkip: alwaysFailSkip, requests: []))
    }

    var requests: [String] { state.withLock { $0.requests } }

    func healAlwaysFailingSkip() { state.withLock { $0.alwaysFailSkip = nil } }

    func get(_ url: String, timeoutSeconds: Double) async throws -> HTTPResponse {
        let components = URLComponents(string: url)!
        let limit = Int(components.queryItems!.first { $0.name == "limit" }!.value!)!
        let skip = Int(components.queryItems!.first { $0.name == "skip" }!.value!)!
        let (fault, failSkip) = state.withLock { state -> (Fault?, Int?) in
            let index = state.requests.count
            state.requests.append(url)
            return (state.faults[index], state.alwaysFailSkip)
        }
        if failSkip == skip { return HTTPResponse(status: 500, headers: [:], body: Array(#"{"message":"boom"}"#.utf8)) }
        var count = limit == 0 ? users.count : limit
        switch fault {
        case .status(let status, let retryAfter):
            return HTTPResponse(status: status, headers: retryAfter.map { ["retry-after": $0] } ?? [:], body: Array(#"{"message":"fault"}"#.utf8))
        case .timeout:
            throw HTTPClientError.timedOut(url: url, seconds: timeoutSeconds)
        case .shortPage(let short):
            count = short
        case .truncated, .none:
            break
        }
        let page = Array(users.dropFirst(skip).prefix(count))
        // Pretty-printed on purpose: the extractor must write each user on one line.
        let body = "{\n  \"users\": [\n    " + page.joined(separator: ",\n    ") + "\n  ],\n  \"total\": \(users.count),\n  \"skip\": \(skip),\n  \"limit\": \(page.count)\n}"
        let bytes = Array(body.utf8)
        if case .truncated = fault { return HTTPResponse(status: 200, headers: [:], body: Array(bytes.prefix(bytes.count / 2))) }
        return HTTPResponse(status: 200, headers: [:], body: bytes)
    }
}
