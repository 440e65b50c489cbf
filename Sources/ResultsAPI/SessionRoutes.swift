import AccessControl
import ETLCore
import Foundation
import Hummingbird
import NIOCore

/// The dashboard's session cookie: a random id (Redis keeps only its hash), unreadable by
/// scripts (`HttpOnly`), never sent by another site's page (`SameSite=Strict`), `Secure`
/// when `SESSION_COOKIE_SECURE` is set or a TLS proxy says the page came over HTTPS.
enum SessionCookie {
    static let name = "etl_session"

    static func started(_ id: String, policy: LoginPolicy, request: Request) -> Cookie {
        Cookie(name: name, value: id, maxAge: policy.sessionMaxAgeSeconds, path: "/",
               secure: secure(policy, request), httpOnly: true, sameSite: .strict)
    }

    /// What logout sends: the same cookie, empty and already expired.
    static func cleared(policy: LoginPolicy, request: Request) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure(policy, request), httpOnly: true, sameSite: .strict)
    }

    private static func secure(_ policy: LoginPolicy, _ request: Request) -> Bool {
        policy.alwaysSecureCookie || request.headers[.init("X-Forwarded-Proto")!]?.lowercased() == "https"
    }
}

/// What `GET` and `POST /session` answer.
struct SessionView: Encodable {
    let loginRequired: Bool
    var username: String?
    var idleExpiresAt: String?
    var expiresAt: String?

    init(open: Void) { loginRequired = false }

    init(_ session: Session) {
        loginRequired = true
        username = session.username
        idleExpiresAt = ISO8601.string(from: session.idleExpiresAt)
        expiresAt = ISO8601.string(from: session.expiresAt)
    }

    enum CodingKeys: String, CodingKey {
        case loginRequired = "login_required", username, idleExpiresAt = "idle_expires_at", expiresAt = "expires_at"
    }
}

/// The body of `POST /session`.
struct LoginRequest: Decodable {
    let username: String
    let password: String
    let code: String
}

/// A login body is three short strings: anything longer is not one.
let maximumLoginBytes = 4096

/// `GET /session` (who is logged in, or whether nobody needs to), `POST /session` (log in
/// with password and current code), `DELETE /session` (log out). All three are open paths:
/// they are how a person without a session gets one.
func addSessionRoutes(to router: Router<APIRequestContext>, access: APIAccess, store: ResultsStore) {
    router.get("session") { request, _ -> Response in
        guard access.loginRequired(try await access.snapshot(store)) else { return JSONBody.response(SessionView(open: ())) }
        guard let (_, session) = try await access.session(of: request) else {
            var error = APIError(status: .unauthorized, code: "session_required",
                                 message: "log in first: POST /session with username, password and the code of your authenticator app")
            // Machine clients authenticate with a bearer token instead (RFC 9110 asks for a challenge).
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        return JSONBody.response(SessionView(session))
    }

    router.post("session") { request, context -> Response in
        let credentials = try await loginRequest(request)
        guard let login = access.login else {
            throw APIError(status: .serviceUnavailable, code: "logins_unavailable", message: "this api has no session store (REDIS_URL)")
        }
        let outcome: Result<(id: String, session: Session), LoginRefusal>
        do {
            outcome = try await login.logIn(username: credentials.username, password: credentials.password,
                                            code: credentials.code, from: context.clientAddress)
        } catch {
            throw APIError.sessionStoreUnavailable(error)
        }
        switch outcome {
        case .success(let started):
            var response = JSONBody.response(SessionView(started.session))
            response.setCookie(SessionCookie.started(started.id, policy: access.policy, request: request))
            response.headers[.cacheControl] = "no-store"
            return response
        case .failure(.wrongCredentials):
            throw APIError(status: .unauthorized, code: "wrong_credentials", message: "wrong username, password or code")
        case .failure(.rateLimited(let seconds)):
            var error = APIError(status: .tooManyRequests, code: "too_many_attempts",
                                 message: "too many failed logins for this account or from this address")
            error.headers[.retryAfter] = String(seconds)
            throw error
        }
    }

    router.delete("session") { request, context -> Response in
        if let login = access.login, let id = request.cookies[SessionCookie.name]?.value, !id.isEmpty {
            do {
                try await login.logOut(id: id, from: context.clientAddress)
            } catch {
                throw APIError.sessionStoreUnavailable(error)
            }
        }
        var response = Response(status: .noContent)
        response.setCookie(SessionCookie.cleared(policy: access.policy, request: request))
        return response
    }
}

/// The login body: JSON of at most `maximumLoginBytes`, with a username of the shape every
/// account name has (refused here, before it becomes a Redis key of the throttle).
func loginRequest(_ request: Request) async throws -> LoginRequest {
    guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
        throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                       message: "a login is a JSON body (Content-Type: application/json) with username, password and code")
    }
    let body: ByteBuffer
    do {
        body = try await request.body.collect(upTo: maximumLoginBytes)
    } catch {
        // A 400, not a 413: nothing that large is a login, whatever the limit.
        throw APIError(status: .badRequest, code: "invalid_login", message: "a login body is at most \(maximumLoginBytes) bytes")
    }
    return try decodedLogin(body)
}

func decodedLogin(_ body: ByteBuffer) throws(APIError) -> LoginRequest {
    let credentials: LoginRequest
    do {
        credentials = try JSONDecoder().decode(LoginRequest.self, from: Data(body.readableBytesView))
    } catch {
        throw APIError(status: .badRequest, code: "invalid_login",
                       message: "the body must be a JSON object with the strings username, password and code")
    }
    do {
        try AccessName.check(credentials.username, kind: "user")
    } catch {
        // Not echoed: a password typed into the username field must not come back.
        throw APIError(status: .badRequest, code: "invalid_login", message: "a username is \(AccessName.allowed)")
    }
    return credentials
}
