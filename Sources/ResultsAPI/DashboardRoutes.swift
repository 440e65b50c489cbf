import ETLCore
import Foundation
public import Hummingbird
import Synchronization

/// The human-facing dashboard served next to the JSON API: `GET /` (the page,
/// `Resources/index.html`), its style sheet and script (`GET /assets/dashboard.css`,
/// `GET /assets/dashboard.js`: vanilla JavaScript over the JSON API, no build step, no CDN),
/// and `GET /assets/chart.js` (Chart.js, from the Debian package `libjs-chart.js`; without it
/// the page still shows its tables).
///
/// Stable hooks for tests: `#runs-table`, `#runs-status-filter`, `#users-table`,
/// `#users-department-filter`, `#dlq-table`, `#dlq-error-filter`, `#chart-runs`,
/// `#chart-departments` (each canvas gets `data-rendered="true"` once Chart.js drew it), and
/// on every table `data-state` (`loading`, `ready`, `empty`, `error`) and `data-query` (the
/// query string of the request it shows).
public enum Dashboard {
    /// Where Debian's `libjs-chart.js` installs its UMD build (it defines `window.Chart`):
    /// `CHARTJS_PATH`'s default.
    public static let defaultChartJSPath = Settings.chartJSPath.defaultValue

    /// The page's own files: route path, resource name, content type.
    static let files: [(path: String, resource: String, contentType: String)] = [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("assets/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
        ("assets/dashboard.js", "dashboard.js", "application/javascript; charset=utf-8"),
    ]
}

/// Registers the dashboard on `router`: `GET /` and `GET /assets/chart.js` (read from
/// `chartJSPath`, `Dashboard.defaultChartJSPath` when nil; a JSON 404 while the file is missing).
public func addDashboardRoutes<Context: RequestContext>(to router: Router<Context>, chartJSPath: String?) {
    let asset = StaticAsset(path: chartJSPath ?? Dashboard.defaultChartJSPath)

    for file in Dashboard.files {
        let body: ByteBuffer
        do {
            body = ByteBuffer(bytes: try PackagedFile.bytes(file.resource))
        } catch {
            fatalError("\(error)")
        }
        var headers = HTTPFields()
        headers[.contentType] = file.contentType
        // Revalidated on every load, so a new release's page never runs an old script.
        headers[.cacheControl] = "no-cache"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("Referrer-Policy")!] = "no-referrer"
        headers[.contentLength] = String(body.readableBytes)
        router.get(RouterPath(file.path)) { [headers] _, _ -> Response in
            Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
        }
    }

    router.get("assets/chart.js") { request, _ -> Response in
        guard let file = asset.load() else {
            throw APIError(status: .notFound, code: "chartjs_unavailable",
                           message: "Chart.js is not installed at \(asset.path) (apt-get install libjs-chart.js, or set CHARTJS_PATH)")
        }
        var headers = HTTPFields()
        headers[.eTag] = file.etag
        headers[.cacheControl] = "public, max-age=86400"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) == file.etag
        }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/javascript; charset=utf-8"
        headers[.contentLength] = String(file.bytes.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.bytes))
    }
}

/// A small file read from disk on first use and kept in memory; re-read when its size or
/// modification time changes (a package upgrade), and looked for again while it is missing.
final class StaticAsset: Sendable {
    struct Loaded: Sendable {
        var bytes: ByteBuffer
        var etag: String
        var size: Int
        var modified: Date
    }

    let path: String
    private let cache = Mutex<Loaded?>(nil)

    init(path: String) {
        self.path = path
    }

    func load() -> Loaded? {
        // `attributesOfItem` describes a symlink itself, not its target: resolve first, so
        // Debian's symlinked names (Chart.min.js -> chart.min.js) work too.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved),
              (attributes[.type] as? FileAttributeType) == .typeRegular,
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            return nil
        }
        let modified = attributes[.modificationDate] as? Date ?? .distantPast
        if let cached = cache.withLock({ $0 }), cached.size == size, cached.modified == modified {
            return cached
        }
        guard let data = FileManager.default.contents(atPath: resolved) else { return nil }
        let loaded = Loaded(
            bytes: ByteBuffer(bytes: data),
            etag: "\"\(String(size, radix: 16))-\(String(Int(modified.timeIntervalSince1970), radix: 16))\"",
            size: size, modified: modified)
        cache.withLock { $0 = loaded }
        return loaded
    }
}
