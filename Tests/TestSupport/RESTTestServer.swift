public import Foundation
import Hummingbird
import Logging
import Synchronization

/// A JSON API on a free loopback port for `RESTSourceTests` (started and stopped by each test)
/// and the connector pipeline tests: every pagination style, credential checks, faults, and
/// files served as they are (`/files/<name>`).
public final class RESTTestServer: Sendable {
    public let api: RESTTestAPI
    private let task: Task<Void, any Error>

    public var baseURL: String { api.baseURL }
    public var port: Int { api.port }
    /// The path and query of every request received, in order.
    public var requests: [String] { api.requests }

    private init(api: RESTTestAPI, task: Task<Void, any Error>) {
        self.api = api
        self.task = task
    }

    /// Starts the server and returns once it accepts connections; `files` are served by name
    /// under `/files/`, byte for byte.
    public static func start(count: Int = 1050, files: [String: [UInt8]] = [:]) async throws -> RESTTestServer {
        let api = RESTTestAPI(port: try Loopback.freePort(), count: count, files: files)
        let router = Router()
        api.addRoutes(to: router)
        let (running, continuation) = AsyncStream<Void>.makeStream()
        var logger = Logger(label: "rest-test-server")
        // Stopped by cancellation (ServiceLifecycle is not a dependency of this target), which
        // Hummingbird logs as errors: only critical messages are shown.
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: api.port), serverName: "rest-test"),
            onServerRunning: { _ in continuation.yield(); continuation.finish() }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = running.makeAsyncIterator()
        _ = await iterator.next()
        return RESTTestServer(api: api, task: task)
    }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// `count` records `{"id":n,"name":"user n"}` behind every pagination style, credential
/// checks and faults.
public final class RESTTestAPI: Sendable {
    public static let secret = "s3cr+t/key"
    public static let username = "alice"
    public static let password = "pa55:word"

    public let port: Int
    public let count: Int
    public let files: [String: [UInt8]]
    private let busyRequests = Mutex(0)
    private let paths = Mutex<[String]>([])

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var requests: [String] { paths.withLock { $0 } }

    init(port: Int, count: Int, files: [String: [UInt8]] = [:]) {
        self.port = port
        self.count = count
        self.files = files
    }

    // MARK: Routes

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.add(middleware: RecordingMiddleware(record: { path in self.paths.withLock { $0.append(path) } }))
        router.get("limit-skip") { request, _ in self.limitSkip(request) }
        router.get("truncated") { request, _ in self.truncated(request) }
        router.get("pages") { request, _ in self.pages(request) }
        router.get("cursor") { request, _ in self.cursorPage(request) }
        router.get("link") { request, _ in self.linkPage(request) }
        router.get("all") { _, _ in Self.json("[\(self.records(0..<self.count))]") }
        router.get("files/:name") { _, context in
            guard let name = context.parameters.get("name"), let bytes = self.files[name] else {
                return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "no such file")))
            }
            return Response(status: .ok, headers: [.contentType: "text/csv"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("bearer") { request, _ in
            Self.guarded(Self.header("authorization", in: request) == "Bearer \(Self.secret)")
        }
        router.get("api-key-header") { request, _ in Self.guarded(Self.header("x-api-key", in: request) == Self.secret) }
        router.get("api-key-query") { request, _ in Self.guarded(request.uri.queryParameters.get("api_key") == Self.secret) }
        router.get("basic") { request, _ in
            let expected = "Basic " + Data("\(Self.username):\(Self.password)".utf8).base64EncodedString()
            return Self.guarded(Self.header("authorization", in: request) == expected)
        }
        router.get("echo-headers") { request, _ in
            Self.json("[{\"tenant\":\"\(Self.header("x-tenant", in: request) ?? "")\"}]")
        }
        router.post("search") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let text = String(buffer: body)
            let type = Self.header("content-type", in: request) ?? ""
            return Self.json("[{\"id\":1,\"received\":\(text),\"type\":\"\(type)\"}]")
        }
        router.get("busy") { _, _ in
            let number = self.busyRequests.withLock { count in
                count += 1
                return count
            }
            guard number > 1 else {
                return Response(status: .tooManyRequests, headers: [.retryAfter: "7"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
            }
            return Self.json("[{\"id\":1},{\"id\":2}]")
        }
        router.post("moved-307") { _, _ in Self.redirect(.temporaryRedirect, to: "/search") }
        router.post("moved-303") { _, _ in Self.redirect(.seeOther, to: "/echo-request") }
        router.get("to-localhost") { _, _ in Self.redirect(.found, to: "http://localhost:\(self.port)/echo-request") }
        router.get("echo-request") { request, _ in
            Self.json("[{\"method\":\"\(request.method)\",\"auth\":\"\(Self.header("authorization", in: request) ?? "none")\"}]")
        }
        router.get("link-away") { _, _ in
            var response = Self.json("[{\"id\":1}]")
            response.headers[.init("Link")!] = "<http://localhost:\(self.port)/link>; rel=\"next\""
            return response
        }
        router.get("not-json") { _, _ in Self.json("<html>oops</html>") }
        router.get("wrong-shape") { _, _ in Self.json("{\"data\":{\"items\":{\"id\":1}}}") }
    }

    /// `{"data":{"items":[…]},"meta":{"total":…}}`, DummyJSON-like with nested paths.
    private func limitSkip(_ request: Request) -> Response {
        let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 30
        let skip = request.uri.queryParameters.get("skip", as: Int.self) ?? 0
        return Self.json("{\"meta\":{\"total\":\(count)},\"data\":{\"items\":[\(records(window(skip, limit)))]}}")
    }

    /// limit_skip, but the page at skip=200 is cut in half.
    private func truncated(_ request: Request) -> Response {
        let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 30
        let skip = request.uri.queryParameters.get("skip", as: Int.self) ?? 0
        let body = "{\"items\":[\(records(window(skip, limit)))],\"total\":\(count)}"
        return Self.json(skip == 200 ? String(body.prefix(body.utf8.count / 2)) : body)
    }

    /// `{"results":[…]}` by page number, no total: the last page is short (or empty).
    private func pages(_ request: Request) -> Response {
        let page = request.uri.queryParameters.get("page", as: Int.self) ?? 1
        let perPage = request.uri.queryParameters.get("per_page", as: Int.self) ?? 10
        return Self.json("{\"results\":[\(records(window((page - 1) * perPage, perPage)))]}")
    }

    /// `{"items":[…],"meta":{"next":"o+/=200"}}`: the cursor has characters a query must encode.
    private func cursorPage(_ request: Request) -> Response {
        let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 10
        let cursor = request.uri.queryParameters.get("cursor")
        let offset: Int?
        if let cursor { offset = cursor.hasPrefix("o+/=") ? Int(cursor.dropFirst(4)) : nil } else { offset = 0 }
        guard let offset else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "bad cursor \(cursor ?? "")")))
        }
        let range = window(offset, limit)
        let next = range.upperBound < count ? "\"o+/=\(range.upperBound)\"" : "null"
        return Self.json("{\"items\":[\(records(range))],\"meta\":{\"next\":\(next)}}")
    }

    /// A bare array; the next page (relative) and the first (absolute) in one `Link` header.
    private func linkPage(_ request: Request) -> Response {
        let page = request.uri.queryParameters.get("page", as: Int.self) ?? 1
        let perPage = request.uri.queryParameters.get("per_page", as: Int.self) ?? 100
        let range = window((page - 1) * perPage, perPage)
        var links = ["<\(baseURL)/link?page=1&per_page=\(perPage)>; rel=\"first\""]
        if range.upperBound < count { links.append("</link?page=\(page + 1)&per_page=\(perPage)>; title=\"a, b\"; rel=\"next\"") }
        var response = Self.json("[\(records(range))]")
        response.headers[.init("Link")!] = links.joined(separator: ", ")
        return response
    }

    // MARK: Bodies

    private func window(_ start: Int, _ length: Int) -> Range<Int> {
        let lower = min(max(start, 0), count)
        return lower..<min(lower + max(length, 0), count)
    }

    private func records(_ range: Range<Int>) -> String {
        range.map { "{\"id\":\($0 + 1), \"name\":\"user \($0 + 1)\"}" }.joined(separator: ",\n ")
    }

    private static func guarded(_ allowed: Bool) -> Response {
        allowed ? json("[{\"id\":1}]") : Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "{\"message\":\"bad credentials\"}")))
    }

    private static func redirect(_ status: HTTPResponse.Status, to location: String) -> Response {
        Response(status: status, headers: [.location: location])
    }

    private static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func header(_ name: String, in request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == name }?.value
    }
}

/// Notes every request's path and query.
private struct RecordingMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let record: @Sendable (String) -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        record(request.uri.description)
        return try await next(request, context)
    }
}
