import CLibssh2
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension SFTPSession {
    /// Uploads localPath to "\(remoteDirectory)/\(remoteName)": streams the file in chunks (never whole in memory) to a unique temporary
    /// name in the same directory (e.g. ".\(remoteName).part-<uuid>"), checks the remote size equals the local size, then renames to the
    /// final name. If the final name already exists with the same size, the upload is skipped (idempotent re-run) and the temp removed;
    /// if it exists with a different size it is removed first, then the rename happens. Returns the number of bytes of the file.
    ///
    /// The existing-file check also runs before anything is sent, so a re-run does not transfer
    /// the file again. Leftover `.<remoteName>.part-*` files of an interrupted earlier upload are removed.
    @discardableResult
    public func upload(localPath: String, remoteDirectory: String, remoteName: String) throws -> UInt64 {
        guard !remoteName.isEmpty, !remoteName.contains("/") else { throw SFTPError.invalidRemoteName(remoteName) }
        let local = try LocalFile(path: localPath)
        defer { local.close() }
        return try withSFTP { sftp in
            let finalPath = Self.join(remoteDirectory, remoteName)
            if try attributes(sftp, finalPath)?.filesize == local.size { return local.size }
            try removeStaleParts(sftp, directory: remoteDirectory, name: remoteName)
            let temporaryPath = Self.join(remoteDirectory, ".\(remoteName).part-\(UUID().uuidString)")
            do {
                try send(local, sftp, to: temporaryPath)
                try verifySize(sftp, temporaryPath, expected: local.size)
                try publish(sftp, temporaryPath, as: finalPath, size: local.size)
            } catch {
                // Best effort: on a dead connection this fails too, and the next upload cleans up.
                try? unlink(sftp, temporaryPath)
                throw error
            }
            return local.size
        }
    }

    /// Streams the file through a fixed buffer; libssh2 pipelines the SFTP write requests.
    private func send(_ local: LocalFile, _ sftp: OpaquePointer, to remotePath: String) throws {
        let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
        guard let handle = libssh2_sftp_open_ex(
            sftp, remotePath, UInt32(remotePath.utf8.count), flags, 0o644, LIBSSH2_SFTP_OPENFILE)
        else { throw failure("create", remotePath) }
        var closed = false
        defer { if !closed { libssh2_sftp_close_handle(handle) } }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = try local.read(into: &buffer)
            if count == 0 { break }
            try buffer.withUnsafeBytes { bytes in
                try writeFully(handle, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), count, remotePath)
            }
        }
        closed = true
        // The server may only report a failed write (e.g. disk full) when the handle closes.
        if libssh2_sftp_close_handle(handle) != 0 { throw failure("finish writing", remotePath) }
    }

    /// libssh2_sftp_write may accept fewer bytes than asked: loop until all are sent.
    private func writeFully(_ handle: OpaquePointer, _ bytes: UnsafePointer<CChar>, _ count: Int, _ path: String) throws {
        var offset = 0
        while offset < count {
            let written = libssh2_sftp_write(handle, bytes + offset, count - offset)
            if written <= 0 { throw failure("write", path) }
            offset += written
        }
    }

    private func verifySize(_ sftp: OpaquePointer, _ path: String, expected: UInt64) throws {
        let actual = try attributes(sftp, path)?.filesize ?? 0
        if actual != expected { throw SFTPError.sizeMismatch(remotePath: path, expected: expected, actual: actual) }
    }

    /// Moves the complete temporary file to its final name. SFTP v3 rename never overwrites,
    /// so a different existing file is removed first; an equal-sized one means another run
    /// already published it.
    private func publish(_ sftp: OpaquePointer, _ temporaryPath: String, as finalPath: String, size: UInt64) throws {
        if let existing = try attributes(sftp, finalPath)?.filesize {
            if existing == size { return try unlink(sftp, temporaryPath) }
            try unlink(sftp, finalPath)
        }
        try rename(sftp, temporaryPath, to: finalPath)
    }

    private func removeStaleParts(_ sftp: OpaquePointer, directory: String, name: String) throws {
        let prefix = ".\(name).part-"
        for entry in try entries(sftp, directory) where entry.hasPrefix(prefix) {
            try unlink(sftp, Self.join(directory, entry))
        }
    }

    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

/// A local regular file opened for reading, with its size taken at open time.
final class LocalFile {
    let path: String
    let size: UInt64
    private var descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SFTPError.localFileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(descriptor)
            throw SFTPError.localFileUnreadable(path: path, reason: "not a regular file")
        }
        size = UInt64(info.st_size)
    }

    deinit { close() }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    func read(into buffer: inout [UInt8]) throws -> Int {
        var count: Int
        repeat { count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) } }
            while count < 0 && errno == EINTR
        if count < 0 { throw SFTPError.localFileUnreadable(path: path, reason: String(cString: strerror(errno))) }
        return count
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
