import Foundation

/// `scripts/stack.py`, the one definition of the no-Docker stack's servers: the tests' Redis
/// and sshd get their ports, keys, configuration files and command line from it, as the
/// local stack and the chaos test do. The test process spawns the server itself
/// (`stack.py exec` becomes it) so `ManagedProcess` owns, signals and reaps it.
struct StackDefinition {
    /// What `stack.py prepare --json` printed.
    struct Endpoints: Decodable {
        let ports: [String: Int]
        let keys: String
        let user: String
        let env: [String: String]
    }

    let root: URL
    let endpoints: Endpoints

    /// Lays out one component in `root` (a fresh directory): ports, keys, configuration.
    init(component: String, root: URL, arguments: [String] = []) throws {
        self.root = root
        let output = try Self.run(["prepare", "--root", root.path, "--only", component, "--json"] + arguments)
        endpoints = try JSONDecoder().decode(Endpoints.self, from: Data(output.utf8))
    }

    func port(_ component: String) -> Int { endpoints.ports[component] ?? 0 }

    /// The arguments that run the component in the foreground: `python3 stack.py exec`.
    func execArguments(_ component: String) throws -> [String] {
        [try Self.python.get(), Self.script, "exec", "--root", root.path, component]
    }

    /// Blocks until the component accepts connections on its declared port. Polled here rather
    /// than by running stack.py again: each Python start blocks one of the two cooperative
    /// threads the rest of the parallel test run needs.
    func waitUntilReady(_ component: String, timeout: Double = 10) throws {
        try Loopback.waitUntilAccepting(port: port(component), timeout: timeout)
    }

    private static var script: String { TestEnvironment.packageRoot.appendingPathComponent("scripts/stack.py").path }

    /// The interpreter itself, found once: `python3` on PATH may be a version manager's shim,
    /// a shell script costing a fraction of a second on every call of a parallel test run.
    private static let python = Result<String, any Error> {
        try TestEnvironment.runBlocking(try TestEnvironment.executable("python3"), ["-c", "import sys; print(sys.executable)"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    private static func run(_ arguments: [String]) throws -> String {
        try TestEnvironment.runBlocking(try python.get(), [script] + arguments)
    }
}
