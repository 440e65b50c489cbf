/// Where and how to reach the SFTP server. Key authentication only: there is deliberately
/// no password field, and the server's host key is always checked against `knownHostsPath`.
public struct SFTPEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    /// OpenSSH private key (`ssh-keygen -t ed25519`); `<privateKeyPath>.pub` is used when present.
    public var privateKeyPath: String
    /// Passphrase of the private key; nil or empty for an unencrypted key.
    public var passphrase: String?
    /// OpenSSH `known_hosts` file that must list the server's host key.
    public var knownHostsPath: String
    /// Bounds the TCP connect and every blocking libssh2 call, so a dead server never hangs a stage.
    public var timeoutSeconds: Double

    public init(host: String, port: Int, user: String, privateKeyPath: String, passphrase: String? = nil,
                knownHostsPath: String, timeoutSeconds: Double = 10) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeyPath = privateKeyPath
        self.passphrase = passphrase
        self.knownHostsPath = knownHostsPath
        self.timeoutSeconds = timeoutSeconds
    }

    /// `host:port`, or `[host]:port` for an IPv6 literal, as operators type it.
    var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Printed or dumped (a service's description at debug level), the passphrase is hidden.
extension SFTPEndpoint: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "host": host, "port": port, "user": user, "privateKeyPath": privateKeyPath,
            "passphrase": passphrase.map { _ in "(hidden)" } as Any, "knownHostsPath": knownHostsPath,
            "timeoutSeconds": timeoutSeconds,
        ], displayStyle: .struct)
    }
}
