public import AccessControl
public import ETLCore
import Foundation
public import Hummingbird
public import Logging
public import NIOCore
import PipelineSchema

/// The read-only results API over the saver's database (see the SPEC §2 "api").
///
/// - `GET /etl_runs` — runs, newest first; `limit` (1–1000, default 100), `offset`, `status`;
///   the total matching count in `X-Total-Count`.
/// - `GET /etl_runs/{id}` — one run (400 for a malformed id, 404 for an unknown one).
/// - `GET /processed_users` — `run_id`, `department`, `department_code`, `q`, `limit`, `offset`.
/// - `GET /invalid_users` — `run_id`, `error_code`, `q`, `limit`, `offset`.
/// - `GET /stats` — aggregates for charts, optionally for one `run_id`.
/// - `GET /health` — always 200 while the process serves (a liveness probe), with
///   `database`: `ok`, `missing` (no file yet) or `unavailable`, and the latest run.
/// - `GET /metrics` — Prometheus text; `GET /openapi.json` — the OpenAPI 3.1 document.
/// - `GET /`, `GET /assets/chart.js` — the dashboard (`addDashboardRoutes`).
///
/// Who may read is `APIAccess`'s to say (`AccessMiddleware`): per-client bearer tokens,
/// dashboard sessions (`/session`), `API_TOKEN`; open while none of them exists.
/// Lists and stats are reused from `ResponseCache` until the database changes.
///
/// Errors are `{"error": code, "message": text}`: 400 bad parameter, 401 no or a wrong
/// credential (when logins are required), 404 unknown id or route, 405 a method the served
/// document does not declare for the path, 503 while the database does not exist yet. Only
/// the fields `ServedFields` allow-lists are ever served.
public func makeAPIRouter(configuration: APIConfiguration, logger: Logger, metrics: RequestMetrics = RequestMetrics(),
                          admin: AdminBackend? = nil) throws -> Router<APIRequestContext> {
    let store = ResultsStore(path: configuration.databasePath, logger: logger)
    return makeAPIRouter(store: store, corsOrigins: configuration.corsOrigins,
                         access: try APIAccess(configuration: configuration, store: store, admin: admin),
                         chartJSPath: configuration.chartJSPath, metrics: metrics, admin: admin, logger: logger)
}

/// With `admin`, also `POST /connectors` and `POST /connectors/{id}/run` (`addAdminRoutes`).
public func makeAPIRouter(store: ResultsStore, corsOrigins: [String], access: APIAccess = APIAccess(apiToken: nil, login: nil),
                          chartJSPath: String? = nil, metrics: RequestMetrics = RequestMetrics(), admin: AdminBackend? = nil,
                          logger: Logger) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Outermost first: CORS headers land on every answer, errors included; metrics see the
    // final status of every answer, errors included.
    // The document served is what this api serves: the admin operations only with the admin token.
    let document = admin == nil ? APIDocument.bundledReadOnly : APIDocument.bundled
    router.add(middleware: OriginListCORSMiddleware(origins: corsOrigins.isEmpty ? ["*"] : corsOrigins, document: document))
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware(logger: logger))
    router.add(middleware: DeclaredMethodsMiddleware(served: document))
    router.add(middleware: AccessMiddleware(access: access, store: store, openPaths: document.openPaths, logger: logger))
    let pages = ResponseCache<Page>()
    addRunRoutes(to: router, store: store, pages: pages, document: document)
    addUserRoutes(to: router, store: store, pages: pages, document: document)
    addConnectorRoutes(to: router, store: store, document: document)
    addDatasetRoutes(to: router, store: store, document: document)
    if let admin { addAdminRoutes(to: router, admin: admin, document: document) }
    addSessionRoutes(to: router, access: access, store: store)
    addServiceRoutes(to: router, store: store, metrics: metrics, document: document)
    addDashboardRoutes(to: router, chartJSPath: chartJSPath)
    return router
}

extension APIAccess {
    /// `API_TOKEN` and `API_ADMIN_TOKEN`, and logins against the accounts of the database
    /// with their sessions in the Redis of `REDIS_URL`.
    public convenience init(configuration: APIConfiguration, store: ResultsStore, admin: AdminBackend? = nil) throws {
        let login = LoginService(
            account: { username in
                try await store.read { db in try AccessSnapshot.account(username, db: db) }
            },
            redis: try AccessRedis(url: configuration.redisURL), policy: configuration.login)
        self.init(apiToken: configuration.apiToken, adminToken: admin?.token, login: login, policy: configuration.login)
    }
}

/// Logs at start whether the api is open (a warning: nobody needs to log in) or which
/// credentials it accepts; `AccessMiddleware` logs it again whenever that changes.
public func logAccessMode(configuration: APIConfiguration, logger: Logger) async {
    let store = ResultsStore(path: configuration.databasePath, logger: logger)
    let access = APIAccess(apiToken: configuration.apiToken, login: nil)
    do {
        let snapshot = try await access.snapshot(store)
        access.noteMode(open: !access.loginRequired(snapshot), snapshot: snapshot, logger: logger)
    } catch {
        logger.error("cannot read the accounts and tokens: \(error); requests are refused until they can be read")
    }
}

private let pageSize: @Sendable (Page) -> Int = { $0.body.readableBytes }

private func addRunRoutes(to router: Router<APIRequestContext>, store: ResultsStore, pages: ResponseCache<Page>,
                          document: APIDocument) {
    let listRules = document.parameters(of: "/etl_runs")
    router.get("etl_runs") { request, _ -> Response in
        let query = RunsQuery(try request.parameters(listRules))
        let key = ["etl_runs", String(query.limit), String(query.offset), query.status?.rawValue]
        return JSONBody.page(try await store.cached(pages, key: key, size: pageSize) { db in try RunQueries.listJSON(query, db: db) })
    }

    let oneRules = document.parameters(of: "/etl_runs/{id}")
    router.get("etl_runs/:id") { _, context -> Response in
        let raw = context.parameters.get("id") ?? ""
        if let violation = checkPathParameter("id", raw[...], rules: oneRules) {
            throw APIError(status: .badRequest, code: "invalid_run_id", message: "id: \(violation.message)")
        }
        // Well-formed but an impossible date (Feb 30): no run can have it.
        guard let id = RunID(raw), let run = try await store.read({ db in try RunQueries.one(id, db: db) }) else {
            throw APIError.runNotFound(raw)
        }
        return JSONBody.response(bytes: run)
    }
}

private func addUserRoutes(to router: Router<APIRequestContext>, store: ResultsStore, pages: ResponseCache<Page>,
                           document: APIDocument) {
    let processedRules = document.parameters(of: "/processed_users")
    router.get("processed_users") { request, _ -> Response in
        let query = ProcessedUsersQuery(try request.parameters(processedRules))
        let key = ["processed_users", String(query.limit), String(query.offset), query.runID?.timestamp,
                   query.department, query.departmentCode, query.search]
        return JSONBody.page(try await store.cached(pages, key: key, size: pageSize) { db in try UserQueries.processed(query, db: db) })
    }

    let invalidRules = document.parameters(of: "/invalid_users")
    router.get("invalid_users") { request, _ -> Response in
        let query = InvalidUsersQuery(try request.parameters(invalidRules))
        let key = ["invalid_users", String(query.limit), String(query.offset), query.runID?.timestamp, query.errorCode, query.search]
        return JSONBody.page(try await store.cached(pages, key: key, size: pageSize) { db in try UserQueries.invalid(query, db: db) })
    }

    let stats = ResponseCache<ByteBuffer?>(maxBytes: 8 << 20)
    let statsRules = document.parameters(of: "/stats")
    router.get("stats") { request, _ -> Response in
        let runID = try request.parameters(statsRules).runID()
        let body = try await store.cached(stats, key: ["stats", runID?.timestamp], size: { $0?.readableBytes ?? 0 }) { db in
            try StatsQueries.stats(runID: runID, db: db)
        }
        guard let body else { throw APIError.runNotFound(runID?.timestamp ?? "") }
        return JSONBody.response(body: body)
    }
}

private func addServiceRoutes(to router: Router<APIRequestContext>, store: ResultsStore, metrics: RequestMetrics,
                              document: APIDocument) {
    router.get("health") { _, _ -> Response in
        let state = await store.state()
        var latest: [UInt8]?
        if state == .ok {
            latest = try? await store.read { db in try RunQueries.latest(db: db) }
        }
        var writer = JSONWriter(capacity: 1024)
        writer.beginObject()
        writer.key("status"); writer.string("ok")
        writer.key("database"); writer.string(state.rawValue)
        writer.key("latest_run")
        if let latest { writer.raw(latest) } else { writer.null() }
        writer.endObject()
        return JSONBody.response(bytes: writer.bytes)
    }

    router.get("metrics") { _, _ -> Response in
        let text = metrics.exposition()
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .contentLength: String(text.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }

    router.get("openapi.json") { _, _ -> Response in
        JSONBody.response(bytes: document.bytes)
    }
}

extension Request {
    /// The query parameters `rules` declare, decoded and checked against the document.
    func parameters(_ rules: [ParameterRule]) throws(APIError) -> RequestParameters {
        try RequestParameters(query: FormQuery(uri.query), rules: rules)
    }
}

/// A query string decoded the way browsers encode forms: `+` is a space and `%XX` a byte,
/// so `?department=Human+Resources` and `?department=Human%20Resources` mean the same.
/// The first occurrence of a repeated name wins.
struct FormQuery: Sendable {
    private var values: [String: Substring] = [:]

    init(_ query: String?) {
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            if values[name] == nil { values[name] = Substring(Self.decode(parts.count > 1 ? parts[1] : "")) }
        }
    }

    subscript(name: String) -> Substring? { values[name] }

    var names: [String] { Array(values.keys) }

    private static func decode(_ raw: Substring) -> String {
        let spaced = raw.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// Connections the kernel queues for `accept`. A burst of connects beyond the queue makes the
/// kernel drop SYNs, which costs a client (a health probe among a flood) a 1 s retransmit;
/// a deeper queue keeps it waiting only as long as the server takes to accept what is ahead.
/// (Linux caps it at `net.core.somaxconn`, 4096 by default.)
let acceptBacklog = 4096

/// The API as a Hummingbird application (itself a `Service`), listening on `API_HOST:API_PORT`,
/// every connection held to `ConnectionLimits` (see `ConnectionGuardHandler`). Raises the
/// process's open-file soft limit to its hard limit, and fits the connection cap under it.
public func makeAPIApplication(
    configuration: APIConfiguration, logger: Logger, admin: AdminBackend? = nil,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let limits = OpenFileLimit.fitted(configuration.connectionLimits, openFiles: OpenFileLimit.raise(), logger: logger)
    return Application(
        router: try makeAPIRouter(configuration: configuration, logger: logger, admin: admin),
        server: guardedHTTP1Server(limits: limits, logger: logger),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "etl-api",
                             backlog: acceptBacklog),
        onServerRunning: onServerRunning,
        logger: logger)
}
