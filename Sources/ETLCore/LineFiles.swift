public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FileIOError: Error, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case readFailed(path: String, errno: Int32)
    case writeFailed(path: String, errno: Int32)
    case syncFailed(path: String, errno: Int32)
    case renameFailed(from: String, to: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
        case .readFailed(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
        case .writeFailed(let path, let code): "cannot write \(path): \(String(cString: strerror(code)))"
        case .syncFailed(let path, let code): "cannot sync \(path) to disk: \(String(cString: strerror(code)))"
        case .renameFailed(let from, let to, let code): "cannot rename \(from) to \(to): \(String(cString: strerror(code)))"
        }
    }
}

/// Reads a file one line at a time with a fixed buffer, so memory stays flat whatever the
/// file size. Lines are handed out without their trailing newline (and `\r`).
public final class LineReader {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    public init(path: String) throws {
        guard let file = fopen(path, "r") else { throw FileIOError.cannotOpen(path: path, errno: errno) }
        self.path = path
        self.file = file
    }

    deinit {
        free(buffer)
        fclose(file)
    }

    /// Calls `body` with each line's bytes; the buffer is only valid during the call.
    /// A read error is thrown, never mistaken for the end of the file.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        while true {
            let length = getline(&buffer, &capacity, file)
            guard length >= 0, let buffer else {
                if ferror(file) != 0 { throw FileIOError.readFailed(path: path, errno: errno) }
                return
            }
            var count = length
            while count > 0, buffer[count - 1] == 0x0A || buffer[count - 1] == 0x0D { count -= 1 }
            try buffer.withMemoryRebound(to: UInt8.self, capacity: count) {
                try body(UnsafeBufferPointer(start: $0, count: count))
            }
        }
    }

    /// Counts the lines of a file without keeping any of them.
    public static func countLines(path: String) throws -> Int {
        var count = 0
        try LineReader(path: path).forEachLine { _ in count += 1 }
        return count
    }
}

/// Buffered writer for JSONL output. `AtomicLineFile` uses it under a temporary name.
public final class LineWriter {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    public private(set) var bytesWritten: Int64

    /// Opens `path` for writing; with `truncatingTo`, an existing file is cut back to that
    /// many bytes and appended to (how a resumed extraction drops a page it had not committed).
    public init(path: String, truncatingTo offset: Int64? = nil) throws {
        self.path = path
        if let offset {
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            guard truncate(path, off_t(offset)) == 0 else { throw FileIOError.writeFailed(path: path, errno: errno) }
            guard let file = fopen(path, "a") else { throw FileIOError.cannotOpen(path: path, errno: errno) }
            self.file = file
            bytesWritten = offset
        } else {
            guard let file = fopen(path, "w") else { throw FileIOError.cannotOpen(path: path, errno: errno) }
            self.file = file
            bytesWritten = 0
        }
        setvbuf(file, nil, _IOFBF, 1 << 20)
    }

    deinit { fclose(file) }

    public func writeLine<Bytes: Collection>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        let written = bytes.withContiguousStorageIfAvailable { fwrite($0.baseAddress, 1, $0.count, file) }
            ?? Array(bytes).withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == bytes.count, fputc(0x0A, file) != EOF else {
            throw FileIOError.writeFailed(path: path, errno: errno)
        }
        bytesWritten += Int64(bytes.count + 1)
    }

    public func writeLine(_ text: String) throws {
        var text = text
        try text.withUTF8 { try writeLine($0) }
    }

    /// Flushes the buffer and forces the bytes to disk: after this returns they survive a crash.
    public func sync() throws {
        guard fflush(file) == 0 else { throw FileIOError.writeFailed(path: path, errno: errno) }
        guard fsync(fileno(file)) == 0 else { throw FileIOError.syncFailed(path: path, errno: errno) }
    }
}

/// Output that appears under its final name only when complete: lines go to a temporary
/// file next to it, which is synced and renamed over the final name on `commit()`.
///
/// The temporary name is unique per writer (`<final>.tmp-<pid>-<random>`), so two writers of
/// the same output (two replicas after a queue re-delivery, or a restarted stage next to a
/// slow one) never write into each other's file: each produces a complete file and the last
/// rename wins, atomically. Temporary files left by writers that died are removed with
/// `removeStaleTemporaries(in:)` when a stage starts.
public final class AtomicLineFile {
    public let finalPath: String
    public let temporaryPath: String
    public let writer: LineWriter

    /// The marker between a final name and a writer's suffix.
    public static let temporaryMarker = ".tmp-"

    public init(finalPath: String) throws {
        self.finalPath = finalPath
        temporaryPath = AtomicLineFile.uniqueTemporaryPath(for: finalPath)
        writer = try LineWriter(path: temporaryPath)
    }

    public func commit() throws {
        try writer.sync()
        try AtomicLineFile.rename(temporaryPath, to: finalPath)
    }

    /// Removes the temporary file (after a failure); never touches the final name.
    public func discard() {
        unlink(temporaryPath)
    }

    /// `<final>.tmp-<pid>-<random>`: unique to this process and writer.
    public static func uniqueTemporaryPath(for finalPath: String) -> String {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return "\(finalPath)\(temporaryMarker)\(getpid())-\(random)"
    }

    /// The pid encoded in a temporary name made by `uniqueTemporaryPath`, nil for other names.
    public static func writerPID(ofTemporaryNamed name: String) -> Int32? {
        guard let range = name.range(of: temporaryMarker, options: .backwards) else { return nil }
        let suffix = name[range.upperBound...].split(separator: "-", maxSplits: 1)
        guard suffix.count == 2, let pid = Int32(suffix[0]), pid > 0 else { return nil }
        return pid
    }

    /// Deletes the temporary files in `directory` whose writer is gone: its pid no longer
    /// runs (and the file was not modified for `quietSeconds`), or the file was not modified
    /// for `abandonedSeconds` whatever its pid says (pids are per host / per container).
    /// Only names made by `uniqueTemporaryPath` are considered. Returns the removed paths.
    @discardableResult
    public static func removeStaleTemporaries(
        in directory: String, quietSeconds: Double = 10, abandonedSeconds: Double = 3600, now: Date = Date()
    ) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = writerPID(ofTemporaryNamed: name) else { continue }
            let path = (directory as NSString).appendingPathComponent(name)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let modified = attributes[.modificationDate] as? Date
            else { continue }
            let idle = now.timeIntervalSince(modified)
            let writerGone = pid != getpid() && !isProcessRunning(pid)
            if (writerGone && idle >= quietSeconds) || idle >= abandonedSeconds {
                if unlink(path) == 0 { removed.append(path) }
            }
        }
        return removed
    }

    /// Whether a process with this pid exists on this host (EPERM: exists, not ours).
    public static func isProcessRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// `rename(2)` then an fsync of the directory, so the new name itself is durable.
    public static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw FileIOError.renameFailed(from: from, to: to, errno: errno) }
        let directory = (to as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }
}

/// Writes a small file (a checkpoint, a state record) so that a crash leaves either the
/// old or the new content, never a torn one.
public func writeFileAtomically(_ data: Data, to path: String) throws {
    let temporary = AtomicLineFile.uniqueTemporaryPath(for: path)
    guard let file = fopen(temporary, "w") else { throw FileIOError.cannotOpen(path: temporary, errno: errno) }
    let written = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    guard written == data.count, fflush(file) == 0 else {
        fclose(file)
        unlink(temporary)
        throw FileIOError.writeFailed(path: temporary, errno: errno)
    }
    guard fsync(fileno(file)) == 0 else {
        fclose(file)
        unlink(temporary)
        throw FileIOError.syncFailed(path: temporary, errno: errno)
    }
    fclose(file)
    try AtomicLineFile.rename(temporary, to: path)
}
