/// Every way an SFTP session can fail. Each message names what failed and tells the
/// operator what to do about it.
public enum SFTPError: Error, CustomStringConvertible, Sendable, Equatable {
    /// TCP connect failed: refused, unreachable, unresolvable or timed out.
    case connectionFailed(address: String, reason: String)
    /// TCP connected but the SSH handshake failed (not an SSH server, or it stopped answering).
    case handshakeFailed(address: String, reason: String)
    /// The known_hosts file is missing or cannot be parsed.
    case knownHostsUnreadable(path: String, reason: String)
    /// The server's host key is not listed in known_hosts.
    case unknownHostKey(address: String, keyType: String, fingerprint: String, knownHostsPath: String)
    /// known_hosts lists a different key of the same type for this server.
    case hostKeyMismatch(address: String, keyType: String, fingerprint: String, knownHostsPath: String)
    /// The private key file cannot be read or decrypted (missing, wrong passphrase, unsupported format).
    case privateKeyUnusable(path: String, reason: String)
    /// The server refused the key for this user.
    case authenticationFailed(user: String, address: String, keyPath: String, reason: String)
    /// An SFTP request failed; `reason` carries the libssh2 error text and the SFTP status.
    case remoteOperationFailed(operation: String, path: String, reason: String)
    /// The local file to upload cannot be opened or read.
    case localFileUnreadable(path: String, reason: String)
    /// After the upload the remote temporary file does not have the expected size (the local
    /// file's, or what its encoding predicts).
    case sizeMismatch(remotePath: String, expected: UInt64, actual: UInt64)
    /// The remote name is empty or contains a `/`.
    case invalidRemoteName(String)
    /// The session was used after `close()`.
    case sessionClosed

    public var description: String {
        switch self {
        case .connectionFailed(let address, let reason):
            "SFTP: cannot connect to \(address): \(reason). Check SFTP_HOST/SFTP_PORT and that the SFTP server is running."
        case .handshakeFailed(let address, let reason):
            "SFTP: SSH handshake with \(address) failed: \(reason). Check that SFTP_HOST/SFTP_PORT point to an SSH server."
        case .knownHostsUnreadable(let path, let reason):
            "SFTP: cannot read known hosts file \(path): \(reason). Set SFTP_KNOWN_HOSTS to an OpenSSH known_hosts file."
        case .unknownHostKey(let address, let keyType, let fingerprint, let path):
            "SFTP: host key of \(address) (\(keyType) \(fingerprint)) is not in \(path); refusing to connect. "
                + "Verify the fingerprint with the server's administrator, then add the server's key to SFTP_KNOWN_HOSTS "
                + "(e.g. ssh-keyscan \(Self.keyscanArguments(address)) >> \(path))."
        case .hostKeyMismatch(let address, let keyType, let fingerprint, let path):
            "SFTP: HOST KEY MISMATCH for \(address): the server presented \(keyType) \(fingerprint), which differs from "
                + "the key in \(path); refusing to connect (possible man-in-the-middle). If the server's key was "
                + "legitimately changed, replace its line in SFTP_KNOWN_HOSTS."
        case .privateKeyUnusable(let path, let reason):
            "SFTP: cannot use private key \(path): \(reason). Check SFTP_KEY_PATH and SFTP_KEY_PASSPHRASE."
        case .authenticationFailed(let user, let address, let keyPath, let reason):
            "SFTP: server \(address) rejected key \(keyPath) for user '\(user)': \(reason). Add the public key to the "
                + "user's authorized_keys on the server, or fix SFTP_USER/SFTP_KEY_PATH."
        case .remoteOperationFailed(let operation, let path, let reason):
            "SFTP: \(operation) '\(path)' failed: \(reason)"
        case .localFileUnreadable(let path, let reason):
            "SFTP: cannot read local file \(path): \(reason)"
        case .sizeMismatch(let remotePath, let expected, let actual):
            "SFTP: uploaded \(remotePath) has \(actual) bytes, expected \(expected); the upload was not published and will be retried."
        case .invalidRemoteName(let name):
            "SFTP: invalid remote file name '\(name)': it must be non-empty and contain no '/'"
        case .sessionClosed:
            "SFTP: the session is closed; connect again"
        }
    }

    /// True for failures that may go away by themselves (server down, network, timeout), so a
    /// retry loop should log them as warnings; false for ones that need an operator's fix
    /// (host key, credentials, configuration), which keep failing until someone acts.
    public var isTransient: Bool {
        switch self {
        case .connectionFailed, .handshakeFailed, .remoteOperationFailed, .sizeMismatch, .sessionClosed: true
        case .knownHostsUnreadable, .unknownHostKey, .hostKeyMismatch, .privateKeyUnusable, .authenticationFailed,
            .localFileUnreadable, .invalidRemoteName: false
        }
    }

    private static func keyscanArguments(_ address: String) -> String {
        guard let colon = address.lastIndex(of: ":") else { return address }
        var host = String(address[..<colon])
        let port = address[address.index(after: colon)...]
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return port == "22" ? host : "-p \(port) \(host)"
    }
}
