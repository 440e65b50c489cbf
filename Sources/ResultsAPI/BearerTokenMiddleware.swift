import Hummingbird

/// `API_TOKEN`: when set, every request needs `Authorization: Bearer <token>` (that token or
/// `API_ADMIN_TOKEN`) except `GET /health` (orchestrators probe it without credentials; it
/// tells nothing personal) and CORS preflights (browsers never attach credentials to them). The dashboard page and
/// `/openapi.json` are protected too: one rule, no list of exceptions to keep in step.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The operations the OpenAPI document marks with an empty security requirement:
    /// `/health` for probes; the dashboard's files hold no data (the page asks the person
    /// for the token and sends it with every data request).
    let openPaths: Set<String>
    /// `API_TOKEN`, and `API_ADMIN_TOKEN` when set.
    let accepted: [[UInt8]]

    init(tokens: [String], openPaths: Set<String>) {
        accepted = tokens.map { Array($0.utf8) }
        self.openPaths = openPaths
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths.contains(request.uri.path) || isPreflight(request) {
            return try await next(request, context)
        }
        // Every token compared, so the timing does not tell which one was nearly right.
        guard let presented = request.bearerToken,
              accepted.map({ Self.constantTimeEquals(presented, $0) }).contains(true) else {
            var error = APIError(status: .unauthorized, code: "unauthorized",
                                 message: "this API requires the header 'Authorization: Bearer <API_TOKEN>'")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        return try await next(request, context)
    }

    private func isPreflight(_ request: Request) -> Bool {
        request.method == .options && request.headers[.origin] != nil && request.headers[.accessControlRequestMethod] != nil
    }

    /// Compares without an early exit, so the answer's timing says nothing about how many
    /// leading bytes of a guess were right. (The length may leak; the token's bytes do not.)
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        difference |= lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
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
