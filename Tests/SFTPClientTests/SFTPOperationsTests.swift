import Foundation
import SFTPClient
import Testing
import TestSupport

extension SFTPClientTests {
    @Suite("SFTP file operations")
    struct SFTPOperationsTests {
        @Test("makeDirectories creates nested directories and accepts existing ones")
        func nestedDirectories() async throws {
            try await withServer { server in
                let session = try server.connect()
                defer { session.close() }
                let nested = server.uploadRoot.path + "/2024/01/31"

                try session.makeDirectories(nested)
                try session.makeDirectories(nested)
                try session.makeDirectories(server.uploadRoot.path + "/2024/01")

                var isDirectory: ObjCBool = false
                #expect(FileManager.default.fileExists(atPath: nested, isDirectory: &isDirectory) && isDirectory.boolValue)
                let local = server.scratch("h.jsonl")
                _ = try writeRandomFile(local, count: 2048)
                try session.upload(localPath: local, remoteDirectory: nested, remoteName: "h.jsonl")
                #expect(try server.localNames(in: "2024/01/31") == ["h.jsonl"])
            }
        }

        @Test("makeDirectories over an existing file fails")
        func directoryOverFile() async throws {
            try await withServer { server in
                try Data("x".utf8).write(to: server.uploadRoot.appendingPathComponent("file"))
                let session = try server.connect()
                defer { session.close() }
                #expect(throws: SFTPError.self) { try session.makeDirectories(server.uploadRoot.path + "/file/sub") }
            }
        }

        @Test("size, list and remove")
        func sizeListRemove() async throws {
            try await withServer { server in
                let root = server.uploadRoot
                try Data(count: 1234).write(to: root.appendingPathComponent("one"))
                try Data(count: 5).write(to: root.appendingPathComponent("two"))
                let session = try server.connect()
                defer { session.close() }

                #expect(try session.size(ofRemote: root.path + "/one") == 1234)
                #expect(try session.size(ofRemote: root.path + "/missing") == nil)
                #expect(try session.list(remoteDirectory: root.path).sorted() == ["one", "two"])
                try session.remove(remote: root.path + "/one")
                try session.remove(remote: root.path + "/one")  // already gone: fine
                #expect(try server.localNames() == ["two"])
                #expect(throws: SFTPError.self) { try session.list(remoteDirectory: root.path + "/missing") }
            }
        }

        @Test("close is idempotent and a closed session refuses work")
        func closeIsIdempotent() async throws {
            try await withServer { server in
                let session = try server.connect()
                session.close()
                session.close()
                #expect(throws: SFTPError.sessionClosed) { try session.size(ofRemote: server.uploadRoot.path) }
            }
        }
    }
}
