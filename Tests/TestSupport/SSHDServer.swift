public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH `sshd` on a random loopback port for tests: `internal-sftp`, key
/// authentication only, everything (keys, config, logs, upload area) in a fresh temp dir.
///
/// No ChrootDirectory (it needs a root-owned path), so clients use absolute paths under
/// `uploadRoot`. Works as root (as CI runs) and as a normal user, who can then only log in
/// as themselves.
public final class SSHDServer: @unchecked Sendable {
    public let port: Int
    public let user: String
    /// Private key accepted by the server (its `.pub` sits next to it).
    public let clientKeyPath: String
    /// A known_hosts file with the server's ed25519 host key for `[127.0.0.1]:<port>`.
    public let knownHostsPath: String
    /// An absolute directory the tests use as remote dir: <tmp>/sftp_root/upload.
    public let uploadRoot: URL
    /// The temp directory holding everything; removed by `stop()`.
    public let directory: URL
    /// The server's authorized_keys; tests may append keys (sshd rereads it on each login).
    public let authorizedKeysPath: String
    /// The server's host public key line ("ssh-ed25519 AAAA… comment").
    public let hostPublicKey: String
    private let process: ManagedProcess

    private init(port: Int, user: String, directory: URL, hostPublicKey: String, process: ManagedProcess) {
        self.port = port
        self.user = user
        self.directory = directory
        self.clientKeyPath = directory.appendingPathComponent("client_ed25519").path
        self.knownHostsPath = directory.appendingPathComponent("known_hosts").path
        self.authorizedKeysPath = directory.appendingPathComponent("authorized_keys").path
        self.uploadRoot = directory.appendingPathComponent("sftp_root/upload")
        self.hostPublicKey = hostPublicKey
        self.process = process
    }

    deinit { stop() }

    /// Generates keys, writes the config, starts sshd and waits until it accepts connections.
    /// Retries with a new port if another process grabbed the free port first.
    /// `additionalHostKeyTypes` (e.g. `["ecdsa", "rsa"]`) gives the server more host keys
    /// besides ed25519, as real servers have; known_hosts still lists only the ed25519 one.
    public static func start(additionalHostKeyTypes: [String] = []) throws -> SSHDServer {
        var lastError: any Error = TestSupportError.timedOut("sshd to start")
        for _ in 0..<3 {
            do { return try startOnce(additionalHostKeyTypes) } catch { lastError = error }
        }
        throw lastError
    }

    private static func startOnce(_ additionalHostKeyTypes: [String]) throws -> SSHDServer {
        let sshd = try TestEnvironment.executable("sshd")
        let directory = try TestEnvironment.temporaryDirectory("sshd")
        do {
            let user = currentUserName()
            let port = try Loopback.freePort()
            let hostPublicKey = try writeKeysAndConfig(
                in: directory, user: user, port: port, additionalHostKeyTypes: additionalHostKeyTypes)
            // As root, sshd insists on its privilege-separation directory.
            if getuid() == 0 { try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true) }
            let config = directory.appendingPathComponent("sshd_config").path
            let process = try ManagedProcess(
                executable: try TestEnvironment.executable("sh"),
                arguments: ["-c", supervisorScript, sshd, "-D", "-e", "-f", config],
                logPath: directory.appendingPathComponent("sshd.log").path)
            let server = SSHDServer(port: port, user: user, directory: directory, hostPublicKey: hostPublicKey, process: process)
            try server.waitUntilReady()
            return server
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Runs sshd (`$0 "$@"`) as a child of `sh` and forwards SIGTERM/SIGINT to it.
    ///
    /// Why not start sshd directly: Foundation's `Process` on Linux learns that a child exited
    /// when the child's end of an inherited socketpair closes, then calls a blocking
    /// `waitpid` on its single process-manager thread. sshd closes every inherited descriptor
    /// at start-up (`closefrom`), so that thread would block in `waitpid(sshd)` until sshd
    /// exits, and no other `Process` in the test binary (ssh-keygen, redis-server, …) would
    /// be reaped meanwhile: tests deadlock. `sh` keeps the descriptor open and exits when
    /// sshd does, so `ManagedProcess` sees the real lifetime.
    private static let supervisorScript = """
        trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
        "$0" "$@" &
        child=$!
        wait "$child"
        """

    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else {
                let output = log()
                throw TestSupportError.commandFailed("sshd", status: process.stop(), output: output)
            }
            if Loopback.canConnect(port: port) { return }
            usleep(50_000)
        }
        let output = log()
        stop()
        throw TestSupportError.timedOut("sshd on 127.0.0.1:\(port): \(output)")
    }

    public func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public func log() -> String { process.log() }

    /// A new key pair (OpenSSH format, ed25519 by default) at `path` and `path.pub`, optionally
    /// passphrase-protected; returns the public key line.
    @discardableResult
    public static func generateKey(at path: String, type: String = "ed25519", passphrase: String = "",
                                   comment: String = "test") throws -> String {
        let keygen = try TestEnvironment.executable("ssh-keygen")
        try TestEnvironment.run(keygen, ["-q", "-t", type, "-N", passphrase, "-C", comment, "-f", path])
        return try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Setup

    /// Returns the host public key line.
    private static func writeKeysAndConfig(in directory: URL, user: String, port: Int,
                                           additionalHostKeyTypes: [String]) throws -> String {
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let hostKey = try generateKey(at: path("ssh_host_ed25519_key"), comment: "test-host")
        for type in additionalHostKeyTypes {
            try generateKey(at: path("ssh_host_\(type)_key"), type: type, comment: "test-host")
        }
        let clientKey = try generateKey(at: path("client_ed25519"), comment: "test-client")
        try (clientKey + "\n").write(toFile: path("authorized_keys"), atomically: true, encoding: .utf8)
        try "[127.0.0.1]:\(port) \(hostKey)\n".write(toFile: path("known_hosts"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("sftp_root/upload"), withIntermediateDirectories: true)
        let hostKeys = [path("ssh_host_ed25519_key")] + additionalHostKeyTypes.map { path("ssh_host_\($0)_key") }
        try config(directory: directory, user: user, port: port, hostKeys: hostKeys).write(
            toFile: path("sshd_config"), atomically: true, encoding: .utf8)
        return hostKey
    }

    private static func config(directory: URL, user: String, port: Int, hostKeys: [String]) throws -> String {
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        // Without PAM, an unprivileged sshd cannot read the shadow file and calls every account
        // "locked"; with PAM as root, session modules (pam_loginuid) fail in containers.
        let usePAM = getuid() != 0
        let filled = [
            "@PORT@": String(port), "@HOST_KEYS@": hostKeys.map { "HostKey \($0)" }.joined(separator: "\n"),
            "@PID_FILE@": "none", "@AUTHORIZED_KEYS@": path("authorized_keys"), "@USER@": user,
            "@USE_PAM@": usePAM ? "yes" : "no", "@LOG_LEVEL@": "VERBOSE",
        ].reduce(try configTemplate()) { text, field in text.replacingOccurrences(of: field.key, with: field.value) }
        return filled
    }

    /// `config/sshd_config.template`, the one sshd configuration of the repository.
    private static func configTemplate() throws -> String {
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../config/sshd_config.template").standardizedFileURL
        return try String(contentsOf: template, encoding: .utf8)
    }

    private static func currentUserName() -> String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return NSUserName()
    }
}
