import Connectors
import Foundation

/// How the pages of an `api_rest` endpoint follow each other, with the query parameter
/// names the API uses.
enum RESTPagination: Sendable, Equatable {
    case none
    case limitSkip(limitParam: String, skipParam: String)
    case page(pageParam: String, perPageParam: String, startPage: Int)
    case cursor(cursorParam: String, limitParam: String, cursorPath: [String])
    case linkHeader

    static let styles = ["none", "limit_skip", "page", "cursor", "link_header"]

    init(config: ConnectorConfig) {
        switch config.string("pagination") {
        case "limit_skip":
            self = .limitSkip(limitParam: config.string("limit_param") ?? "limit", skipParam: config.string("skip_param") ?? "skip")
        case "page":
            self = .page(pageParam: config.string("page_param") ?? "page", perPageParam: config.string("per_page_param") ?? "per_page",
                         startPage: config.integer("start_page") ?? 1)
        case "cursor":
            self = .cursor(cursorParam: config.string("cursor_param") ?? "cursor", limitParam: config.string("limit_param") ?? "limit",
                           cursorPath: RESTBodyLayout.path(config.string("cursor_path") ?? ""))
        case "link_header":
            self = .linkHeader
        default:
            self = .none
        }
    }

    /// The config's name for this style.
    var style: String {
        switch self {
        case .none: "none"
        case .limitSkip: "limit_skip"
        case .page: "page"
        case .cursor: "cursor"
        case .linkHeader: "link_header"
        }
    }

    var cursorPath: [String]? {
        if case .cursor(_, _, let path) = self { return path }
        return nil
    }
}

/// Where one page is: its URL (without credentials) and how messages name it.
struct PageLocation: Sendable, Equatable {
    var url: String
    /// 1-based: the how-manieth page of this walk.
    var number: Int
    /// Records received before this page.
    var skip: Int
    /// The cursor this page was asked with (cursor pagination).
    var cursor: String?
    /// `skip=200` (limit_skip), `page 3` (the page parameter, or the page's number).
    var label: String
}

/// The pages of one read: the first, and the one after each, until the pagination says
/// the last was reached.
struct PageWalk: Sendable {
    let connector: String
    let endpoint: String
    let pagination: RESTPagination
    let pageSize: Int

    func firstPage() -> PageLocation {
        location(number: 1, skip: 0, cursor: nil)
    }

    /// The page after `current`, nil when `current` was the last: limit_skip and page stop at
    /// an empty page, at `total` when the body gives it and otherwise at a short page; cursor
    /// when the next cursor is missing, null or empty; link_header when there is no next link.
    func page(after current: PageLocation, fetched: FetchedPage) throws(ConnectorError) -> PageLocation? {
        let received = fetched.body.records.count
        switch pagination {
        case .none:
            return nil
        case .limitSkip, .page:
            let seen = current.skip + received
            guard received > 0 else { return nil }
            if let total = fetched.body.total {
                guard seen < total else { return nil }
            } else {
                guard received >= pageSize else { return nil }
            }
            return location(number: current.number + 1, skip: seen, cursor: nil)
        case .cursor:
            guard let next = fetched.body.nextCursor, !next.isEmpty else { return nil }
            guard next != current.cursor else {
                throw problem(at: current, "the answer's next cursor is the one this page was asked with: stopped rather than read it forever")
            }
            return location(number: current.number + 1, skip: current.skip + received, cursor: next)
        case .linkHeader:
            guard let header = fetched.linkHeader, let target = LinkHeader.nextTarget(in: header) else { return nil }
            guard let resolved = URL(string: target, relativeTo: URL(string: current.url))?.absoluteString else {
                throw problem(at: current, "the Link header's next target <\(target)> is not a URL")
            }
            guard URLQuery.sameOrigin(resolved, endpoint) else {
                throw problem(at: current, "the Link header's next page \(resolved) is on another host than the endpoint: not followed (the credentials would go with it)")
            }
            guard resolved != current.url else {
                throw problem(at: current, "the Link header's next page is this page again: stopped rather than read it forever")
            }
            let number = current.number + 1
            return PageLocation(url: resolved, number: number, skip: current.skip + received, cursor: nil, label: "page \(number)")
        }
    }

    /// The `number`th page, after `skip` records (and asked with `cursor`).
    private func location(number: Int, skip: Int, cursor: String?) -> PageLocation {
        switch pagination {
        case .none, .linkHeader:
            return PageLocation(url: endpoint, number: number, skip: skip, cursor: nil, label: "page \(number)")
        case .limitSkip(let limitParam, let skipParam):
            let url = URLQuery.setting([(limitParam, String(pageSize)), (skipParam, String(skip))], in: endpoint)
            return PageLocation(url: url, number: number, skip: skip, cursor: nil, label: "skip=\(skip)")
        case .page(let pageParam, let perPageParam, let startPage):
            let page = startPage + number - 1
            let url = URLQuery.setting([(pageParam, String(page)), (perPageParam, String(pageSize))], in: endpoint)
            return PageLocation(url: url, number: number, skip: skip, cursor: nil, label: "page \(page)")
        case .cursor(let cursorParam, let limitParam, _):
            let items: [(name: String, value: String)] = [(limitParam, String(pageSize))] + (cursor.map { [(cursorParam, $0)] } ?? [])
            return PageLocation(url: URLQuery.setting(items, in: endpoint), number: number, skip: skip, cursor: cursor, label: "page \(number)")
        }
    }

    private func problem(at location: PageLocation, _ message: String) -> ConnectorError {
        ConnectorError(.fetch, connector: connector, object: location.url, position: location.label, message)
    }
}

/// Query strings built by hand, so that a cursor's `+`, `/` or `=` reach the API as sent.
enum URLQuery {
    /// `url` with each `(name, value)` set: earlier parameters of those names dropped, the
    /// others kept in their order, the new ones appended, percent-encoded.
    static func setting(_ items: [(name: String, value: String)], in url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        let names = Set(items.map(\.name))
        let kept = (components.percentEncodedQueryItems ?? []).filter { !names.contains($0.name.removingPercentEncoding ?? $0.name) }
        components.percentEncodedQueryItems = kept + items.map { URLQueryItem(name: percentEncoded($0.name), value: percentEncoded($0.value)) }
        return components.string ?? url
    }

    /// `text` with everything but RFC 3986's unreserved characters percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// Whether both URLs name the same scheme, host and port (the scheme's default when absent).
    static func sameOrigin(_ first: String, _ second: String) -> Bool {
        func origin(_ url: String) -> String? {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                let host = components.host?.lowercased()
            else { return nil }
            let port = components.port ?? (scheme == "https" ? 443 : 80)
            return "\(scheme)://\(host):\(port)"
        }
        guard let first = origin(first) else { return false }
        return first == origin(second)
    }
}

/// RFC 8288 `Link` headers: `<https://api/x?page=3>; rel="next", </x?page=9>; rel="last"`.
enum LinkHeader {
    /// The target of the first link whose `rel` (a space-separated list) holds `next`.
    static func nextTarget(in header: String) -> String? {
        var rest = Substring(header)
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { return nil }
            let target = String(rest[rest.index(after: open)..<close])
            let (parameters, remainder) = linkParameters(of: rest[rest.index(after: close)...])
            let relations = parameters["rel"]?.split(separator: " ").map { $0.lowercased() } ?? []
            if relations.contains("next") { return target }
            rest = remainder
        }
        return nil
    }

    /// The `; name=value` parameters of one link, up to the comma that starts the next one
    /// (a comma inside quotes does not), and the text after that comma.
    private static func linkParameters(of text: Substring) -> (parameters: [String: String], rest: Substring) {
        var inQuotes = false
        var end = text.endIndex
        for index in text.indices {
            let character = text[index]
            if character == "\"" { inQuotes.toggle() } else if character == ",", !inQuotes { end = index; break }
        }
        var parameters: [String: String] = [:]
        for part in text[..<end].split(separator: ";") {
            let pieces = part.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2 else { continue }
            let name = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
            var value = pieces[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            if parameters[name] == nil { parameters[name] = value }
        }
        return (parameters, end == text.endIndex ? text[end...] : text[text.index(after: end)...])
    }
}
