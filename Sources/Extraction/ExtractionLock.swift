public import ETLCore
public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One extraction at a time per `DATA_DIR`: an exclusive `flock(2)` on
/// `DATA_DIR/state/extractor.lock`, held for the whole run. The kernel drops the lock when its
/// descriptor closes, including when the holder is killed (`kill -9`, OOM), so a dead
/// extractor can never leave it stuck; there is no stale-lock cleanup to get wrong.
///
/// The holder writes who it is (pid, run id) into the file, so a second extractor (an operator's
/// `extractor --once` beside the service, a cron job) can say which run holds it.
public final class ExtractionLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    public static func path(dataDirectory: URL) -> String {
        RunFiles.stateDirectory(dataDirectory).appendingPathComponent("extractor.lock").path
    }

    /// Takes the lock without waiting; throws `.held` when another extraction has it.
    public static func acquire(dataDirectory: URL) throws(ExtractionLockError) -> ExtractionLock {
        let path = path(dataDirectory: dataDirectory)
        do {
            try FileManager.default.createDirectory(
                at: RunFiles.stateDirectory(dataDirectory), withIntermediateDirectories: true)
        } catch {
            throw .unavailable(path: path, reason: "cannot create its directory: \(error.localizedDescription)")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unavailable(path: path, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = readHolder(descriptor)
            close(descriptor)
            if code == EWOULDBLOCK { throw .held(path: path, holder: holder) }
            throw .unavailable(path: path, reason: String(cString: strerror(code)))
        }
        return ExtractionLock(path: path, descriptor: descriptor)
    }

    /// Records the run this process extracts, for the message a second extractor prints.
    public func record(runID: RunID) {
        guard descriptor >= 0 else { return }
        let text = "pid \(getpid()), run \(runID)\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    /// Releases the lock (also done when the object is freed or the process dies). Unlocked
    /// before it is closed: a child forked by another thread of this process holds a copy of
    /// the descriptor until it execs (O_CLOEXEC acts only then), and the lock would live on in
    /// that copy; LOCK_UN releases it for every copy at once.
    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    private static func readHolder(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "" }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public enum ExtractionLockError: Error, CustomStringConvertible, Equatable {
    /// Another extraction runs on this `DATA_DIR`; `holder` is what it recorded (pid, run id).
    case held(path: String, holder: String)
    /// The lock file cannot be created or locked at all (permissions, a file in place of a directory...).
    case unavailable(path: String, reason: String)

    public var description: String {
        switch self {
        case .held(let path, let holder):
            let who = holder.isEmpty ? "a process that has not recorded its run yet" : holder
            return "another extraction is running on this DATA_DIR (\(who); lock \(path)); wait for it to finish, or stop it, then try again"
        case .unavailable(let path, let reason):
            return "cannot take the extraction lock \(path): \(reason); check that DATA_DIR is a writable directory"
        }
    }
}
