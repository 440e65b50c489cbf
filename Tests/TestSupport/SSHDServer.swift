public import Foundation

/// A real OpenSSH `sshd` on a random loopback port for tests, as `scripts/stack.py` defines
/// it for every stack this project starts (`config/sshd_config.template`: `internal-sftp`,
/// key authentication only; keys from `scripts/generate-keys.sh`), everything (keys, config,
/// logs, upload area) in a fresh temp dir.
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
    /// An absolute directory the tests use as remote dir.
    public let uploadRoot: URL
    /// The temp directory holding everything; removed by `stop()`.
    public let directory: URL
    /// The server's authorized_keys; tests may append keys (sshd rereads it on each login).
    public let authorizedKeysPath: String
    /// The server's host public key line ("ssh-ed25519 AAAA… comment").
    public let hostPublicKey: String
    private let process: ManagedProcess

    private init(definition: StackDefinition, process: ManagedProcess) throws {
        let keys = URL(fileURLWithPath: definition.endpoints.keys)
        let env = definition.endpoints.env
        port = definition.port("sshd")
        user = definition.endpoints.user
        directory = definition.root
        clientKeyPath = env["SFTP_KEY_PATH"] ?? ""
        knownHostsPath = env["SFTP_KNOWN_HOSTS"] ?? ""
        authorizedKeysPath = keys.appendingPathComponent("authorized_keys").path
        uploadRoot = URL(fileURLWithPath: env["SFTP_REMOTE_DIR"] ?? "")
        hostPublicKey = try String(contentsOf: keys.appendingPathComponent("ssh_host_ed25519_key.pub"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        self.process = process
    }

    deinit { stop() }

    /// Generates keys, writes the config, starts sshd and waits until it serves.
    /// Retries with a new port if another process grabbed the free port first.
    /// `additionalHostKeyTypes` (e.g. `["ecdsa", "rsa"]`) gives the server more host keys
    /// besides ed25519, as real servers have; known_hosts still lists only the ed25519 one.
    /// `start` on a thread of its own, for async tests: generating keys and waiting for the
    /// port would otherwise hold one of the cooperative pool's two threads.
    public static func started(additionalHostKeyTypes: [String] = []) async throws -> SSHDServer {
        try await TestEnvironment.onOwnThread { try start(additionalHostKeyTypes: additionalHostKeyTypes) }
    }

    public static func start(additionalHostKeyTypes: [String] = []) throws -> SSHDServer {
        var lastError: any Error = TestSupportError.timedOut("sshd to start")
        for _ in 0..<3 {
            do { return try startOnce(additionalHostKeyTypes) } catch { lastError = error }
        }
        throw lastError
    }

    private static func startOnce(_ additionalHostKeyTypes: [String]) throws -> SSHDServer {
        let directory = try TestEnvironment.temporaryDirectory("sshd")
        do {
            let definition = try StackDefinition(
                component: "sshd", root: directory, arguments: additionalHostKeyTypes.flatMap { ["--host-key-type", $0] })
            let process = try ManagedProcess(
                executable: try TestEnvironment.executable("sh"),
                arguments: ["-c", supervisorScript] + (try definition.execArguments("sshd")),
                logPath: directory.appendingPathComponent("sshd.log").path)
            let server = try SSHDServer(definition: definition, process: process)
            try server.waitUntilReady(definition)
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

    private func waitUntilReady(_ definition: StackDefinition) throws {
        do {
            try definition.waitUntilReady("sshd")
        } catch {
            let output = log()
            stop()
            throw TestSupportError.commandFailed("sshd", status: -1, output: "\(error)\n\(output)")
        }
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
        try TestEnvironment.runBlocking(keygen, ["-q", "-t", type, "-N", passphrase, "-C", comment, "-f", path])
        return try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension SSHDServer {
    /// `SHA256:…` of a public key line, as `ssh-keygen -lf` computes it. Blocking, as the
    /// server's other calls are: for bodies already on a thread of their own.
    public func fingerprint(of publicKeyLine: String) throws -> String {
        let file = directory.appendingPathComponent("fingerprint-\(UUID().uuidString).pub").path
        try (publicKeyLine + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let output = try TestEnvironment.runBlocking(try TestEnvironment.executable("ssh-keygen"), ["-lf", file, "-E", "sha256"])
        return output.split(separator: " ").dropFirst().first.map(String.init) ?? ""
    }
}
