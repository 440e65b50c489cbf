import Foundation
import SFTPClient
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// All SFTP suites nest under this one, serialized: each test blocks its thread on sshd and
/// libssh2 calls, and on this 2-core machine running one at a time keeps the rest of the test
/// binary (whose async tests share the cooperative pool) responsive. The tests are
/// synchronous on purpose: expectations recorded from another thread (e.g. a GCD queue)
/// would not be attributed to their test.
@Suite("SFTPClient", .serialized)
struct SFTPClientTests {}

/// Starts an sshd for one test and always stops it, whatever the test does.
/// Runs `body` against a fresh sshd, on a thread of its own: the SFTP client blocks on its
/// socket, and on the cooperative pool (two threads here) that would stall every test beside it.
func withServer(additionalHostKeyTypes: [String] = [], _ body: @escaping @Sendable (SSHDServer) throws -> Void) async throws {
    try await TestEnvironment.onOwnThread {
        let server = try SSHDServer.start(additionalHostKeyTypes: additionalHostKeyTypes)
        defer { server.stop() }
        try body(server)
    }
}

extension SSHDServer {
    func endpoint(keyPath: String? = nil, passphrase: String? = nil, knownHostsPath: String? = nil,
                  timeoutSeconds: Double = 10) -> SFTPEndpoint {
        SFTPEndpoint(host: "127.0.0.1", port: port, user: user, privateKeyPath: keyPath ?? clientKeyPath,
                     passphrase: passphrase, knownHostsPath: knownHostsPath ?? self.knownHostsPath,
                     timeoutSeconds: timeoutSeconds)
    }

    func connect() throws -> SFTPSession { try SFTPSession.connect(endpoint()) }

    /// Files under uploadRoot, as the server's filesystem sees them.
    func localNames(in subdirectory: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: uploadRoot.appendingPathComponent(subdirectory).path).sorted()
    }

    /// A path in the test's temp dir, outside what the server exposes for uploads.
    func scratch(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// Writes `count` pseudo-random bytes (no repeating pattern that could hide a misplaced chunk).
func writeRandomFile(_ path: String, count: Int) throws -> Data {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    for index in stride(from: 0, to: count, by: 8) {
        let word = generator.next() as UInt64
        for offset in 0..<min(8, count - index) { bytes[index + offset] = UInt8(truncatingIfNeeded: word >> (offset * 8)) }
    }
    let data = Data(bytes)
    try data.write(to: URL(fileURLWithPath: path))
    return data
}

/// A TCP listener that completes connections (kernel backlog) but never says a word:
/// what a hung server looks like to a client.
final class SilentListener {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound, listen(descriptor, 8) == 0 else {
            close(descriptor)
            throw TestSupportError.commandFailed("listen", status: errno, output: "cannot listen")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
