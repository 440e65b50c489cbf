import CLibssh2
import Foundation

extension SFTPSession {
    /// mkdir -p on the server (existing directories are fine).
    public func makeDirectories(_ remotePath: String) throws {
        try withSFTP { sftp in
            if try isDirectory(sftp, remotePath) { return }
            for prefix in Self.prefixes(of: remotePath) where try !isDirectory(sftp, prefix) {
                let status = libssh2_sftp_mkdir_ex(sftp, prefix, UInt32(prefix.utf8.count), 0o755)
                // Another client may have created it meanwhile; only a still-missing directory is an error.
                if status != 0, try !isDirectory(sftp, prefix) { throw failure("create directory", prefix) }
            }
        }
    }

    /// Size of a remote file, nil if it does not exist.
    public func size(ofRemote path: String) throws -> UInt64? {
        try withSFTP { sftp in try attributes(sftp, path)?.filesize }
    }

    /// Removes a remote file. A file that is already gone is not an error (removal is idempotent).
    public func remove(remote path: String) throws {
        try withSFTP { sftp in try unlink(sftp, path) }
    }

    /// Names in a remote directory (without . and ..).
    public func list(remoteDirectory: String) throws -> [String] {
        try withSFTP { sftp in try entries(sftp, remoteDirectory) }
    }

    // MARK: Primitives, called with the lock held

    func attributes(_ sftp: OpaquePointer, _ path: String) throws -> LIBSSH2_SFTP_ATTRIBUTES? {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let status = libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes)
        if status == 0 { return attributes }
        if isMissing(sftp) { return nil }
        throw failure("stat", path)
    }

    func isDirectory(_ sftp: OpaquePointer, _ path: String) throws -> Bool {
        guard let attributes = try attributes(sftp, path) else { return false }
        return attributes.permissions & UInt(LIBSSH2_SFTP_S_IFMT) == UInt(LIBSSH2_SFTP_S_IFDIR)
    }

    func unlink(_ sftp: OpaquePointer, _ path: String) throws {
        guard libssh2_sftp_unlink_ex(sftp, path, UInt32(path.utf8.count)) != 0 else { return }
        if !isMissing(sftp) { throw failure("remove", path) }
    }

    func rename(_ sftp: OpaquePointer, _ source: String, to destination: String) throws {
        // The flags are SFTP v5+; v3 servers (OpenSSH) ignore them and never overwrite.
        let flags = LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE
        let status = libssh2_sftp_rename_ex(
            sftp, source, UInt32(source.utf8.count), destination, UInt32(destination.utf8.count), Int(flags))
        if status != 0 { throw failure("rename to '\(destination)'", source) }
    }

    func entries(_ sftp: OpaquePointer, _ directory: String) throws -> [String] {
        guard let handle = libssh2_sftp_open_ex(sftp, directory, UInt32(directory.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR)
        else { throw failure("list directory", directory) }
        defer { libssh2_sftp_close_handle(handle) }
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 4096)
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        while true {
            let length = libssh2_sftp_readdir_ex(handle, &buffer, buffer.count, nil, 0, &attributes)
            if length == 0 { break }
            if length < 0 { throw failure("list directory", directory) }
            let name = String(decoding: buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// True when the last request failed because the path does not exist.
    private func isMissing(_ sftp: OpaquePointer) -> Bool {
        guard let status = lastSFTPStatus(sftp) else { return false }
        return status == UInt(LIBSSH2_FX_NO_SUCH_FILE) || status == UInt(LIBSSH2_FX_NO_SUCH_PATH)
    }

    /// "/a/b/c" → ["/a", "/a/b", "/a/b/c"]; "a/b" → ["a", "a/b"] (relative to the login directory).
    static func prefixes(of path: String) -> [String] {
        let absolute = path.hasPrefix("/")
        var current = ""
        var result: [String] = []
        for component in path.split(separator: "/") where component != "." {
            current = current.isEmpty && !absolute ? String(component) : current + "/" + component
            result.append(current)
        }
        return result
    }
}
