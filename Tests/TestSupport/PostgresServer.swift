public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL 15 (Debian's `postgresql` package) on a random loopback port, its data
/// directory in a fresh temp directory, with one superuser role that logs in over TCP with a
/// scram-sha-256 password (so a wrong password really fails). Settings trade durability for
/// speed: a test cluster never survives a crash anyway.
///
/// `initdb` and `postgres` refuse to run as root; as root (as CI runs) both run as the
/// `postgres` system user the package creates, through `setpriv`, which execs rather than
/// forks, so the process the test holds is the postmaster itself and signals reach it.
public final class PostgresServer: @unchecked Sendable {
    public let port: Int
    public let user = "etl_test"
    public let password = "etl-test-password-\(UUID().uuidString.prefix(8))"
    public let directory: URL
    private var process: ManagedProcess?

    public var host: String { "127.0.0.1" }

    /// Where Debian installs the server binaries.
    public static let binaries = "/usr/lib/postgresql/15/bin"

    /// Starts one on a thread of its own: `initdb` and waiting for the server take seconds,
    /// and on the cooperative pool that would stall the tests running beside this one.
    public static func start() async throws -> PostgresServer {
        try await TestEnvironment.onOwnThread {
            let server = try PostgresServer()
            do {
                try server.initialiseCluster()
                try server.launch()
            } catch {
                server.stop()
                throw error
            }
            return server
        }
    }

    /// `stop()` on a thread of its own: the server's shutdown takes a moment.
    public func shutDown() async {
        _ = try? await TestEnvironment.onOwnThread { [self] in stop() }
    }

    private init() throws {
        guard FileManager.default.isExecutableFile(atPath: "\(Self.binaries)/postgres") else {
            throw TestSupportError.executableNotFound("\(Self.binaries)/postgres (apt-get install postgresql)")
        }
        directory = try TestEnvironment.temporaryDirectory("postgres")
        port = try Loopback.freePort()
    }

    deinit { stop() }

    private var dataDirectory: String { directory.appendingPathComponent("data").path }
    private var logPath: String { directory.appendingPathComponent("postgres.log").path }

    /// `initdb` with the test role as the superuser and its password from a file (never on a
    /// command line); TCP logins need scram-sha-256.
    private func initialiseCluster() throws {
        let passwordFile = directory.appendingPathComponent("password").path
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        try handOverToServerUser()
        let (executable, arguments) = try asServerUser("\(Self.binaries)/initdb", [
            "-D", dataDirectory, "-U", user, "--pwfile=\(passwordFile)",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-locale", "--no-sync",
        ])
        try TestEnvironment.runBlocking(executable, arguments)
    }

    private func launch() throws {
        let (executable, arguments) = try asServerUser("\(Self.binaries)/postgres", [
            "-D", dataDirectory, "-p", String(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "shared_buffers=16MB", "-c", "max_connections=60", "-c", "ssl=off",
        ])
        process = try ManagedProcess(executable: executable, arguments: arguments, logPath: logPath)
        try waitUntilReady()
    }

    /// The postmaster accepts TCP before it accepts logins (`the database system is starting
    /// up`); its log says when logins work.
    private func waitUntilReady(timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if log.contains("database system is ready to accept connections") { return }
            if let process, !process.isRunning {
                throw TestSupportError.commandFailed("postgres", status: process.stop(), output: log)
            }
            usleep(50_000)
        }
        throw TestSupportError.timedOut("postgres on 127.0.0.1:\(port): \(process?.log() ?? "")")
    }

    /// Fast shutdown (SIGINT: disconnect clients, checkpoint, exit), then the directory goes.
    /// SIGTERM would be a smart shutdown, which waits for every client to leave.
    public func stop() {
        if let process {
            kill(process.processIdentifier, SIGINT)
            if process.waitUntilExit(timeout: 20) == nil { process.stop() }
            self.process = nil
        }
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Running as the server user

    private static var isRoot: Bool { geteuid() == 0 }

    /// `command` as it must be run: directly, or as root through `setpriv` as `postgres`.
    private func asServerUser(_ executable: String, _ arguments: [String]) throws -> (String, [String]) {
        guard Self.isRoot else { return (executable, arguments) }
        let setpriv = try TestEnvironment.executable("setpriv")
        return (setpriv, ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable] + arguments)
    }

    /// As root, gives the temp directory to `postgres`: initdb creates the data directory in
    /// it and the server writes its files there.
    private func handOverToServerUser() throws {
        guard Self.isRoot else { return }
        guard let account = getpwnam("postgres") else {
            throw TestSupportError.executableNotFound("the postgres system user (apt-get install postgresql creates it)")
        }
        let owner = account.pointee.pw_uid
        let group = account.pointee.pw_gid
        let paths = [directory.path] + ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .map { directory.appendingPathComponent($0).path }
        for path in paths where chown(path, owner, group) != 0 {
            throw TestSupportError.commandFailed("chown postgres \(path)", status: errno, output: String(cString: strerror(errno)))
        }
    }
}
