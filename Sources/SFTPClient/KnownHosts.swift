import CLibssh2
import Foundation

/// The server's entries of an OpenSSH known_hosts file, and the host key check against them.
/// Both an unknown host and a changed key refuse the connection, with distinct errors: the
/// first needs the key added, the second may be an attack.
final class KnownHosts {
    private let hosts: OpaquePointer
    private let endpoint: SFTPEndpoint

    init(session: OpaquePointer, endpoint: SFTPEndpoint) throws {
        let path = endpoint.knownHostsPath
        // libssh2 treats a missing file like a parse error; say plainly which it is.
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw SFTPError.knownHostsUnreadable(path: path, reason: "file does not exist or is not readable")
        }
        guard let hosts = libssh2_knownhost_init(session) else {
            throw SFTPError.knownHostsUnreadable(path: path, reason: "libssh2_knownhost_init failed")
        }
        self.hosts = hosts
        self.endpoint = endpoint
        let count = libssh2_knownhost_readfile(hosts, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
        if count < 0 {
            libssh2_knownhost_free(hosts)
            throw SFTPError.knownHostsUnreadable(path: path, reason: "not an OpenSSH known_hosts file (libssh2 error \(count))")
        }
    }

    deinit { libssh2_knownhost_free(hosts) }

    /// Host key algorithms to offer, from the key types known_hosts holds for this server.
    /// Without this libssh2 may negotiate, say, ECDSA while the file lists the server's
    /// Ed25519 key, and a correctly configured server would look unknown.
    func preferredHostKeyMethods() -> String? {
        var types = Set<Int32>()
        var previous: UnsafeMutablePointer<libssh2_knownhost>?
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        while libssh2_knownhost_get(hosts, &entry, previous) == 0, let current = entry {
            // Hashed entries (no plain name) might be this server: keep their types too.
            if current.pointee.name == nil || namesThisServer(String(cString: current.pointee.name)) {
                types.insert(current.pointee.typemask & LIBSSH2_KNOWNHOST_KEY_MASK)
            }
            previous = current
        }
        let methods = Self.methodsByPreference.filter { types.contains($0.type) }.map(\.methods)
        return methods.isEmpty ? nil : methods.joined(separator: ",")
    }

    /// Checks the key the server presented during the handshake.
    func verify(session: OpaquePointer) throws {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(session, &length, &type) else {
            throw SFTPError.handshakeFailed(address: endpoint.address, reason: "server sent no host key")
        }
        let typemask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | Self.knownHostType(type)
        let result = libssh2_knownhost_checkp(hosts, endpoint.host, Int32(endpoint.port), key, length, typemask, nil)
        let keyType = Self.keyTypeName(type)
        let fingerprint = Self.fingerprint(session)
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            throw SFTPError.hostKeyMismatch(address: endpoint.address, keyType: keyType, fingerprint: fingerprint,
                                            knownHostsPath: endpoint.knownHostsPath)
        default:
            throw SFTPError.unknownHostKey(address: endpoint.address, keyType: keyType, fingerprint: fingerprint,
                                           knownHostsPath: endpoint.knownHostsPath)
        }
    }

    private func namesThisServer(_ name: String) -> Bool {
        name == endpoint.host || name == "[\(endpoint.host)]:\(endpoint.port)"
    }

    private static let methodsByPreference: [(type: Int32, methods: String)] = [
        (LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519"),
        (LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256"),
        (LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384"),
        (LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521"),
        (LIBSSH2_KNOWNHOST_KEY_SSHRSA, "rsa-sha2-512,rsa-sha2-256,ssh-rsa"),
        (LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss"),
    ]

    private static func knownHostType(_ hostKeyType: Int32) -> Int32 {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: LIBSSH2_KNOWNHOST_KEY_SSHRSA
        case LIBSSH2_HOSTKEY_TYPE_DSS: LIBSSH2_KNOWNHOST_KEY_SSHDSS
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case LIBSSH2_HOSTKEY_TYPE_ED25519: LIBSSH2_KNOWNHOST_KEY_ED25519
        default: LIBSSH2_KNOWNHOST_KEY_UNKNOWN
        }
    }

    private static func keyTypeName(_ hostKeyType: Int32) -> String {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: "ssh-rsa"
        case LIBSSH2_HOSTKEY_TYPE_DSS: "ssh-dss"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: "ecdsa-sha2-nistp256"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: "ecdsa-sha2-nistp384"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ecdsa-sha2-nistp521"
        case LIBSSH2_HOSTKEY_TYPE_ED25519: "ssh-ed25519"
        default: "unknown key type"
        }
    }

    /// `SHA256:<base64>` as `ssh-keygen -lf` prints it, so operators can compare.
    private static func fingerprint(_ session: OpaquePointer) -> String {
        guard let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256) else { return "SHA256:?" }
        let bytes = Data(bytes: hash, count: 32)
        return "SHA256:" + bytes.base64EncodedString().replacingOccurrences(of: "=", with: "")
    }
}
