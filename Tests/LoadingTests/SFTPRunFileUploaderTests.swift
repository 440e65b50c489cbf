import AgeEncryption
import ETLCore
import Foundation
import Loading
import Logging
import Testing
import TestSupport

/// The saver's uploader against a real OpenSSH sshd, with `UPLOAD_AGE_RECIPIENTS` set: every
/// remote file must open with Debian's `age -d` to the local file, byte for byte.
@Suite("SFTP uploads encrypted with age", .serialized)
struct SFTPRunFileUploaderTests {
    @Test("with recipients, a run's files land as .age, each decrypting with every recipient's key to the local file")
    func encryptedRunUpload() async throws {
        let server = try await SSHDServer.started()
        do {
            try await Self.uploadAndDecrypt(server)
        } catch {
            _ = try? await TestEnvironment.onOwnThread { server.stop() }
            throw error
        }
        // Stopping waits for sshd to exit: on a thread of its own, not the cooperative pool.
        _ = try await TestEnvironment.onOwnThread { server.stop() }
    }

    static func uploadAndDecrypt(_ server: SSHDServer) async throws {
        let directory = server.directory.appendingPathComponent("saver")
        let (files, keys) = try await prepareRun(in: directory)
        var sftp = SFTPConfiguration(
            host: "127.0.0.1", port: server.port, user: server.user, privateKeyPath: server.clientKeyPath,
            knownHostsPath: server.knownHostsPath, remoteDirectory: server.uploadRoot.path)
        sftp.ageRecipients = try keys.map { try AgeRecipient(parsing: $0.recipient) }
        let uploader = SFTPRunFileUploader(configuration: sftp, logger: Logger(label: "test.sftp-age"))

        let remote = try await uploader.upload(files: files)

        #expect(remote == files.map { server.uploadRoot.path + "/" + $0.lastPathComponent + ".age" })
        // Only the final names: no plaintext copy and no temporary file left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: server.uploadRoot.path).sorted()
        #expect(names == files.map { $0.lastPathComponent + ".age" }.sorted())
        for (local, remotePath) in zip(files, remote) {
            let original = try Data(contentsOf: local)
            let encrypted = try Data(contentsOf: URL(fileURLWithPath: remotePath))
            #expect(encrypted.starts(with: Data("age-encryption.org/v1\n".utf8)))
            #expect(encrypted.range(of: original.prefix(64)) == nil, "plaintext on the server")
            for key in keys {
                let output = directory.appendingPathComponent("decrypted-\(local.lastPathComponent)").path
                // `age` creates its output only when it writes to it: an empty file must exist already.
                FileManager.default.createFile(atPath: output, contents: Data())
                try await TestEnvironment.run(
                    try TestEnvironment.executable("age"), ["-d", "-i", key.identityPath, "-o", output, remotePath])
                #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == original, "\(remotePath)")
            }
        }

        // A re-run (the retry service after a lost acknowledgement) finds them complete and keeps them.
        let before = try Data(contentsOf: URL(fileURLWithPath: remote[1]))
        #expect(try await uploader.upload(files: files) == remote)
        #expect(try Data(contentsOf: URL(fileURLWithPath: remote[1])) == before)

        // Without recipients, uploads are as they were: the plain file under its own name.
        sftp.ageRecipients = []
        let plain = try await SFTPRunFileUploader(configuration: sftp, logger: Logger(label: "test.sftp")).upload(files: [files[0]])
        #expect(plain == [server.uploadRoot.path + "/" + files[0].lastPathComponent])
        #expect(try Data(contentsOf: URL(fileURLWithPath: plain[0])) == Data(contentsOf: files[0]))
    }

    /// A run's three files (one empty, one of exactly two chunks, one of several MB) and two
    /// key pairs made by `age-keygen`.
    static func prepareRun(in directory: URL) async throws -> ([URL], [(identityPath: String, recipient: String)]) {
        let runID = RunID(date: Date(timeIntervalSince1970: 1_800_000_000))
        let runFiles = RunFiles(dataDirectory: directory.appendingPathComponent("data"), runID: runID)
        try RunFiles.createDirectories(under: runFiles.dataDirectory)
        let sizes = [(runFiles.raw, 5 * 1024 * 1024 + 777), (runFiles.processed, 2 * 65_536), (runFiles.deadLetter, 0)]
        var generator = SystemRandomNumberGenerator()
        for (file, size) in sizes {
            try Data((0..<size).map { _ in generator.next() as UInt8 }).write(to: file)
        }
        let keygen = try TestEnvironment.executable("age-keygen")
        var keys: [(identityPath: String, recipient: String)] = []
        for name in ["first", "second"] {
            let path = directory.appendingPathComponent("\(name).txt").path
            try await TestEnvironment.run(keygen, ["-o", path])
            let recipient = try await TestEnvironment.run(keygen, ["-y", path]).trimmingCharacters(in: .whitespacesAndNewlines)
            keys.append((identityPath: path, recipient: recipient))
        }
        return (sizes.map(\.0), keys)
    }
}
