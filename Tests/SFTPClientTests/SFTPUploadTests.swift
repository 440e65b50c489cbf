import Foundation
import SFTPClient
import Testing
import TestSupport

/// Uploads against a real OpenSSH sshd (ed25519 host key and ed25519 client key).
extension SFTPClientTests {
    @Suite("SFTP uploads")
    struct SFTPUploadTests {
        @Test("a multi-MB file arrives complete, byte for byte, with no temporary file left")
        func uploadsLargeFile() async throws {
            try await withServer { server in
                // What `ssh-keygen -t ed25519` writes, and what the project ships: OpenSSH format.
                let key = try String(contentsOfFile: server.clientKeyPath, encoding: .utf8)
                #expect(key.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----"))
                #expect(server.hostPublicKey.hasPrefix("ssh-ed25519 "))
                let local = server.scratch("big.jsonl")
                let content = try writeRandomFile(local, count: 5 * 1024 * 1024 + 12_345)
                let session = try server.connect()
                defer { session.close() }

                let sent = try session.upload(localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "big.jsonl")

                #expect(sent == UInt64(content.count))
                #expect(try session.size(ofRemote: server.uploadRoot.path + "/big.jsonl") == UInt64(content.count))
                #expect(try Data(contentsOf: server.uploadRoot.appendingPathComponent("big.jsonl")) == content)
                #expect(try server.localNames() == ["big.jsonl"])
                #expect(try session.list(remoteDirectory: server.uploadRoot.path) == ["big.jsonl"])
                // Positive control for the "never authenticated" checks in the host key tests.
                #expect(server.log().contains("Accepted publickey for \(server.user)"))
            }
        }

        @Test("re-uploading a file whose remote copy has the same size is skipped")
        func reuploadIsSkipped() async throws {
            try await withServer { server in
                let local = server.scratch("a.jsonl")
                let content = try writeRandomFile(local, count: 100_000)
                let session = try server.connect()
                defer { session.close() }
                try session.upload(localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "a.jsonl")
                // Same size, different bytes: only a skipped upload leaves these in place.
                let marker = Data(repeating: 0x41, count: content.count)
                try marker.write(to: server.uploadRoot.appendingPathComponent("a.jsonl"))

                let sent = try session.upload(localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "a.jsonl")

                #expect(sent == UInt64(content.count))
                #expect(try Data(contentsOf: server.uploadRoot.appendingPathComponent("a.jsonl")) == marker)
                #expect(try server.localNames() == ["a.jsonl"])
            }
        }

        @Test("an existing remote file of a different size is replaced")
        func differentFileIsReplaced() async throws {
            try await withServer { server in
                let local = server.scratch("b.jsonl")
                let content = try writeRandomFile(local, count: 70_000)
                try Data("stale partial content".utf8).write(to: server.uploadRoot.appendingPathComponent("b.jsonl"))
                let session = try server.connect()
                defer { session.close() }

                try session.upload(localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "b.jsonl")

                #expect(try Data(contentsOf: server.uploadRoot.appendingPathComponent("b.jsonl")) == content)
                #expect(try server.localNames() == ["b.jsonl"])
            }
        }

        @Test("leftover temporary files of an interrupted upload are cleaned up, others are untouched")
        func staleTemporaryFilesAreRemoved() async throws {
            try await withServer { server in
                let local = server.scratch("c.jsonl")
                _ = try writeRandomFile(local, count: 1000)
                let root = server.uploadRoot
                try Data("half".utf8).write(to: root.appendingPathComponent(".c.jsonl.part-OLD"))
                try Data("other".utf8).write(to: root.appendingPathComponent(".d.jsonl.part-OLD"))
                let session = try server.connect()
                defer { session.close() }

                try session.upload(localPath: local, remoteDirectory: root.path + "/", remoteName: "c.jsonl")

                #expect(try server.localNames() == [".d.jsonl.part-OLD", "c.jsonl"])
            }
        }

        @Test("an empty file uploads as an empty file")
        func emptyFile() async throws {
            try await withServer { server in
                let local = server.scratch("empty.jsonl")
                _ = FileManager.default.createFile(atPath: local, contents: Data())
                let session = try server.connect()
                defer { session.close() }

                #expect(try session.upload(localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "e.jsonl") == 0)
                #expect(try session.size(ofRemote: server.uploadRoot.path + "/e.jsonl") == 0)
            }
        }

        @Test("a missing local file is a clear error and leaves nothing on the server")
        func missingLocalFile() async throws {
            try await withServer { server in
                let session = try server.connect()
                defer { session.close() }
                let missing = server.scratch("does-not-exist.jsonl")

                let error = #expect(throws: SFTPError.self) {
                    try session.upload(localPath: missing, remoteDirectory: server.uploadRoot.path, remoteName: "x.jsonl")
                }

                guard case .localFileUnreadable(let path, let reason) = error else {
                    Issue.record("expected localFileUnreadable, got \(String(describing: error))")
                    return
                }
                #expect(path == missing)
                #expect(reason.contains("No such file"))
                #expect(error?.description.contains(missing) == true)
                #expect(try server.localNames().isEmpty)
            }
        }

        @Test("a remote name with a slash is rejected")
        func invalidRemoteName() async throws {
            try await withServer { server in
                let local = server.scratch("f.jsonl")
                _ = try writeRandomFile(local, count: 10)
                let session = try server.connect()
                defer { session.close() }
                #expect(throws: SFTPError.invalidRemoteName("../f.jsonl")) {
                    try session.upload(localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "../f.jsonl")
                }
            }
        }

        @Test("uploading into a directory that does not exist fails with the remote path and SFTP status")
        func missingRemoteDirectory() async throws {
            try await withServer { server in
                let local = server.scratch("g.jsonl")
                _ = try writeRandomFile(local, count: 10)
                let session = try server.connect()
                defer { session.close() }
                let error = #expect(throws: SFTPError.self) {
                    try session.upload(localPath: local, remoteDirectory: server.uploadRoot.path + "/nope", remoteName: "g.jsonl")
                }
                guard case .remoteOperationFailed(_, let path, let reason) = error else {
                    Issue.record("expected remoteOperationFailed, got \(String(describing: error))")
                    return
                }
                #expect(path == server.uploadRoot.path + "/nope")
                #expect(reason.contains("no such file"))
            }
        }

        @Test("with an encoding, its output is what lands, checked against the size it predicts")
        func encodedUpload() async throws {
            try await withServer { server in
                let local = server.scratch("h.jsonl")
                let content = try writeRandomFile(local, count: 300_001)
                let session = try server.connect()
                defer { session.close() }

                let sent = try session.upload(
                    localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "h.jsonl.x",
                    encoding: PrefixedXOR(prefix: Data("HEAD".utf8)))

                #expect(sent == UInt64(content.count + 4))
                let expected = Data("HEAD".utf8) + Data(content.map { $0 ^ 0x5a })
                #expect(try Data(contentsOf: server.uploadRoot.appendingPathComponent("h.jsonl.x")) == expected)
                #expect(try server.localNames() == ["h.jsonl.x"])
            }
        }

        @Test("an encoded upload whose size is not the predicted one is not published")
        func encodedSizeMismatch() async throws {
            try await withServer { server in
                let local = server.scratch("i.jsonl")
                _ = try writeRandomFile(local, count: 1_000)
                let session = try server.connect()
                defer { session.close() }

                let error = #expect(throws: SFTPError.self) {
                    try session.upload(
                        localPath: local, remoteDirectory: server.uploadRoot.path, remoteName: "i.jsonl.x",
                        encoding: PrefixedXOR(prefix: Data("HEAD".utf8), predictedExtra: 5))
                }
                guard case .sizeMismatch(_, let expected, let actual) = error else {
                    Issue.record("expected sizeMismatch, got \(String(describing: error))")
                    return
                }
                #expect(expected == 1_009 && actual == 1_004)
                #expect(try server.localNames().isEmpty, "neither the final name nor a temporary file")
            }
        }
    }
}

/// A stand-in encoding: a fixed prefix, then every byte XORed, through small buffers. Its size
/// prediction can be made wrong by `predictedExtra`, to see the size check refuse the upload.
struct PrefixedXOR: SFTPUploadEncoding {
    let prefix: Data
    var predictedExtra: UInt64 = 0

    func encodedSize(ofLocalSize size: UInt64) -> UInt64 { UInt64(prefix.count) + size + predictedExtra }

    func encode(read: (UnsafeMutableRawBufferPointer) throws -> Int, write: (UnsafeRawBufferPointer) throws -> Void) throws {
        try prefix.withUnsafeBytes(write)
        var buffer = [UInt8](repeating: 0, count: 10_000)
        while true {
            let count = try buffer.withUnsafeMutableBytes(read)
            if count == 0 { return }
            let encoded = buffer[..<count].map { $0 ^ 0x5a }
            try encoded.withUnsafeBytes(write)
        }
    }
}
