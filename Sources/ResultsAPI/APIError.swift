import ETLCore
import Foundation
public import HTTPTypes
public import Hummingbird
import Logging

/// An error answered as JSON `{"error": code, "message": text}` with its HTTP status.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public static func badParameter(_ name: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_parameter", message: "\(name): \(message)")
    }

    static func runNotFound(_ id: String) -> APIError {
        APIError(status: .notFound, code: "run_not_found", message: "no run \(id)")
    }

    public static func databaseUnavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, code: "database_unavailable", message: message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONBody.response(bytes: JSONErrorBody.bytes(code: code, message: message), status: status)
        response.headers.append(contentsOf: headers)
        if status == .serviceUnavailable, response.headers[.retryAfter] == nil {
            response.headers[.retryAfter] = "5"
        }
        return response
    }
}

/// The one shape of every error body: `{"error": code, "message": text}`.
enum JSONErrorBody {
    static func bytes(code: String, message: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + message.utf8.count)
        writer.beginObject()
        writer.key("error"); writer.string(code)
        writer.key("message"); writer.string(message)
        writer.endObject()
        return writer.bytes
    }
}

enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        // Encoding the API's own DTOs (strings, numbers, arrays) cannot fail.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error into the API's JSON error shape: `APIError` as is, Hummingbird's own
/// (404 for an unknown route, …) with a code, anything unexpected as a logged 500.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let code = switch error.status {
            case .notFound: "not_found"
            case .methodNotAllowed: "method_not_allowed"
            case .badRequest: "bad_request"
            default: "http_error"
            }
            let message = error.status == .notFound
                ? "no route for \(request.method.rawValue) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            var api = APIError(status: error.status, code: code, message: message)
            api.headers = error.headers
            return try api.response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try APIError(status: .internalServerError, code: "internal_error", message: "internal error; see the api logs")
                .response(from: request, context: context)
        }
    }
}

/// A method the served document does not declare for a path is 405 with the `Allow` the
/// document gives: the api reads, but for `/session` (logins) and, with `API_ADMIN_TOKEN`,
/// the admin operations.
struct DeclaredMethodsMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The document this api serves.
    let served: APIDocument

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let allowed = served.allowedMethods(for: request.uri.path)
        guard allowed.contains(request.method.rawValue) else {
            let adminHint = APIDocument.bundled.allowedMethods(for: request.uri.path).contains(request.method.rawValue)
                ? " (POST /connectors and POST /connectors/{id}/run are served when API_ADMIN_TOKEN is set)" : ""
            var error = APIError(status: .methodNotAllowed, code: "method_not_allowed",
                                 message: "\(request.method.rawValue) is not allowed on \(request.uri.path)" + adminHint)
            error.headers[.allow] = allowed.joined(separator: ", ")
            throw error
        }
        return try await next(request, context)
    }
}

/// CORS for `CORS_ORIGINS` with Hummingbird's `CORSMiddleware`: `*` allows any origin; a
/// list allows exactly those origins (the request's origin is echoed when listed, and no
/// CORS header is sent otherwise).
///
/// `OPTIONS` is answered here, on every path, before any route or token check: 204 with
/// `Allow`, plus the `Access-Control-*` preflight headers when the origin is allowed
/// (browsers send preflights without credentials, and a plain `OPTIONS` asks what is allowed).
struct OriginListCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    static var methods: [HTTPRequest.Method] { [.get, .head, .options] }
    static var allowedHeaders: [HTTPField.Name] { [.accept, .authorization, .contentType, .origin] }
    static var maxAgeSeconds: Int { 600 }

    let origins: Set<String>
    let allowed: CORSMiddleware<Context>
    /// The document served: `Allow` names the methods it declares for each path.
    let document: APIDocument

    init(origins: [String], document: APIDocument) {
        self.document = document
        self.origins = Set(origins)
        allowed = CORSMiddleware(allowOrigin: origins.contains("*") ? .all : .originBased, allowHeaders: Self.allowedHeaders,
                                 allowMethods: Self.methods, exposedHeaders: ["X-Total-Count"], maxAge: .seconds(Int64(Self.maxAgeSeconds)))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        let originAllowed = origin.map { origins.contains("*") || origins.contains($0) } ?? false
        if request.method == .options {
            return preflight(origin: originAllowed ? origin : nil, methods: document.allowedMethods(for: request.uri.path))
        }
        guard originAllowed, let origin else { return try await next(request, context) }
        var response = try await allowed.handle(request, context: context, next: next)
        // Hummingbird sends Expose-Headers on preflights only; browsers need it on the
        // real answer to let the frontend read X-Total-Count.
        if !origin.isEmpty {
            response.headers[.accessControlExposeHeaders] = "X-Total-Count"
        }
        return response
    }

    private func preflight(origin: String?, methods allowedMethods: [String]) -> Response {
        let methods = allowedMethods.joined(separator: ", ")
        var headers: HTTPFields = [.allow: methods]
        if let origin {
            headers[.accessControlAllowOrigin] = origins.contains("*") ? "*" : origin
            headers[.accessControlAllowMethods] = methods
            headers[.accessControlAllowHeaders] = Self.allowedHeaders.map(\.canonicalName).joined(separator: ", ")
            headers[.accessControlMaxAge] = String(Self.maxAgeSeconds)
            headers[.accessControlExposeHeaders] = "X-Total-Count"
            if !origins.contains("*") { headers[.vary] = "Origin" }
        }
        return Response(status: .noContent, headers: headers)
    }
}
