import CLibssh2
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension SFTPSession {
    /// Uploads localPath to "\(remoteDirectory)/\(remoteName)": streams the file in chunks (never whole in memory) to a unique temporary
    /// name in the same directory (e.g. ".\(remoteName).part-<uuid>"), checks the remote size equals the expected size, then renames to the
    /// final name. If the final name already exists with the expected size, the upload is skipped (idempotent re-run) and the temp removed;
    /// if it exists with a different size it is removed first, then the rename happens. Returns the size of the remote file.
    ///
    /// With an `encoding`, the bytes sent are the encoding's output (e.g. the file encrypted), produced
    /// while sending, and the expected size is the one the encoding predicts from the local size.
    ///
    /// The existing-file check also runs before anything is sent, so a re-run does not transfer
    /// the file again. Leftover `.<remoteName>.part-*` files of an interrupted earlier upload are removed.
    @discardableResult
    public func upload(
        localPath: String, remoteDirectory: String, remoteName: String, encoding: (any SFTPUploadEncoding)? = nil
    ) throws -> UInt64 {
        guard !remoteName.isEmpty, !remoteName.contains("/") else { throw SFTPError.invalidRemoteName(remoteName) }
        let local = try LocalFile(path: localPath)
        defer { local.close() }
        let expectedSize = encoding?.encodedSize(ofLocalSize: local.size) ?? local.size
        return try withSFTP { sftp in
            let finalPath = Self.join(remoteDirectory, remoteName)
            if try attributes(sftp, finalPath)?.filesize == expectedSize { return expectedSize }
            try removeStaleParts(sftp, directory: remoteDirectory, name: remoteName)
            let temporaryPath = Self.join(remoteDirectory, ".\(remoteName).part-\(UUID().uuidString)")
            do {
                try send(local, encoding, sftp, to: temporaryPath)
                try verifySize(sftp, temporaryPath, expected: expectedSize)
                try publish(sftp, temporaryPath, as: finalPath, size: expectedSize)
            } catch {
                // Best effort: on a dead connection this fails too, and the next upload cleans up.
                try? unlink(sftp, temporaryPath)
                throw error
            }
            return expectedSize
        }
    }

    /// Streams the file (or what the encoding makes of it) through fixed buffers; libssh2
    /// pipelines the SFTP write requests.
    private func send(_ local: LocalFile, _ encoding: (any SFTPUploadEncoding)?, _ sftp: OpaquePointer, to remotePath: String) throws {
        let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
        guard let handle = libssh2_sftp_open_ex(
            sftp, remotePath, UInt32(remotePath.utf8.count), flags, 0o644, LIBSSH2_SFTP_OPENFILE)
        else { throw failure("create", remotePath) }
        var closed = false
        defer { if !closed { libssh2_sftp_close_handle(handle) } }
        let write = { (bytes: UnsafeRawBufferPointer) throws in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            try self.writeFully(handle, base.assumingMemoryBound(to: CChar.self), bytes.count, remotePath)
        }
        if let encoding {
            try encoding.encode(read: { try local.read(into: $0) }, write: write)
        } else {
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let count = try buffer.withUnsafeMutableBytes { try local.read(into: $0) }
                if count == 0 { break }
                try buffer.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
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

/// What a file becomes on its way to the server (encrypted, for instance), produced while it
/// is sent so the file is never held whole. The remote size must be known from the local size
/// alone: the upload is verified against it, and a re-run skips a remote file of that size.
public protocol SFTPUploadEncoding {
    /// The size of the encoded file for a local file of `size` bytes.
    func encodedSize(ofLocalSize size: UInt64) -> UInt64
    /// Reads the local file through `read` (0 at its end) and hands the encoded bytes to `write`, in order.
    func encode(read: (UnsafeMutableRawBufferPointer) throws -> Int, write: (UnsafeRawBufferPointer) throws -> Void) throws
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
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var count: Int
        repeat { count = Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
            while count < 0 && errno == EINTR
        if count < 0 { throw SFTPError.localFileUnreadable(path: path, reason: String(cString: strerror(errno))) }
        return count
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
