import ETLCore
import Foundation
public import Hummingbird
public import Logging
import NIOCore
import Synchronization

/// How the fixture source behaves. Every random choice (users, invalid ones, faults) derives from `seed`.
public struct FixtureOptions: Sendable {
    /// Number of generated users (ids 1...userCount). Ignored when `fixtureFile` is set.
    public var userCount: Int
    /// Fraction of generated users that break a validation rule (exactly round(rate × count), spread evenly).
    public var invalidRate: Double
    public var seed: UInt64
    /// Fraction of requests answered with an injected fault (500, 429 + Retry-After, truncated 200, 503 + Retry-After),
    /// decided deterministically from (seed, request number).
    public var faultRate: Double
    /// Value of `Retry-After` on injected 429/503 answers.
    public var retryAfterSeconds: Int
    /// Delay before every answer.
    public var slowMilliseconds: Int
    /// Every request with this `skip` gets a 500 (a page that always fails).
    public var failingSkip: Int?
    /// The first N requests fail with 500, then the source is healthy.
    public var failFirstRequests: Int
    /// Serve the users of this JSON file (an array, or `{"users":[...]}`) instead of generating them.
    public var fixtureFile: String?
    /// Every request with this `skip` gets a 200 with an empty `users` array and the real
    /// `total` (a source that loses a page).
    public var emptyPageSkip: Int?
    /// Answer every request as if it asked for `skip=0`, envelope included (a cache in front of
    /// the source that strips the query string).
    public var ignoreSkip: Bool
    /// Answer every `/users` request with `302 Found` to this base URL plus the request's
    /// query (a source that sends its clients elsewhere).
    public var redirectTo: String?

    public init(
        userCount: Int = 1000,
        invalidRate: Double = 0,
        seed: UInt64 = 42,
        faultRate: Double = 0,
        retryAfterSeconds: Int = 1,
        slowMilliseconds: Int = 0,
        failingSkip: Int? = nil,
        failFirstRequests: Int = 0,
        fixtureFile: String? = nil,
        emptyPageSkip: Int? = nil,
        ignoreSkip: Bool = false,
        redirectTo: String? = nil
    ) {
        self.userCount = userCount
        self.invalidRate = invalidRate
        self.seed = seed
        self.faultRate = faultRate
        self.retryAfterSeconds = retryAfterSeconds
        self.slowMilliseconds = slowMilliseconds
        self.failingSkip = failingSkip
        self.failFirstRequests = failFirstRequests
        self.fixtureFile = fixtureFile
        self.emptyPageSkip = emptyPageSkip
        self.ignoreSkip = ignoreSkip
        self.redirectTo = redirectTo
    }

    /// Throws a message naming the first out-of-range option.
    public func validate() throws {
        func bad(_ name: String, _ message: String) -> FixtureOptionsError { FixtureOptionsError(option: name, message: message) }
        if userCount < 0 { throw bad("userCount", "must be >= 0 (got \(userCount))") }
        if !(invalidRate.isFinite && invalidRate >= 0 && invalidRate <= 1) { throw bad("invalidRate", "must be in [0, 1] (got \(invalidRate))") }
        if !(faultRate.isFinite && faultRate >= 0 && faultRate <= 1) { throw bad("faultRate", "must be in [0, 1] (got \(faultRate))") }
        if retryAfterSeconds < 0 { throw bad("retryAfterSeconds", "must be >= 0 (got \(retryAfterSeconds))") }
        if slowMilliseconds < 0 { throw bad("slowMilliseconds", "must be >= 0 (got \(slowMilliseconds))") }
        if let failingSkip, failingSkip < 0 { throw bad("failingSkip", "must be >= 0 (got \(failingSkip))") }
        if failFirstRequests < 0 { throw bad("failFirstRequests", "must be >= 0 (got \(failFirstRequests))") }
        if let emptyPageSkip, emptyPageSkip < 0 { throw bad("emptyPageSkip", "must be >= 0 (got \(emptyPageSkip))") }
    }
}

public struct FixtureOptionsError: Error, CustomStringConvertible, Sendable {
    public let option: String
    public let message: String
    public var description: String { "invalid fixture option \(option): \(message)" }
}

/// The kinds of injected faults.
public enum FixtureFault: String, CaseIterable, Sendable {
    case internalError = "500"
    case tooManyRequests = "429"
    case truncatedBody = "truncated"
    case serviceUnavailable = "503"
}

/// Counters tests can read while the server runs (thread-safe).
public final class FixtureState: Sendable {
    private struct Counters {
        var requests = 0
        var faults = 0
        var faultsByKind: [FixtureFault: Int] = [:]
    }

    private let counters = Mutex(Counters())

    public init() {}

    /// Requests to `/users` received so far (including rejected and faulted ones).
    public var requestCount: Int { counters.withLock { $0.requests } }
    /// Requests answered with an injected failure (fault rate, failFirstRequests, failingSkip).
    public var faultsInjected: Int { counters.withLock { $0.faults } }
    public var faultsByKind: [FixtureFault: Int] { counters.withLock { $0.faultsByKind } }

    /// Counts a new request and returns its 1-based number.
    func nextRequest() -> Int {
        counters.withLock { counters in
            counters.requests += 1
            return counters.requests
        }
    }

    func recordFault(_ fault: FixtureFault) {
        counters.withLock { counters in
            counters.faults += 1
            counters.faultsByKind[fault, default: 0] += 1
        }
    }
}

/// The users the source serves: generated on demand, or loaded from a fixture file.
public struct FixtureCatalog: Sendable {
    enum Storage: Sendable {
        case generated(FixtureUsers)
        case loaded([[UInt8]])
    }

    let storage: Storage

    /// Loads `options.fixtureFile` when set (throws if unreadable or not a users array), else generates.
    public init(options: FixtureOptions) throws {
        if let path = options.fixtureFile {
            storage = .loaded(try FixtureUsers.load(fixtureFile: path))
        } else {
            storage = .generated(FixtureUsers(count: options.userCount, invalidRate: options.invalidRate, seed: options.seed))
        }
    }

    public init(users: [[UInt8]]) { storage = .loaded(users) }

    public var count: Int {
        switch storage {
        case .generated(let users): users.count
        case .loaded(let users): users.count
        }
    }

    /// Appends the user at 0-based `index`.
    func appendUser(at index: Int, into out: inout JSONWriter) {
        switch storage {
        case .generated(let users): users.appendUser(id: index + 1, into: &out)
        case .loaded(let users): out.raw(users[index])
        }
    }
}

/// DummyJSON's `/users` contract with the configured misbehaviour, on a Hummingbird router.
/// If `options.fixtureFile` cannot be loaded every request gets a 500 naming the problem; use
/// `makeFixtureRouter(catalog:options:state:)` with `FixtureCatalog(options:)` to fail early instead.
public func makeFixtureRouter(options: FixtureOptions, state: FixtureState) -> Router<BasicRequestContext> {
    do {
        return makeFixtureRouter(catalog: try FixtureCatalog(options: options), options: options, state: state)
    } catch {
        let router = Router(context: BasicRequestContext.self)
        let message = "\(error)"
        router.add(middleware: FixtureErrorMiddleware(slowMilliseconds: 0))
        router.get("**") { _, _ -> Response in
            jsonResponse(.internalServerError, message: message)
        }
        return router
    }
}

public func makeFixtureRouter(catalog: FixtureCatalog, options: FixtureOptions, state: FixtureState) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: FixtureErrorMiddleware(slowMilliseconds: options.slowMilliseconds))
    let handler = UsersHandler(catalog: catalog, options: options, state: state)
    router.get("users") { request, _ in try await handler.respond(to: request) }
    return router
}

/// The fixture source as a Hummingbird application; `onServerRunning` receives the bound port
/// (pass `port: 0` to get a free one).
public func makeFixtureApplication(
    options: FixtureOptions,
    state: FixtureState = FixtureState(),
    host: String,
    port: Int,
    logger: Logger? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    makeApplication(router: makeFixtureRouter(options: options, state: state), host: host, port: port, logger: logger, onServerRunning: onServerRunning)
}

/// Same, over an already loaded catalog (so a bad fixture file fails before the server starts).
public func makeFixtureApplication(
    catalog: FixtureCatalog,
    options: FixtureOptions,
    state: FixtureState = FixtureState(),
    host: String,
    port: Int,
    logger: Logger? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    makeApplication(router: makeFixtureRouter(catalog: catalog, options: options, state: state), host: host, port: port, logger: logger, onServerRunning: onServerRunning)
}

private func makeApplication(
    router: Router<BasicRequestContext>, host: String, port: Int, logger: Logger?,
    onServerRunning: @escaping @Sendable (Int) async -> Void
) -> Application<RouterResponder<BasicRequestContext>> {
    Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "fixture-source"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger  // nil: Hummingbird's default, labelled "fixture-source", honouring LOG_LEVEL
    )
}

// MARK: - Request handling

struct UsersHandler: Sendable {
    let catalog: FixtureCatalog
    let options: FixtureOptions
    let state: FixtureState

    static let defaultLimit = 30
    /// Pages larger than this are streamed in chunks instead of built in one buffer.
    static let streamingThreshold = 2000

    func respond(to request: Request) async throws -> Response {
        let number = state.nextRequest()
        let limit: Int
        let requestedSkip: Int
        switch (parse(request.uri.queryParameters.get("limit"), name: "limit", default: Self.defaultLimit),
                parse(request.uri.queryParameters.get("skip"), name: "skip", default: 0)) {
        case (.failure(let error), _), (_, .failure(let error)):
            return jsonResponse(.badRequest, message: error.message)
        case (.success(let parsedLimit), .success(let parsedSkip)):
            limit = parsedLimit
            requestedSkip = parsedSkip
        }
        let skip = options.ignoreSkip ? 0 : requestedSkip

        if number <= options.failFirstRequests {
            state.recordFault(.internalError)
            return jsonResponse(.internalServerError, message: "injected failure: request \(number) of the first \(options.failFirstRequests) fails")
        }
        if let failingSkip = options.failingSkip, skip == failingSkip {
            state.recordFault(.internalError)
            return jsonResponse(.internalServerError, message: "injected failure: skip=\(skip) always fails")
        }
        if let redirectTo = options.redirectTo {
            let query = request.uri.query.map { "?" + $0 } ?? ""
            return Response(status: .found, headers: [.location: redirectTo + query])
        }
        let fault = Self.fault(requestNumber: number, seed: options.seed, rate: options.faultRate)
        if let fault, fault != .truncatedBody {
            state.recordFault(fault)
            switch fault {
            case .tooManyRequests:
                return jsonResponse(.tooManyRequests, message: "injected failure: too many requests", retryAfter: options.retryAfterSeconds)
            case .serviceUnavailable:
                return jsonResponse(.serviceUnavailable, message: "injected failure: service unavailable", retryAfter: options.retryAfterSeconds)
            default:
                return jsonResponse(.internalServerError, message: "injected failure: internal server error")
            }
        }

        let total = catalog.count
        let start = min(skip, total)
        let available = total - start
        let returned = limit == 0 ? available : min(limit, available)

        if let emptyPageSkip = options.emptyPageSkip, skip == emptyPageSkip {
            return bytesResponse(.ok, page(start: start, count: 0, skip: skip, total: total))
        }
        if fault == .truncatedBody {
            state.recordFault(.truncatedBody)
            let body = page(start: start, count: returned, skip: skip, total: total)
            return bytesResponse(.ok, Array(body.prefix(body.count / 2)))
        }
        if returned <= Self.streamingThreshold {
            return bytesResponse(.ok, page(start: start, count: returned, skip: skip, total: total))
        }
        let catalog = self.catalog
        let body = ResponseBody { writer in
            var chunk = JSONWriter(capacity: 520 * 1600)
            Self.beginPage(into: &chunk)
            for index in start..<(start + returned) {
                catalog.appendUser(at: index, into: &chunk)
                if chunk.bytes.count >= 500 * 1500 {
                    try await writer.write(ByteBuffer(bytes: chunk.bytes))
                    chunk.removeWrittenBytes()
                }
            }
            Self.endPage(total: total, skip: skip, limit: returned, into: &chunk)
            try await writer.write(ByteBuffer(bytes: chunk.bytes))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: body)
    }

    func page(start: Int, count: Int, skip: Int, total: Int) -> [UInt8] {
        var out = JSONWriter(capacity: count * 1600 + 64)
        Self.beginPage(into: &out)
        for index in start..<(start + count) {
            catalog.appendUser(at: index, into: &out)
        }
        Self.endPage(total: total, skip: skip, limit: count, into: &out)
        return out.bytes
    }

    /// `{"users":[`: the users follow.
    static func beginPage(into out: inout JSONWriter) {
        out.beginObject()
        out.key("users")
        out.beginArray()
    }

    /// `],"total":…,"skip":…,"limit":…}`
    static func endPage(total: Int, skip: Int, limit: Int, into out: inout JSONWriter) {
        out.endArray()
        out.key("total")
        out.integer(total)
        out.key("skip")
        out.integer(skip)
        out.key("limit")
        out.integer(limit)
        out.endObject()
    }

    private func parse(_ value: String?, name: String, default defaultValue: Int) -> Result<Int, ParameterError> {
        guard let value else { return .success(defaultValue) }
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) || value.hasPrefix("-") else {
            return .failure(ParameterError("Invalid '\(name)' parameter: '\(value)' is not a number"))
        }
        guard let number = Int(value) else {
            return .failure(ParameterError("Invalid '\(name)' parameter: '\(value)' is not a number"))
        }
        guard number >= 0 else {
            return .failure(ParameterError("Invalid '\(name)' parameter: must be >= 0, got \(number)"))
        }
        return .success(number)
    }

    /// The fault (if any) for the n-th request: a pure function of (seed, n, rate).
    static func fault(requestNumber: Int, seed: UInt64, rate: Double) -> FixtureFault? {
        guard rate > 0 else { return nil }
        var random = SplitMix64(seed: SplitMix64.mix(seed ^ 0xFA17_FA17_FA17_FA17, UInt64(requestNumber)))
        guard random.unit() < rate else { return nil }
        return FixtureFault.allCases[random.below(FixtureFault.allCases.count)]
    }
}

extension FixtureFault {
    /// The injected fault for request number `requestNumber` (1-based) under `seed` and `rate`, if any.
    public static func planned(requestNumber: Int, seed: UInt64, rate: Double) -> FixtureFault? {
        UsersHandler.fault(requestNumber: requestNumber, seed: seed, rate: rate)
    }
}

struct ParameterError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

func bytesResponse(_ status: HTTPResponse.Status, _ bytes: [UInt8], headers extra: HTTPFields = [:]) -> Response {
    var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
    headers.append(contentsOf: extra)
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

func jsonResponse(_ status: HTTPResponse.Status, message: String, retryAfter: Int? = nil) -> Response {
    var body = JSONWriter(capacity: 64 + message.utf8.count)
    body.beginObject()
    body.key("message")
    body.string(message)
    body.endObject()
    var headers: HTTPFields = [:]
    if let retryAfter { headers[.retryAfter] = String(retryAfter) }
    return bytesResponse(status, body.bytes, headers: headers)
}

/// Delays every answer by `slowMilliseconds` and turns the router's errors (404, 405...) into
/// DummyJSON-style JSON bodies.
struct FixtureErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let slowMilliseconds: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if slowMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(slowMilliseconds))
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound
                ? "Route \(request.method) \(request.uri.path) not found"
                : error.status.reasonPhrase)
            return jsonResponse(error.status, message: message)
        } catch {
            return jsonResponse(.internalServerError, message: "\(error)")
        }
    }
}
