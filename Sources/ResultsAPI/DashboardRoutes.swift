import ETLCore
import Foundation
import Hummingbird
import Synchronization

/// The human-facing dashboard served next to the JSON API: `GET /` (one self-contained HTML
/// page, see `Dashboard.html`) and `GET /assets/chart.js` (Chart.js, from the Debian package
/// `libjs-chart.js`; without it the page still shows its tables).
public enum Dashboard {
    /// Where Debian's `libjs-chart.js` installs its UMD build (it defines `window.Chart`):
    /// `CHARTJS_PATH`'s default.
    public static let defaultChartJSPath = Settings.chartJSPath.defaultValue

    /// The page, encoded once.
    static let pageBuffer = ByteBuffer(string: html)
}

/// Registers the dashboard on `router`: `GET /` and `GET /assets/chart.js` (read from
/// `chartJSPath`, `Dashboard.defaultChartJSPath` when nil; a JSON 404 while the file is missing).
public func addDashboardRoutes<Context: RequestContext>(to router: Router<Context>, chartJSPath: String?) {
    let asset = StaticAsset(path: chartJSPath ?? Dashboard.defaultChartJSPath)

    router.get("/") { _, _ -> Response in
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("Referrer-Policy")!] = "no-referrer"
        headers[.contentLength] = String(Dashboard.pageBuffer.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: Dashboard.pageBuffer))
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
