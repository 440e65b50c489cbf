import AgeEncryption
public import ETLCore
public import Foundation
public import Logging
public import SFTPClient

/// Uploads a run's files to the SFTP server (`SFTP_*`): key authentication only, host key
/// checked against `SFTP_KNOWN_HOSTS`. Each attempt opens its own session (runs are rare,
/// and a fresh connection is the simplest reconnect), creates `SFTP_REMOTE_DIR` if needed,
/// and uploads every file under a temporary name renamed when complete and size-checked.
/// With `UPLOAD_AGE_RECIPIENTS` set, each file is encrypted to them as it streams out and lands
/// as `<name>.age`, its size checked against the encrypted size computed from the local one.
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
        let recipients = configuration.ageRecipients
        let logger = logger
        return try await executor.run {
            let session = try SFTPSession.connect(endpoint)
            defer { session.close() }
            try session.makeDirectories(remoteDirectory)
            var names: [String] = []
            for file in files {
                let encoding = try Self.encoding(for: recipients)
                let name = file.lastPathComponent + (encoding == nil ? "" : Self.encryptedSuffix)
                let bytes = try session.upload(
                    localPath: file.path, remoteDirectory: remoteDirectory, remoteName: name, encoding: encoding)
                let directory = remoteDirectory.hasSuffix("/") ? String(remoteDirectory.dropLast()) : remoteDirectory
                let remotePath = directory.isEmpty ? name : "\(directory)/\(name)"
                logger.info("uploaded", metadata: [
                    "file": "\(remotePath)", "bytes": "\(bytes)", "host": "\(endpoint.host)",
                    "age_recipients": "\(recipients.count)",
                ])
                names.append(remotePath)
            }
            return names
        }
    }

    /// The extension of an encrypted upload, as `age` names its output.
    public static let encryptedSuffix = ".age"

    /// A fresh encryptor per file: age requires a new file key (so a new header) for each.
    static func encoding(for recipients: [AgeRecipient]) throws -> AgeUploadEncoding? {
        recipients.isEmpty ? nil : AgeUploadEncoding(encryptor: try AgeEncryptor(recipients: recipients))
    }
}

/// An upload encrypted in the age format while it streams: the encrypted size follows from
/// the local size, so the remote file is verified without reading anything twice.
struct AgeUploadEncoding: SFTPUploadEncoding {
    let encryptor: AgeEncryptor

    func encodedSize(ofLocalSize size: UInt64) -> UInt64 {
        encryptor.encryptedSize(plaintextSize: size)
    }

    func encode(read: (UnsafeMutableRawBufferPointer) throws -> Int, write: (UnsafeRawBufferPointer) throws -> Void) throws {
        try encryptor.encrypt(read: read, write: write)
    }
}
