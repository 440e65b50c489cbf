import Foundation
import SFTPClient
import Testing
import TestSupport

/// Host key checking, authentication and connection failures: each is a distinct typed error.
extension SFTPClientTests {
    @Suite("SFTP connection and security")
    struct SFTPConnectionTests {
        @Test("a server missing from known_hosts is refused before authenticating")
        func unknownHost() async throws {
            try await withServer { server in
                // The right key, but filed under another port: that is a different host to ssh.
                let knownHosts = server.scratch("known_hosts_other")
                try "[127.0.0.1]:1 \(server.hostPublicKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)

                let error = #expect(throws: SFTPError.self) {
                    try SFTPSession.connect(server.endpoint(knownHostsPath: knownHosts))
                }

                guard case .unknownHostKey(let address, let keyType, let fingerprint, let path) = error else {
                    Issue.record("expected unknownHostKey, got \(String(describing: error))")
                    return
                }
                #expect(address == "127.0.0.1:\(server.port)")
                #expect(keyType == "ssh-ed25519")
                #expect(fingerprint == (try server.fingerprint(of: server.hostPublicKey)))
                #expect(path == knownHosts)
                #expect(error?.description.contains("SFTP_KNOWN_HOSTS") == true)
                #expect(!server.log().contains("Accepted publickey"))
                #expect(!server.log().contains("Failed publickey"))
            }
        }

        @Test("an empty known_hosts file means unknown host")
        func emptyKnownHosts() async throws {
            try await withServer { server in
                let knownHosts = server.scratch("known_hosts_empty")
                _ = FileManager.default.createFile(atPath: knownHosts, contents: Data())
                let error = #expect(throws: SFTPError.self) {
                    try SFTPSession.connect(server.endpoint(knownHostsPath: knownHosts))
                }
                guard case .unknownHostKey = error else {
                    Issue.record("expected unknownHostKey, got \(String(describing: error))")
                    return
                }
            }
        }

        @Test("a different key on file for the server is a host key mismatch, refused before authenticating")
        func hostKeyMismatch() async throws {
            try await withServer { server in
                let impostor = try SSHDServer.generateKey(at: server.scratch("impostor_key"), comment: "impostor")
                let knownHosts = server.scratch("known_hosts_mismatch")
                try "[127.0.0.1]:\(server.port) \(impostor)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)

                let error = #expect(throws: SFTPError.self) {
                    try SFTPSession.connect(server.endpoint(knownHostsPath: knownHosts))
                }

                guard case .hostKeyMismatch(let address, let keyType, _, _) = error else {
                    Issue.record("expected hostKeyMismatch, got \(String(describing: error))")
                    return
                }
                #expect(address == "127.0.0.1:\(server.port)")
                #expect(keyType == "ssh-ed25519")
                #expect(error?.description.contains("MISMATCH") == true)
                #expect(!server.log().contains("Accepted publickey"))
                #expect(!server.log().contains("Failed publickey"))
            }
        }

        @Test("a server with several host keys is verified with the key type known_hosts lists")
        func negotiatesKnownHostKeyType() async throws {
            // Real servers (atmoz/sftp) have more host keys than operators put in known_hosts;
            // libssh2 alone may pick ECDSA here and call a correctly configured server unknown.
            try await withServer(additionalHostKeyTypes: ["ecdsa", "rsa"]) { server in
                let session = try server.connect()
                defer { session.close() }
                #expect(try session.list(remoteDirectory: server.uploadRoot.path).isEmpty)
            }
        }

        @Test("a missing known_hosts file is a configuration error")
        func missingKnownHosts() async throws {
            try await withServer { server in
                let missing = server.scratch("no_known_hosts")
                #expect(throws: SFTPError.knownHostsUnreadable(path: missing, reason: "file does not exist or is not readable")) {
                    try SFTPSession.connect(server.endpoint(knownHostsPath: missing))
                }
            }
        }

        @Test("a key the server does not know is an authentication error")
        func wrongClientKey() async throws {
            try await withServer { server in
                let otherKey = server.scratch("other_ed25519")
                try SSHDServer.generateKey(at: otherKey, comment: "stranger")

                let error = #expect(throws: SFTPError.self) {
                    try SFTPSession.connect(server.endpoint(keyPath: otherKey))
                }

                guard case .authenticationFailed(let user, _, let keyPath, _) = error else {
                    Issue.record("expected authenticationFailed, got \(String(describing: error))")
                    return
                }
                #expect(user == server.user)
                #expect(keyPath == otherKey)
                #expect(!server.log().contains("Accepted publickey"))
            }
        }

        @Test("a missing private key file is reported as such")
        func missingPrivateKey() async throws {
            try await withServer { server in
                let missing = server.scratch("no_such_key")
                let error = #expect(throws: SFTPError.self) { try SFTPSession.connect(server.endpoint(keyPath: missing)) }
                guard case .privateKeyUnusable(let path, _) = error else {
                    Issue.record("expected privateKeyUnusable, got \(String(describing: error))")
                    return
                }
                #expect(path == missing)
            }
        }

        @Test("an ed25519 key without its .pub file works (libssh2 derives the public key)")
        func keyWithoutPublicFile() async throws {
            try await withServer { server in
                let key = server.scratch("nopub_ed25519")
                let publicKey = try SSHDServer.generateKey(at: key, comment: "nopub")
                try FileManager.default.removeItem(atPath: key + ".pub")
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: server.authorizedKeysPath))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data((publicKey + "\n").utf8))
                try handle.close()

                let session = try SFTPSession.connect(server.endpoint(keyPath: key))
                defer { session.close() }
                #expect(try session.list(remoteDirectory: server.uploadRoot.path).isEmpty)
            }
        }

        @Test("a passphrase-protected ed25519 key works with its passphrase and is unusable without it")
        func passphraseProtectedKey() async throws {
            try await withServer { server in
                let key = server.scratch("secret_ed25519")
                let publicKey = try SSHDServer.generateKey(at: key, passphrase: "correct horse", comment: "secret")
                try (try String(contentsOfFile: server.authorizedKeysPath, encoding: .utf8) + publicKey + "\n")
                    .write(toFile: server.authorizedKeysPath, atomically: true, encoding: .utf8)

                let session = try SFTPSession.connect(server.endpoint(keyPath: key, passphrase: "correct horse"))
                session.close()
                let error = #expect(throws: SFTPError.self) {
                    try SFTPSession.connect(server.endpoint(keyPath: key, passphrase: "wrong"))
                }
                guard case .privateKeyUnusable = error else {
                    Issue.record("expected privateKeyUnusable, got \(String(describing: error))")
                    return
                }
            }
        }

        @Test("a closed port is a connection error, reported at once")
        func connectionRefused() throws {
            let port = try Loopback.freePort()
            let endpoint = SFTPEndpoint(host: "127.0.0.1", port: port, user: "nobody", privateKeyPath: "/nonexistent",
                                        knownHostsPath: "/nonexistent", timeoutSeconds: 10)
            let started = Date()
            let error = #expect(throws: SFTPError.self) { try SFTPSession.connect(endpoint) }
            #expect(Date().timeIntervalSince(started) < 2)
            guard case .connectionFailed(let address, let reason) = error else {
                Issue.record("expected connectionFailed, got \(String(describing: error))")
                return
            }
            #expect(address == "127.0.0.1:\(port)")
            #expect(reason.contains("refused"))
            #expect(error?.isTransient == true)
        }

        @Test("an unresolvable host is a connection error")
        func unresolvableHost() throws {
            let endpoint = SFTPEndpoint(host: "no-such-host.invalid", port: 22, user: "nobody", privateKeyPath: "/nonexistent",
                                        knownHostsPath: "/nonexistent", timeoutSeconds: 2)
            let error = #expect(throws: SFTPError.self) { try SFTPSession.connect(endpoint) }
            guard case .connectionFailed(_, let reason) = error else {
                Issue.record("expected connectionFailed, got \(String(describing: error))")
                return
            }
            #expect(reason.contains("resolve"))
        }

        @Test("a server that accepts TCP but never speaks SSH times out instead of hanging")
        func silentServerTimesOut() async throws {
            try await withServer { server in
                let silent = try SilentListener()
                var endpoint = server.endpoint(timeoutSeconds: 1)
                endpoint.port = silent.port
                let started = Date()
                let error = #expect(throws: SFTPError.self) { try SFTPSession.connect(endpoint) }
                #expect(Date().timeIntervalSince(started) < 5)
                guard case .handshakeFailed = error else {
                    Issue.record("expected handshakeFailed, got \(String(describing: error))")
                    return
                }
            }
        }
    }
}
