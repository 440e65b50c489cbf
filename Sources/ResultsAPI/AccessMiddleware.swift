public import AccessControl
public import ETLCore
import Foundation
import Hummingbird
import Logging
import Synchronization

/// Who may read the api. A request goes on when its path is one the document marks open
/// (`security: []`: `/health`, the dashboard's files, `/session`), when it is a CORS
/// preflight, when nobody needs to log in, or when it carries a credential:
///
/// - `Authorization: Bearer <token>`: a per-client token (`etlctl tokens create NAME`,
///   compared by its SHA-256 against the active ones), or `API_TOKEN` / `API_ADMIN_TOKEN`;
/// - the `etl_session` cookie of a dashboard login, resumed from Redis (which moves its
///   idle expiry on).
///
/// Nobody needs to log in while there is no `API_TOKEN`, no enabled account and no active
/// token: the api is open, as before accounts existed, and says so in a warning.
public final class APIAccess: Sendable {
    /// `API_TOKEN` and `API_ADMIN_TOKEN` (whoever may create connectors may read them).
    let sharedTokens: [[UInt8]]
    /// `API_TOKEN` is set: reads need a credential. (`API_ADMIN_TOKEN` alone guards only the
    /// admin operations.)
    let apiTokenSet: Bool
    /// Dashboard logins; nil where the api has no Redis (some tests): then no cookie is accepted.
    let login: LoginService?
    let policy: LoginPolicy
    /// Accounts and tokens, read again when the database changes (`PRAGMA data_version`).
    private let snapshots = ResponseCache<AccessSnapshot>(maxBytes: 1 << 20)
    private let wasOpen = Mutex<Bool?>(nil)

    public init(apiToken: String?, adminToken: String? = nil, login: LoginService?, policy: LoginPolicy = LoginPolicy()) {
        sharedTokens = [apiToken, adminToken].compactMap { $0 }.filter { !$0.isEmpty }.map { Array($0.utf8) }
        apiTokenSet = !(apiToken ?? "").isEmpty
        self.login = login
        self.policy = policy
    }

    /// The accounts and tokens now. No database yet, or one from before accounts existed,
    /// means none: the saver creates the tables, and `etlctl users add` needs them.
    func snapshot(_ store: ResultsStore) async throws -> AccessSnapshot {
        do {
            return try await store.cached(snapshots, key: ["access"], size: { $0.activeTokenHashes.count * 64 + 64 }) { db in
                try AccessSnapshot.read(db)
            }
        } catch let error as APIError where error.code == APIError.databaseUnavailable("").code {
            return .empty
        }
    }

    /// Whether a request needs a credential under `snapshot`.
    func loginRequired(_ snapshot: AccessSnapshot) -> Bool {
        apiTokenSet || snapshot.enabledAccounts > 0 || !snapshot.activeTokenHashes.isEmpty
    }

    /// Logs whether the api is open, at start and whenever that changes.
    func noteMode(open: Bool, snapshot: AccessSnapshot, logger: Logger) {
        let changed = wasOpen.withLock { previous in
            defer { previous = open }
            return previous != open
        }
        guard changed else { return }
        if open {
            logger.warning("the api is open: anyone who reaches it reads every run and user; create an account (etlctl users add NAME) or a token (etlctl tokens create NAME) to require a login")
        } else {
            logger.info("logins required", metadata: [
                "accounts": "\(snapshot.enabledAccounts)", "tokens": "\(snapshot.activeTokenHashes.count)",
                "api_token": "\(apiTokenSet ? "set" : "not set")",
            ])
        }
    }

    /// Whether `token` is one this api accepts. Every shared token is compared in full, so
    /// the timing does not tell which was nearly right; per-client tokens are looked up by
    /// their hash, which says nothing about the token.
    func accepts(bearer token: [UInt8], _ snapshot: AccessSnapshot) -> Bool {
        let shared = sharedTokens.map { constantTimeEquals(token, $0) }.contains(true)
        return shared || snapshot.activeTokenHashes.contains(BearerToken.hash(token))
    }

    /// The session the request's cookie names, if it is still open.
    func session(of request: Request) async throws -> (id: String, session: Session)? {
        guard let login, let id = request.cookies[SessionCookie.name]?.value, !id.isEmpty else { return nil }
        do {
            return try await login.sessions.resume(id: id).map { (id, $0) }
        } catch {
            throw APIError.sessionStoreUnavailable(error)
        }
    }
}

struct AccessMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let access: APIAccess
    let store: ResultsStore
    /// The operations the served document marks with an empty security requirement.
    let openPaths: Set<String>
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths.contains(request.uri.path) || isPreflight(request) {
            return try await next(request, context)
        }
        let snapshot = try await access.snapshot(store)
        let required = access.loginRequired(snapshot)
        access.noteMode(open: !required, snapshot: snapshot, logger: logger)
        guard required else { return try await next(request, context) }
        if let token = request.bearerToken {
            guard access.accepts(bearer: token, snapshot) else { throw APIError.unauthorized(badToken: true) }
            return try await next(request, context)
        }
        guard try await access.session(of: request) != nil else { throw APIError.unauthorized(badToken: false) }
        return try await next(request, context)
    }

    private func isPreflight(_ request: Request) -> Bool {
        request.method == .options && request.headers[.origin] != nil && request.headers[.accessControlRequestMethod] != nil
    }
}

extension APIError {
    static func unauthorized(badToken: Bool) -> APIError {
        var error = APIError(
            status: .unauthorized, code: "unauthorized",
            message: badToken
                ? "this bearer token is not accepted (revoked, or never issued): etlctl tokens list shows the active ones"
                : "log in on the dashboard, or send 'Authorization: Bearer <token>' (etlctl tokens create NAME issues one)")
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }

    static func sessionStoreUnavailable(_ error: any Error) -> APIError {
        APIError(status: .serviceUnavailable, code: "session_store_unavailable",
                 message: "sessions cannot be checked now: \(error) (is the Redis of REDIS_URL reachable?)")
    }
}

extension Request {
    /// The credentials of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750).
    var bearerToken: [UInt8]? {
        guard let header = headers[.authorization] else { return nil }
        let bytes = Array(header.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count,
              zip(bytes, scheme).allSatisfy({ ($0 | 0x20) == $1 })  // ASCII lower-casing
        else { return nil }
        return Array(bytes[scheme.count...])
    }
}
