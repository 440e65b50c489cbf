public import Connectors
import Foundation

/// A JSON API over HTTP (`api_rest`): pages fetched one after another, each page's records
/// sliced out of its body as they are and handed to the sink in batches. One page is held
/// at a time, whatever the API's size. REST sources keep no incremental state: every run
/// reads every page.
public struct RESTSource: RecordSource {
    public static let schema = ConfigSchema(fields: [
        .required("endpoint", .string, "the URL of the first page (http or https), its own query parameters included"),
        .optional("method", .choice(["GET", "POST"]), default: .string("GET"), "the HTTP method of every page request"),
        .optional("headers", .stringMap, "extra request headers; a value may be ${ENV_VAR}"),
        .optional("body", .string, "the request body of a POST, sent with every page (Content-Type application/json unless headers say otherwise)"),
        .optional("auth_type", .choice(["none", "bearer", "api_key", "basic"]), default: .string("none"),
                  "how to authenticate: bearer (Authorization: Bearer <api_key>), api_key (the key in a header or the query), basic (username and password)"),
        .optional("api_key", .string, secret: true, "the token (bearer) or key (api_key)"),
        .optional("api_key_in", .choice(["header", "query"]), default: .string("header"), "where auth_type api_key sends the key"),
        .optional("api_key_name", .string, "the header (default X-API-Key) or query parameter (default api_key) that carries the key"),
        .optional("username", .string, "the user of basic authentication"),
        .optional("password", .string, secret: true, "the password of basic authentication"),
        .optional("pagination", .choice(RESTPagination.styles), default: .string("none"),
                  "how pages follow each other: none (one request), limit_skip, page, cursor, link_header (RFC 8288 rel=\"next\")"),
        .optional("page_size", .integer(1...10000), default: .integer(100), "records asked for per page (limit_skip, page, cursor)"),
        .optional("limit_param", .string, default: .string("limit"), "the query parameter carrying the page size (limit_skip, cursor)"),
        .optional("skip_param", .string, default: .string("skip"), "the query parameter carrying the records to skip (limit_skip)"),
        .optional("page_param", .string, default: .string("page"), "the query parameter carrying the page number (page)"),
        .optional("per_page_param", .string, default: .string("per_page"), "the query parameter carrying the page size (page)"),
        .optional("start_page", .integer(0...1_000_000), default: .integer(1), "the number of the first page (page)"),
        .optional("cursor_param", .string, default: .string("cursor"), "the query parameter carrying the cursor of the next page (cursor)"),
        .optional("cursor_path", .string, "the dot path of the next page's cursor in the body, e.g. meta.next_cursor (cursor)"),
        .optional("records_path", .string, "the dot path of the records array in the body (users, data.items); absent: the body is the array"),
        .optional("total_path", .string, "the dot path of the total record count in the body (total, meta.total)"),
    ], rules: { crossFieldProblems($0) })

    let connector: String
    let endpoint: String
    let method: String
    let authType: String
    /// The user's headers (`${VAR}` resolved) and the credential header, if any.
    let headers: [String: String]
    /// An `api_key` sent in the query: added to each request's URL, never to the URLs that
    /// errors and logs name.
    let queryCredential: (name: String, value: String)?
    let body: [UInt8]?
    let pagination: RESTPagination
    let pageSize: Int
    let layout: RESTBodyLayout
    /// Every resolved secret, in the forms it may be echoed back in (an error body, a
    /// redirect's location): removed from every message.
    let secretValues: [String]
    let context: SourceContext

    public init(config: ConnectorConfig, context: SourceContext) throws(ConnectorError) {
        guard let endpoint = config.string("endpoint") else {
            throw .configuration(connector: config.connector, field: "endpoint", "is required: the URL of the first page")
        }
        let body = config.string("body").map { Array($0.utf8) }
        var headers: [String: String] = [:]
        // Header values taken from the environment are treated as secrets (tokens, mostly).
        var environmentValues: [String] = []
        for (name, value) in config.stringMap("headers") ?? [:] {
            let expanded = try context.secrets.expand(value, field: "headers.\(name)", connector: config.connector)
            if expanded != value { environmentValues.append(expanded) }
            headers[name] = expanded
        }
        if body != nil, !headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
            headers["Content-Type"] = "application/json"
        }
        let credentials = try Self.credentials(config: config, secrets: context.secrets)
        headers.merge(credentials.headers) { _, credential in credential }

        connector = config.connector
        self.endpoint = endpoint
        self.context = context
        self.body = body
        self.headers = headers
        queryCredential = credentials.query
        secretValues = (credentials.secrets + environmentValues).flatMap { [$0, URLQuery.percentEncoded($0)] }.filter { !$0.isEmpty }
        method = config.string("method") ?? "GET"
        authType = config.string("auth_type") ?? "none"
        pagination = RESTPagination(config: config)
        pageSize = config.integer("page_size") ?? 100
        layout = RESTBodyLayout(
            records: config.string("records_path").map(RESTBodyLayout.path), total: config.string("total_path").map(RESTBodyLayout.path),
            cursor: pagination.cursorPath)
    }

    // MARK: Lifecycle

    /// The first page, as small as the pagination allows: it must answer 2xx with JSON that
    /// holds `records_path`.
    public func check() async throws {
        _ = try await fetch(pageWalk(pageSize: 1).firstPage())
    }

    /// The endpoint as one object, with up to `sampleSize` records of its first page.
    public func discover(sampleSize: Int) async throws -> [DiscoveredObject] {
        let page = try await fetch(pageWalk(pageSize: max(1, min(pageSize, sampleSize))).firstPage())
        var details = ["endpoint": endpoint, "method": method, "pagination": pagination.style]
        if let recordsPath = layout.recordsText { details["records_path"] = recordsPath }
        if let total = page.body.total { details["total"] = String(total) }
        return [DiscoveredObject(name: objectName, details: details, sample: Array(page.body.records.prefix(max(0, sampleSize))))]
    }

    /// Every page, first to last; returns nil (there is no incremental state to keep).
    public func read(after state: IncrementalState?, into sink: any RecordSink) async throws -> IncrementalState? {
        let walk = pageWalk(pageSize: pageSize)
        var location: PageLocation? = walk.firstPage()
        while let current = location {
            try Task.checkCancellation()
            let page = try await fetch(current)
            try await write(page.body.records, from: current, into: sink)
            location = try walk.page(after: current, fetched: page)
        }
        return nil
    }

    // MARK: Parts

    private func pageWalk(pageSize: Int) -> PageWalk {
        PageWalk(connector: connector, endpoint: endpoint, pagination: pagination, pageSize: pageSize)
    }

    /// The page's records in batches of at most `context.batchSize`.
    private func write(_ records: [[UInt8]], from location: PageLocation, into sink: any RecordSink) async throws {
        let batchSize = max(1, context.batchSize)
        var start = 0
        while start < records.count {
            let end = min(start + batchSize, records.count)
            try await sink.write(Array(records[start..<end]), position: location.label)
            start = end
        }
    }

    /// `records_path`, or else the endpoint's last path component (`users` for `…/v1/users`), or its host.
    private var objectName: String {
        if let recordsPath = layout.recordsText { return recordsPath }
        let components = URLComponents(string: endpoint)
        let last = components?.path.split(separator: "/").last.map(String.init)
        return last ?? components?.host ?? endpoint
    }

    /// The credential headers and query parameter `auth_type` calls for, secrets resolved.
    private static func credentials(config: ConnectorConfig, secrets: SecretResolver) throws(ConnectorError)
        -> (headers: [String: String], query: (name: String, value: String)?, secrets: [String])
    {
        func required(_ field: String) throws(ConnectorError) -> String {
            guard let value = try secrets.secret(field, in: config) else {
                throw .configuration(connector: config.connector, field: field, "is required when auth_type is \(config.string("auth_type") ?? "")")
            }
            return value
        }
        switch config.string("auth_type") {
        case "bearer":
            let token = try required("api_key")
            return (["Authorization": "Bearer \(token)"], nil, [token])
        case "api_key":
            let key = try required("api_key")
            if config.string("api_key_in") == "query" { return ([:], (config.string("api_key_name") ?? "api_key", key), [key]) }
            return ([config.string("api_key_name") ?? "X-API-Key": key], nil, [key])
        case "basic":
            guard let username = config.string("username") else {
                throw .configuration(connector: config.connector, field: "username", "is required when auth_type is basic")
            }
            let password = try required("password")
            let encoded = Data("\(username):\(password)".utf8).base64EncodedString()
            return (["Authorization": "Basic \(encoded)"], nil, [password, encoded])
        default:
            return ([:], nil, [])
        }
    }

    // MARK: Validation

    /// The rules between fields: a usable endpoint, the credentials each `auth_type` needs,
    /// a body only with POST, a cursor path for cursor pagination, well-formed dot paths.
    private static func crossFieldProblems(_ config: ConnectorConfig) -> [(field: String, problem: String)] {
        var problems: [(field: String, problem: String)] = []
        if let endpoint = config.string("endpoint"), !isHTTPURL(endpoint) {
            problems.append(("endpoint", "must be an http or https URL with a host, got \"\(endpoint)\""))
        }
        func given(_ field: String) -> Bool { config.values[field] != nil || config.values[field + SecretReference.fileSuffix] != nil }
        switch config.string("auth_type") {
        case "bearer", "api_key":
            if !given("api_key") { problems.append(("api_key", "is required when auth_type is \(config.string("auth_type")!) (or give api_key_file)")) }
        case "basic":
            if !given("username") { problems.append(("username", "is required when auth_type is basic")) }
            if !given("password") { problems.append(("password", "is required when auth_type is basic (or give password_file)")) }
        default:
            break
        }
        if config.string("body") != nil, config.string("method") != "POST" {
            problems.append(("body", "is only sent with method POST"))
        }
        if config.string("pagination") == "cursor", config.string("cursor_path") == nil {
            problems.append(("cursor_path", "is required when pagination is cursor: the dot path of the next cursor in the body"))
        }
        for field in ["records_path", "total_path", "cursor_path"] {
            if let path = config.string(field), RESTBodyLayout.path(path).contains(where: \.isEmpty) {
                problems.append((field, "must be a dot path of member names like data.items, got \"\(path)\""))
            }
        }
        return problems
    }

    private static func isHTTPURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return false }
        return scheme == "http" || scheme == "https"
    }
}
