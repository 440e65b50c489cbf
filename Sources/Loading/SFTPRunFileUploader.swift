public import ETLCore
public import Foundation
public import Logging
public import SFTPClient

/// Uploads a run's files to the SFTP server (`SFTP_*`): key authentication only, host key
/// checked against `SFTP_KNOWN_HOSTS`. Each attempt opens its own session (runs are rare,
/// and a fresh connection is the simplest reconnect), creates `SFTP_REMOTE_DIR` if needed,
/// and uploads every file under a temporary name renamed when complete and size-checked.
/// libssh2 blocks, so all of it runs on a `BlockingExecutor`, one upload at a time.
public final class SFTPRunFileUploader: RunFileUploader {
    public let configuration: SFTPConfiguration
    public let timeoutSeconds: Double
    private let executor = BlockingExecutor(label: "saver.sftp")
    private let logger: Logger

    public init(configuration: SFTPConfiguration, timeoutSeconds: Double = 10, logger: Logger) {
        self.configuration = configuration
        self.timeoutSeconds = timeoutSeconds
        self.logger = logger
    }

    public var endpoint: SFTPEndpoint {
        SFTPEndpoint(
            host: configuration.host, port: configuration.port, user: configuration.user,
            privateKeyPath: configuration.privateKeyPath, passphrase: configuration.keyPassphrase,
            knownHostsPath: configuration.knownHostsPath, timeoutSeconds: timeoutSeconds)
    }

    public func upload(files: [URL]) async throws -> [String] {
        let endpoint = endpoint
        let remoteDirectory = configuration.remoteDirectory
        let logger = logger
        return try await executor.run {
            let session = try SFTPSession.connect(endpoint)
            defer { session.close() }
            try session.makeDirectories(remoteDirectory)
            var names: [String] = []
            for file in files {
                let name = file.lastPathComponent
                let bytes = try session.upload(localPath: file.path, remoteDirectory: remoteDirectory, remoteName: name)
                let directory = remoteDirectory.hasSuffix("/") ? String(remoteDirectory.dropLast()) : remoteDirectory
                let remotePath = directory.isEmpty ? name : "\(directory)/\(name)"
                logger.info("uploaded", metadata: ["file": "\(remotePath)", "bytes": "\(bytes)", "host": "\(endpoint.host)"])
                names.append(remotePath)
            }
            return names
        }
    }
}
