import Foundation

#if canImport(Glibc)
import Glibc
#endif

public enum TestSupportError: Error, CustomStringConvertible {
    case executableNotFound(String)
    case timedOut(String)
    case commandFailed(String, status: Int32, output: String)

    public var description: String {
        switch self {
        case .executableNotFound(let name): "\(name) not found on PATH, /usr/sbin or /usr/bin: install it (see .ci/run)"
        case .timedOut(let what): "timed out waiting for \(what)"
        case .commandFailed(let command, let status, let output): "\(command) exited \(status): \(output)"
        }
    }
}

/// A server or tool a test starts and must stop: terminated (SIGTERM, then SIGKILL) on
/// `stop()` or when released, with its output in a log file for post-mortems.
public final class ManagedProcess: @unchecked Sendable {
    public let process: Process
    public let logPath: String
    private let lock = NSLock()
    private var stopped = false

    public init(executable: String, arguments: [String], environment: [String: String]? = nil,
                workingDirectory: URL? = nil, logPath: String) throws {
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        process.standardOutput = log
        process.standardError = log
        self.logPath = logPath
        try process.run()
    }

    deinit { stop() }

    public var isRunning: Bool { lock.withLock { !stopped } && kill(process.processIdentifier, 0) == 0 }
    public var processIdentifier: Int32 { process.processIdentifier }

    /// SIGTERM, then SIGKILL if it has not exited after `grace` seconds.
    public func stop(grace: Double = 5) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        let pid = process.processIdentifier
        guard kill(pid, SIGTERM) == 0 else { return }
        if !waitForExit(pid, timeout: grace) {
            kill(pid, SIGKILL)
            _ = waitForExit(pid, timeout: 5)
        }
    }

    /// `kill -9`: what a crash looks like to the rest of the pipeline.
    public func killHard() {
        lock.lock()
        defer { lock.unlock() }
        stopped = true
        let pid = process.processIdentifier
        if kill(pid, SIGKILL) == 0 { _ = waitForExit(pid, timeout: 5) }
    }

    /// Reaps the child with `waitpid` (Foundation's own exit monitoring does not run
    /// reliably inside the test runner, so `isRunning` can lag by seconds).
    private func waitForExit(_ pid: pid_t, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result == -1 && errno == ECHILD) { return true }
            usleep(10_000)
        } while Date() < deadline
        return false
    }

    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }
}

public enum Loopback {
    /// A TCP port that was free a moment ago (bind to port 0, read it back, close).
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw TestSupportError.commandFailed("bind", status: errno, output: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Polls until something accepts TCP connections on `port`.
    public static func waitUntilAccepting(port: Int, timeout: Double = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if canConnect(port: port) { return }
            usleep(50_000)
        }
        throw TestSupportError.timedOut("127.0.0.1:\(port) to accept connections")
    }

    public static func canConnect(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

public enum TestEnvironment {
    /// Finds a tool on PATH or in the sbin directories (sshd lives in /usr/sbin).
    public static func executable(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/bin"]
        for directory in candidates {
            let full = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: full) { return full }
        }
        throw TestSupportError.executableNotFound(name)
    }

    /// A fresh directory under the system temporary directory, removed by the caller.
    public static func temporaryDirectory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a short command to completion and returns its output; throws on non-zero exit.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSupportError.commandFailed(([executable] + arguments).joined(separator: " "), status: process.terminationStatus, output: output)
        }
        return output
    }

    /// The package root (this file lives at Tests/TestSupport/ManagedProcess.swift).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
