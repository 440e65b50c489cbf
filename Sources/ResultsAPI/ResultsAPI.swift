import ETLCore
import Foundation
import Hummingbird
import Logging

/// The read-only results API over the saver's database (see the SPEC §2 "api").
///
/// - `GET /etl_runs` — runs, newest first; `limit` (1–1000, default 100), `offset`, `status`;
///   the total matching count in `X-Total-Count`.
/// - `GET /etl_runs/{id}` — one run (400 for a malformed id, 404 for an unknown one).
/// - `GET /health` — always 200 while the process serves (a liveness probe), with
///   `database`: `ok`, `missing` (no file yet) or `unavailable`, and the latest run.
///
/// Errors are `{"error": code, "message": text}`: 400 bad parameter, 404 unknown id or
/// route, 405 any write method, 503 while the database does not exist yet.
public func makeAPIRouter(configuration: APIConfiguration, logger: Logger) -> Router<BasicRequestContext> {
    makeAPIRouter(store: ResultsStore(path: configuration.databasePath, logger: logger),
                  corsOrigins: configuration.corsOrigins, logger: logger)
}

public func makeAPIRouter(store: ResultsStore, corsOrigins: [String], logger: Logger) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Outermost first: CORS headers land on every answer, errors included.
    router.add(middleware: OriginListCORSMiddleware(origins: corsOrigins.isEmpty ? ["*"] : corsOrigins))
    router.add(middleware: JSONErrorMiddleware(logger: logger))
    router.add(middleware: ReadOnlyMiddleware())

    router.get("health") { _, _ -> Response in
        let state = await store.state()
        var latest: RunDTO?
        if state == .ok {
            latest = try? await store.read { db in try RunQueries.latest(db: db) }
        }
        return JSONBody.response(Health(status: "ok", database: state.rawValue, latestRun: latest))
    }

    router.get("etl_runs") { request, _ -> Response in
        let parameters = request.uri.queryParameters
        let query = try RunsQuery { parameters[Substring($0)] }
        let (runs, total) = try await store.read { db in try RunQueries.list(query, db: db) }
        var headers = HTTPFields()
        headers.append(.init(name: .init("X-Total-Count")!, value: String(total)))
        return JSONBody.response(runs, headers: headers)
    }

    router.get("etl_runs/:id") { _, context -> Response in
        let raw = context.parameters.get("id") ?? ""
        guard let id = RunID(raw) else {
            throw APIError(status: .badRequest, code: "invalid_run_id",
                           message: "'\(raw)' is not a run id; expected YYYYMMDD_HHMMSS (UTC)")
        }
        guard let run = try await store.read({ db in try RunQueries.one(id, db: db) }) else {
            throw APIError(status: .notFound, code: "run_not_found", message: "no run \(id)")
        }
        return JSONBody.response(run)
    }
    return router
}

/// The API as a Hummingbird application (itself a `Service`), listening on `API_HOST:API_PORT`.
public func makeAPIApplication(configuration: APIConfiguration, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: makeAPIRouter(configuration: configuration, logger: logger),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "etl-api"),
        logger: logger)
}

struct Health: Encodable {
    var status: String
    var database: String
    var latestRun: RunDTO?

    enum CodingKeys: String, CodingKey {
        case status, database, latestRun = "latest_run"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(database, forKey: .database)
        try container.encode(latestRun, forKey: .latestRun)
    }
}
