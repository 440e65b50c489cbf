public import CurlHTTP
public import Foundation

/// One HTTP request of a connector: any method, headers and body.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [String: String] = [:], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// How a connector sends a request and reads the whole answer (a page of an API).
/// `CurlSource` is the product; tests inject scripted answers and faults.
public protocol HTTPRequesting: Sendable {
    func send(_ request: HTTPRequest, timeoutSeconds: Double) async throws -> HTTPResponse
}

/// How a connector fetches a body too large to hold (a CSV export): streamed to a file.
/// The answer's body in the returned response is empty; the file holds it.
public protocol HTTPDownloading: Sendable {
    func download(_ request: HTTPRequest, to file: URL, timeoutSeconds: Double) async throws -> HTTPResponse
}
