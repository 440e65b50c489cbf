import AccessControl
import ConnectorSources
import Connectors
public import ETLCore
import Foundation
public import Handoff
import HTTPTypes
import Hummingbird
import Loading
public import Logging
import NIOCore
import PipelineSchema

/// `POST /connectors` and `POST /connectors/{id}/run`, served only when `API_ADMIN_TOKEN` is
/// set and only to `Authorization: Bearer <API_ADMIN_TOKEN>`. They do what `etlctl connectors
/// create` and `etlctl connectors run` do, through the same code: the catalog's validation,
/// the registry, the signed run-request stream the extractor reads.
public struct AdminBackend: Sendable {
    let token: String
    let registry: RegistryOpener
    let requests: any RunRequestQueue

    public init(token: String, databasePath: String, requests: any RunRequestQueue) {
        self.token = token
        registry = RegistryOpener(path: databasePath)
        self.requests = requests
    }

    /// The backend `configuration` asks for (nil when the api is read-only), its run requests
    /// on the Redis stream the extractor reads.
    public static func configured(by configuration: APIConfiguration, logger: Logger) throws -> AdminBackend? {
        guard let admin = configuration.admin else { return nil }
        let requests = try RedisRunRequestQueue(url: admin.redisURL, eventKey: admin.eventKey, logger: logger)
        return AdminBackend(token: admin.token, databasePath: configuration.databasePath, requests: requests)
    }

}

/// The registry over a writable connection, opened (and the database migrated, as `etlctl`
/// does) on the first admin request rather than at start: the api serves reads before the
/// saver has created the database, and a failed open is tried again on the next request.
actor RegistryOpener {
    let path: String
    private var opening: Task<ConnectorRegistry, any Error>?

    init(path: String) { self.path = path }

    func registry() async throws -> ConnectorRegistry {
        if let opening { return try await opening.value }
        let task = Task { [path] in ConnectorRegistry(database: try await PipelineDatabase.open(path: path).pool) }
        opening = task
        do {
            return try await task.value
        } catch {
            opening = nil
            throw APIError.databaseUnavailable("the database at \(path) cannot be opened for writing: \(error)")
        }
    }
}

/// The largest connector definition accepted: definitions are a few hundred bytes.
let maximumDefinitionBytes = 256 * 1024

func addAdminRoutes(to router: Router<APIRequestContext>, admin: AdminBackend, document: APIDocument) {
    let catalog = ConnectorCatalog.product
    let idRules = document.parameters(of: "/connectors/{id}")
    router.post("connectors") { request, context -> Response in
        try requireAdmin(request, admin: admin)
        let connector = try validatedConnector(try await definitionText(request, context: context), catalog: catalog)
        return try await create(connector, in: admin, catalog: catalog)
    }
    router.post("connectors/:id/run") { request, context -> Response in
        try requireAdmin(request, admin: admin)
        let id = try connectorID(context.parameters.get("id") ?? "", rules: idRules)
        return try await startRun(ofConnector: id, in: admin, catalog: catalog)
    }
}

// The handlers' steps are functions of their own, the typed-throws ones synchronous: with
// them inline in one async route closure, swiftc 6.3.1 crashed in `-c release` (LLVM's
// coroutine splitting).

/// The connector a request body defines, validated by the catalog; a 400 naming each bad
/// field otherwise.
func validatedConnector(_ body: String, catalog: ConnectorCatalog) throws(APIError) -> ValidatedConnector {
    do throws(ConnectorError) {
        return try catalog.validate(try ConnectorDefinition.parse(body, source: "the request body"))
    } catch {
        throw APIError(status: .badRequest, code: "invalid_connector", message: error.description)
    }
}

/// The registry id in a request path: a 400 for an id the document's rules refuse, a 404 for
/// one no connector could have.
func connectorID(_ raw: String, rules: [ParameterRule]) throws(APIError) -> Int64 {
    if let violation = checkPathParameter("id", raw[...], rules: rules) {
        throw APIError(status: .badRequest, code: "invalid_connector_id", message: "id: \(violation.message)")
    }
    guard let id = Int64(raw) else { throw connectorNotFound(raw) }
    return id
}

func connectorNotFound(_ id: String) -> APIError {
    APIError(status: .notFound, code: "connector_not_found", message: "no connector with id \(id)")
}

/// Refuses to start a connector whose stored definition no longer validates (the catalog
/// changed since it was stored): the extractor would refuse it too, after the 202.
func requireStillValid(_ record: DataSourceRecord, catalog: ConnectorCatalog) throws(APIError) {
    do {
        _ = try catalog.validate(try ConnectorRegistry.definition(of: record))
    } catch {
        throw APIError(status: .conflict, code: "invalid_connector",
                       message: "connector \(record.name) is stored with a definition that no longer validates: \(error)")
    }
}

/// Stores `connector` and answers 201 with its view and location; 409 when the name is taken.
func create(_ connector: ValidatedConnector, in admin: AdminBackend, catalog: ConnectorCatalog) async throws -> Response {
    let record: DataSourceRecord
    do {
        record = try await admin.registry.registry().create(connector)
    } catch let error as RegistryError {
        throw APIError(status: .conflict, code: "connector_exists", message: error.description)
    }
    var headers = HTTPFields()
    headers[.location] = "/connectors/\(record.id ?? 0)"
    return JSONBody.response(catalog.view(of: record, now: Date()), status: .created, headers: headers)
}

/// Hands a run request for connector `id` to the extractor and answers 202 with its task id.
func startRun(ofConnector id: Int64, in admin: AdminBackend, catalog: ConnectorCatalog) async throws -> Response {
    guard let record = try await admin.registry.registry().connector(id: id) else { throw connectorNotFound(String(id)) }
    try requireStillValid(record, catalog: catalog)
    let runRequest = RunRequest(sourceID: id, connector: record.name, requestedAt: ISO8601.string(from: Date()), requestedBy: "api")
    do {
        try await admin.requests.submit(runRequest)
    } catch {
        throw APIError(status: .serviceUnavailable, code: "handoff_unavailable",
                       message: "the run request could not be handed to the extractor (is Redis reachable?): \(error)")
    }
    var headers = HTTPFields()
    headers[.location] = "/connectors/\(id)"
    return JSONBody.response(RunAccepted(taskID: runRequest.taskID, sourceID: id, connector: record.name),
                             status: .accepted, headers: headers)
}

/// The answer to `POST /connectors/{id}/run`: the task id the extractor logs the run under.
struct RunAccepted: Encodable {
    let taskID: String
    let sourceID: Int64
    let connector: String

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", sourceID = "source_id", connector
    }
}

/// 401 without the admin token; 403 with another credential (the read token, say).
private func requireAdmin(_ request: Request, admin: AdminBackend) throws(APIError) {
    guard let presented = request.bearerToken else {
        var error = APIError(status: .unauthorized, code: "unauthorized",
                             message: "this route requires the header 'Authorization: Bearer <API_ADMIN_TOKEN>'")
        error.headers[.wwwAuthenticate] = "Bearer"
        throw error
    }
    guard constantTimeEquals(presented, Array(admin.token.utf8)) else {
        throw APIError(status: .forbidden, code: "forbidden",
                       message: "creating connectors and starting runs needs the admin token (API_ADMIN_TOKEN), not this one")
    }
}

private func definitionText(_ request: Request, context: APIRequestContext) async throws -> String {
    let buffer: ByteBuffer
    do {
        buffer = try await request.body.collect(upTo: maximumDefinitionBytes)
    } catch {
        throw APIError(status: .contentTooLarge, code: "definition_too_large",
                       message: "a connector definition is at most \(maximumDefinitionBytes) bytes")
    }
    guard let text = String(validating: buffer.readableBytesView, as: UTF8.self), !text.isEmpty else {
        throw APIError(status: .badRequest, code: "invalid_connector",
                       message: "the body must be a connector definition in JSON or YAML (UTF-8), as for etlctl connectors create")
    }
    return text
}

/// Printed or dumped, the admin token is hidden.
extension AdminBackend: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: ["token": "(hidden)", "registry": registry, "requests": requests], displayStyle: .struct)
    }
}
