import ETLCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ResultsAPI
import Testing

/// The dashboard routes on their own router (the real-browser check is scripts/dashboard-check.sh).
@Suite struct DashboardTests {
    private func app(chartJSPath: String?) -> some ApplicationProtocol {
        let router = Router(context: APIRequestContext.self, options: .autoGenerateHeadEndpoints)
        addDashboardRoutes(to: router, chartJSPath: chartJSPath)
        return Application(router: router)
    }

    private func temporaryChartJS(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("dashboard-tests-\(UUID().uuidString)-chart.min.js")
        try Data(contents.utf8).write(to: url)
        return url
    }

    @Test func pageAndItsOwnFilesCarryTheTestHooks() async throws {
        try await app(chartJSPath: "/nonexistent/chart.js").test(.router) { client in
            var page = ""
            for (path, type) in [("/assets/dashboard.css", "text/css; charset=utf-8"),
                                 ("/assets/dashboard.js", "application/javascript; charset=utf-8")] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == type)
                    #expect(response.headers[.init("X-Content-Type-Options")!] == "nosniff")
                    page += String(buffer: response.body)
                }
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                #expect(html.hasPrefix("<!doctype html>"))
                #expect(html.contains("<link rel=\"stylesheet\" href=\"assets/dashboard.css\">"))
                #expect(html.contains("<script src=\"assets/dashboard.js\"></script>"))
                #expect(!html.contains("<script>") && !html.contains("<style>"), "no inline script or style")
                for id in ["runs-table", "runs-status-filter", "users-table", "users-department-filter",
                           "dlq-table", "dlq-error-filter", "chart-runs", "chart-departments", "token-form"] {
                    #expect(html.contains("id=\"\(id)\""), "missing #\(id)")
                }
                // Each filter is a labelled <select> inside its column's header cell.
                for id in ["runs-status-filter", "users-department-filter", "dlq-error-filter"] {
                    #expect(html.contains("<label for=\"\(id)\">"), "no label for #\(id)")
                }
                // Works offline: the only script is Chart.js from this origin.
                #expect(html.contains("<script src=\"assets/chart.js\"></script>"))
                page += html
                #expect(!page.contains("http://") && !page.contains("https://"), "no external resources")
                #expect(page.contains("charts unavailable") || page.contains("Charts unavailable"))
            }
        }
    }

    @Test func chartJSIsServedFromTheConfiguredPath() async throws {
        let file = try temporaryChartJS("/* Chart.js stand-in */ window.Chart = function () {};\n")
        defer { try? FileManager.default.removeItem(at: file) }
        try await app(chartJSPath: file.path).test(.router) { client in
            let etag = try await client.execute(uri: "/assets/chart.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/javascript; charset=utf-8")
                #expect(response.headers[.cacheControl]?.contains("max-age=") == true)
                #expect(String(buffer: response.body).contains("Chart.js stand-in"))
                return response.headers[.eTag]
            }
            let tag = try #require(etag)
            try await client.execute(uri: "/assets/chart.js", method: .get, headers: [.ifNoneMatch: tag]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test func missingChartJSIsAJSON404() async throws {
        try await app(chartJSPath: "/nonexistent/chart.min.js").test(.router) { client in
            try await client.execute(uri: "/assets/chart.js", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: String]
                #expect(body?["error"] == "chartjs_unavailable")
                #expect(body?["message"]?.contains("libjs-chart.js") == true)
            }
        }
    }

    @Test func theAPIRouterServesTheDashboardBeforeAnyDatabaseExists() async throws {
        let file = try temporaryChartJS("window.Chart = function () {};\n")
        defer { try? FileManager.default.removeItem(at: file) }
        var logger = Logger(label: "dashboard-tests")
        logger.logLevel = .critical
        let configuration = APIConfiguration(databasePath: "/nonexistent/dashboard-tests/data.db", chartJSPath: file.path)
        let app = Application(router: try makeAPIRouter(configuration: configuration, logger: logger))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("id=\"runs-table\""))
            }
            try await client.execute(uri: "/assets/chart.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/javascript; charset=utf-8")
            }
            // What the page turns into its "no data yet" state.
            try await client.execute(uri: "/etl_runs", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }

    @Test func defaultPathIsTheDebianPackages() {
        #expect(Dashboard.defaultChartJSPath == "/usr/share/javascript/chart.js/chart.min.js")
    }
}
