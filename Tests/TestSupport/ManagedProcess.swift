public import Foundation
import Synchronization

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

/// A counting semaphore for async code: waiting for a slot suspends the task, never a thread.
actor Slots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func withSlot<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

/// A server or tool a test starts and must stop: terminated (SIGTERM, then SIGKILL) on
/// `stop()` or when released, with its output in a log file for post-mortems.
///
/// Spawned with `posix_spawn` and an empty signal mask rather than Foundation's `Process`:
/// on Linux, `Process` starts children with nearly every signal blocked, so a child never
/// sees SIGTERM, and graceful-shutdown tests would test nothing.
public final class ManagedProcess: @unchecked Sendable {
    public let processIdentifier: pid_t
    public let logPath: String
    /// Serialises signalling and reaping the child (`exitStatus` is what it guards).
    private let lock = Mutex(())
    private var exitStatus: Int32?

    public init(executable: String, arguments: [String], environment: [String: String]? = nil,
                workingDirectory: URL? = nil, logPath: String) throws {
        self.logPath = logPath
        processIdentifier = try Self.spawn(
            executable: executable, arguments: arguments,
            environment: environment ?? ProcessInfo.processInfo.environment,
            workingDirectory: workingDirectory?.path, logPath: logPath)
    }

    deinit { stop() }

    public var isRunning: Bool { lock.withLock { _ in reap(blocking: false) == nil } }

    /// SIGTERM, then SIGKILL if it has not exited after `grace` seconds. Returns the exit code.
    @discardableResult
    public func stop(grace: Double = 5) -> Int32 {
        lock.withLock { _ in
            if let exitStatus { return exitStatus }
            kill(processIdentifier, SIGTERM)
            if let status = waitForExit(timeout: grace) { return status }
            kill(processIdentifier, SIGKILL)
            return waitForExit(timeout: 10) ?? -1
        }
    }

    /// `kill -9`: what a crash looks like to the rest of the pipeline.
    public func killHard() {
        lock.withLock { _ in
            guard exitStatus == nil else { return }
            kill(processIdentifier, SIGKILL)
            _ = waitForExit(timeout: 10)
        }
    }

    /// Waits for the process to end on its own; returns its exit code (128+signal if killed).
    public func waitUntilExit(timeout: Double = 300) -> Int32? {
        lock.withLock { _ in waitForExit(timeout: timeout) }
    }

    /// The same wait from async code, on a thread of its own: blocking one of the two
    /// cooperative threads would starve in-process servers the child is talking to.
    public func exitStatus(timeout: Double = 300) async -> Int32? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.waitUntilExit(timeout: timeout)) }
        }
    }

    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    // MARK: - Lock held

    private func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let status = reap(blocking: false) { return status }
            usleep(10_000)
        } while Date() < deadline
        return nil
    }

    private func reap(blocking: Bool) -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let result = waitpid(processIdentifier, &status, blocking ? 0 : WNOHANG)
        guard result == processIdentifier else { return nil }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus = code
        return code
    }

    private static func spawn(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String?, logPath: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // posix_spawn has no portable chdir action: a shell changes directory, then execs
        // (the empty mask and default dispositions survive exec).
        let command = workingDirectory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestSupportError.commandFailed(executable, status: result, output: String(cString: strerror(result)))
        }
        return pid
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
    /// Runs blocking set-up or tear-down (spawning a server, waiting for its port) on a thread
    /// of its own. Not on `DispatchQueue.global()`: on Linux its few threads are the ones Swift
    /// concurrency runs every task on, so a server start there stalls the tests beside it.
    public static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

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

    /// Runs a short command to completion on a thread of its own and returns its standard
    /// output and error; throws on a non-zero exit. Waiting for a child on a cooperative
    /// thread would stall one of the two threads every other test runs on.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        try await toolSlots.withSlot { try await onOwnThread { try runBlocking(executable, arguments) } }
    }

    /// Runs a tool with `input` on its standard input, on a thread of its own; returns its
    /// standard output and exit status, for tools whose status is the answer (standard error
    /// is discarded).
    public static func execute(_ executable: String, _ arguments: [String], input: Data = Data()) async throws -> (output: Data, status: Int32) {
        try await toolSlots.withSlot { try await onOwnThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let stdin = Pipe(), stdout = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Input is written from another thread so a tool that fills its output pipe
            // before reading all its input cannot deadlock with us.
            Thread {
                try? stdin.fileHandleForWriting.write(contentsOf: input)
                try? stdin.fileHandleForWriting.close()
            }.start()
            let output = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (output, process.terminationStatus)
        } }
    }

    /// As many tools at once as there are cores. Swift Testing starts every test case at once:
    /// two hundred parameterised cases each spawning a tool saturate the machine, and tests
    /// beside them that wait on real time (a consumer polling Redis) run out of it.
    static let toolSlots = Slots(count: max(2, ProcessInfo.processInfo.activeProcessorCount))

    /// `run` on the calling thread: only for set-up code already on a thread of its own
    /// (inside `onOwnThread`), hence not public.
    @discardableResult
    static func runBlocking(_ executable: String, _ arguments: [String]) throws -> String {
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
