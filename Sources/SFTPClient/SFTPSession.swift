import CLibssh2
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// libssh2_init is not thread-safe; a global `let` is initialised exactly once, lazily and
/// atomically, the first time a session connects.
private let libssh2InitStatus: Int32 = libssh2_init(0)

/// One authenticated SFTP session. All methods are blocking: callers run them off the cooperative pool (ETLCore.BlockingExecutor).
///
/// libssh2 sessions are not thread-safe, so every public method holds `lock` for its whole
/// duration: one operation at a time. After a timeout or a transport error the session is
/// likely unusable; the caller closes it and connects again.
public final class SFTPSession: @unchecked Sendable {
    let endpoint: SFTPEndpoint
    /// Guards the libssh2 session and handle (C state, so the lock holds no value).
    private let lock = Mutex(())
    private var socket: Int32
    private var session: OpaquePointer?
    private var sftpHandle: OpaquePointer?

    private init(endpoint: SFTPEndpoint, socket: Int32, session: OpaquePointer) {
        self.endpoint = endpoint
        self.socket = socket
        self.session = session
    }

    deinit { close() }

    /// Connects, checks the host key against known_hosts, authenticates with the key and
    /// starts the SFTP subsystem. Throws a typed `SFTPError` for each step that can fail.
    public static func connect(_ endpoint: SFTPEndpoint) throws -> SFTPSession {
        guard libssh2InitStatus == 0 else {
            throw SFTPError.handshakeFailed(address: endpoint.address, reason: "libssh2_init failed (\(libssh2InitStatus))")
        }
        let socket = try TCPConnector.connect(
            host: endpoint.host, port: endpoint.port, timeoutSeconds: endpoint.timeoutSeconds, address: endpoint.address)
        guard let raw = libssh2_session_init_ex(nil, nil, nil, nil) else {
            Glibc.close(socket)
            throw SFTPError.handshakeFailed(address: endpoint.address, reason: "libssh2_session_init failed")
        }
        // From here on `connection` owns the socket and the session: any throw closes both (deinit).
        let connection = SFTPSession(endpoint: endpoint, socket: socket, session: raw)
        try connection.establish()
        return connection
    }

    private func establish() throws {
        guard let session else { throw SFTPError.sessionClosed }
        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, Int(max(endpoint.timeoutSeconds, 0.001) * 1000))
        // known_hosts is read before the handshake: a bad file fails fast, and its key types
        // steer which host key algorithm gets negotiated.
        let knownHosts = try KnownHosts(session: session, endpoint: endpoint)
        if let methods = knownHosts.preferredHostKeyMethods() {
            _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, methods)
        }
        guard libssh2_session_handshake(session, socket) == 0 else {
            throw SFTPError.handshakeFailed(address: endpoint.address, reason: lastErrorText())
        }
        // The host key is checked before any credential is sent to the server.
        try knownHosts.verify(session: session)
        try authenticate(session)
        guard let sftp = libssh2_sftp_init(session) else {
            throw SFTPError.remoteOperationFailed(operation: "start SFTP subsystem on", path: endpoint.address,
                                                  reason: lastErrorText())
        }
        sftpHandle = sftp
    }

    private func authenticate(_ session: OpaquePointer) throws {
        let keyPath = endpoint.privateKeyPath
        guard FileManager.default.isReadableFile(atPath: keyPath) else {
            throw SFTPError.privateKeyUnusable(path: keyPath, reason: "file does not exist or is not readable")
        }
        // With no .pub next to it, NULL makes libssh2 derive the public key from the private one.
        let publicKeyPath = FileManager.default.isReadableFile(atPath: keyPath + ".pub") ? keyPath + ".pub" : nil
        // Never NULL: libssh2's OpenSSL passphrase callback calls strlen() on it.
        let passphrase = endpoint.passphrase ?? ""
        let user = endpoint.user
        let status = libssh2_userauth_publickey_fromfile_ex(
            session, user, UInt32(user.utf8.count), publicKeyPath, keyPath, passphrase)
        guard status != 0 else { return }
        let reason = lastErrorText()
        if status == LIBSSH2_ERROR_FILE || Self.isLocalSigningFailure(reason) {
            throw SFTPError.privateKeyUnusable(
                path: keyPath, reason: reason + " (wrong passphrase, or a key format this libssh2 cannot read)")
        }
        throw SFTPError.authenticationFailed(user: user, address: endpoint.address, keyPath: keyPath, reason: reason)
    }

    /// With a `.pub` file the server may accept the public key, and only then does libssh2 open
    /// the private key to sign. If that fails (wrong passphrase) libssh2 reports the same code
    /// as a server rejection (LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED), so only its message says
    /// the failure was local: "Callback returned error" (userauth.c, libssh2 1.10).
    private static func isLocalSigningFailure(_ reason: String) -> Bool {
        reason.hasPrefix("Callback returned error")
    }

    /// Idempotent; also called from deinit.
    public func close() {
        lock.withLock { _ in closeLocked() }
    }

    private func closeLocked() {
        if let sftp = sftpHandle { libssh2_sftp_shutdown(sftp) }
        sftpHandle = nil
        if let session {
            libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "closing", "")
            libssh2_session_free(session)
        }
        session = nil
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
    }

    // MARK: Helpers for the operations (SFTPSession+Operations.swift)

    /// Runs `body` with the SFTP handle while holding the lock.
    func withSFTP<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try lock.withLock { _ throws -> T in
            guard let sftp = sftpHandle else { throw SFTPError.sessionClosed }
            return try body(sftp)
        }
    }

    /// The last libssh2 error, with the SFTP status code when the server answered with one.
    func lastErrorText() -> String {
        guard let session else { return "session closed" }
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        var text = message.map { String(cString: $0) } ?? "unknown error"
        if text.isEmpty { text = "libssh2 error \(code)" }
        if code == LIBSSH2_ERROR_SFTP_PROTOCOL, let sftp = sftpHandle {
            let status = libssh2_sftp_last_error(sftp)
            text += " (SFTP status \(status): \(SFTPStatus.name(status)))"
        }
        if code == LIBSSH2_ERROR_TIMEOUT { text += " (timed out after \(endpoint.timeoutSeconds) s)" }
        return text
    }

    /// The SFTP status of the last failed request, or nil when the failure was not an SFTP status.
    func lastSFTPStatus(_ sftp: OpaquePointer) -> UInt? {
        guard let session, libssh2_session_last_errno(session) == LIBSSH2_ERROR_SFTP_PROTOCOL else { return nil }
        return libssh2_sftp_last_error(sftp)
    }

    func failure(_ operation: String, _ path: String) -> SFTPError {
        .remoteOperationFailed(operation: operation, path: path, reason: lastErrorText())
    }
}

enum SFTPStatus {
    static func name(_ status: UInt) -> String {
        switch status {
        case UInt(LIBSSH2_FX_EOF): "end of file"
        case UInt(LIBSSH2_FX_NO_SUCH_FILE): "no such file"
        case UInt(LIBSSH2_FX_PERMISSION_DENIED): "permission denied"
        case UInt(LIBSSH2_FX_FAILURE): "failure (on SFTP v3 servers often: already exists)"
        case UInt(LIBSSH2_FX_BAD_MESSAGE): "bad message"
        case UInt(LIBSSH2_FX_NO_CONNECTION): "no connection"
        case UInt(LIBSSH2_FX_CONNECTION_LOST): "connection lost"
        case UInt(LIBSSH2_FX_OP_UNSUPPORTED): "operation unsupported"
        case UInt(LIBSSH2_FX_NO_SUCH_PATH): "no such path"
        case UInt(LIBSSH2_FX_FILE_ALREADY_EXISTS): "file already exists"
        case UInt(LIBSSH2_FX_WRITE_PROTECT): "write protected"
        case UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): "no space left on the server's filesystem"
        case UInt(LIBSSH2_FX_QUOTA_EXCEEDED): "quota exceeded"
        case UInt(LIBSSH2_FX_NOT_A_DIRECTORY): "not a directory"
        default: "status \(status)"
        }
    }
}
