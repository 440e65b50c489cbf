import CHiredis
import Foundation
import Synchronization

/// One blocking connection to Redis through hiredis; the only code that touches its pointers.
///
/// Calls block the calling thread, so async code reaches it through a `BlockingExecutor`
/// (see `RedisRunEventQueue`). A lock makes it safe to share; a broken connection is
/// dropped and re-established on the next command, so callers only ever see one error
/// per outage and recover by retrying.
public final class RedisConnection: @unchecked Sendable {
    public let endpoint: RedisEndpoint
    private let connectTimeout: timeval
    private let commandTimeout: timeval
    /// Guards `context`, which the C library owns (it holds no Swift value of its own).
    private let lock = Mutex(())
    private var context: UnsafeMutablePointer<redisContext>?

    /// `commandTimeout` must exceed the longest server-side block a caller asks for
    /// (`XREADGROUP BLOCK`), or that read is reported as a lost connection.
    public init(endpoint: RedisEndpoint, connectTimeoutSeconds: Double = 5, commandTimeoutSeconds: Double = 30) {
        self.endpoint = endpoint
        connectTimeout = Self.timeval(seconds: connectTimeoutSeconds)
        commandTimeout = Self.timeval(seconds: commandTimeoutSeconds)
    }

    deinit { disconnect() }

    public var isConnected: Bool { lock.withLock { _ in context != nil } }

    /// Sends one command (each argument binary-safe) and returns its reply. A Redis
    /// error reply comes back as `.error`, not thrown; I/O problems throw.
    public func send(_ arguments: [String]) throws -> RedisReply {
        try lock.withLock { _ in
            let context = try connectedContext()
            guard let raw = Self.commandArgv(context, arguments) else {
                let reason = Self.errorText(context)
                dropConnection()
                throw RedisError.connectionLost(endpoint: endpoint.description, reason: reason)
            }
            defer { freeReplyObject(raw) }
            return Self.decode(raw.assumingMemoryBound(to: redisReply.self))
        }
    }

    /// Like `send`, but an error reply throws `RedisError.server`.
    @discardableResult
    public func command(_ arguments: [String]) throws -> RedisReply {
        let reply = try send(arguments)
        if case .error(let message) = reply {
            throw RedisError.server(command: arguments.first ?? "", message: message)
        }
        return reply
    }

    /// Waits for the next reply the server pushes without a request (after SUBSCRIBE).
    public func receive() throws -> RedisReply {
        try lock.withLock { _ in
            let context = try connectedContext()
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                let reason = Self.errorText(context)
                dropConnection()
                throw RedisError.connectionLost(endpoint: endpoint.description, reason: reason)
            }
            defer { freeReplyObject(raw) }
            return Self.decode(raw.assumingMemoryBound(to: redisReply.self))
        }
    }

    public func disconnect() {
        lock.withLock { _ in dropConnection() }
    }

    // MARK: - Connection management (lock held)

    private func connectedContext() throws -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        guard let fresh = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), connectTimeout) else {
            throw RedisError.connectionFailed(endpoint: endpoint.description, reason: "out of memory")
        }
        guard fresh.pointee.err == 0 else {
            let reason = Self.errorText(fresh)
            redisFree(fresh)
            throw RedisError.connectionFailed(endpoint: endpoint.description, reason: reason)
        }
        redisSetTimeout(fresh, commandTimeout)
        redisEnableKeepAlive(fresh)
        context = fresh
        do {
            try handshake(fresh)
        } catch {
            dropConnection()
            throw error
        }
        return fresh
    }

    private func handshake(_ context: UnsafeMutablePointer<redisContext>) throws {
        var setup: [[String]] = []
        if let auth = endpoint.authCommand { setup.append(auth) }
        if endpoint.database != 0 { setup.append(["SELECT", String(endpoint.database)]) }
        for arguments in setup {
            guard let raw = Self.commandArgv(context, arguments) else {
                throw RedisError.connectionFailed(endpoint: endpoint.description, reason: Self.errorText(context))
            }
            defer { freeReplyObject(raw) }
            if case .error(let message) = Self.decode(raw.assumingMemoryBound(to: redisReply.self)) {
                let hint = arguments[0] == "AUTH" || message.hasPrefix("NOAUTH") ? " (check the password in REDIS_URL)" : ""
                throw RedisError.connectionFailed(endpoint: endpoint.description, reason: "\(arguments[0]) refused: \(message)\(hint)")
            }
        }
    }

    private func dropConnection() {
        if let context { redisFree(context) }
        context = nil
    }

    // MARK: - hiredis glue

    private static func commandArgv(_ context: UnsafeMutablePointer<redisContext>, _ arguments: [String]) -> UnsafeMutableRawPointer? {
        // hiredis copies the arguments while formatting, so the buffers only need to live
        // for the duration of the call.
        let buffers = arguments.map { Array($0.utf8) }
        return buffers.withUnsafePointers { pointers, lengths in
            redisCommandArgv(context, Int32(buffers.count), pointers, lengths)
        }
    }

    private static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .string(bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_ARRAY:
            guard let elements = value.element else { return .array([]) }
            return .array((0..<value.elements).compactMap { elements[$0].map(decode) })
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "error \(context.pointee.err)" : text
    }

    private static func timeval(seconds: Double) -> Glibc.timeval {
        Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
    }
}

extension Array where Element == [UInt8] {
    /// Hands C the argv/argvlen pair hiredis wants, valid only inside `body`.
    fileprivate func withUnsafePointers<R>(
        _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafeMutablePointer<Int>) -> R
    ) -> R {
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: Swift.max(count, 1))
        let pointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: Swift.max(count, 1))
        let storage = map { bytes -> UnsafeMutablePointer<CChar> in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: Swift.max(bytes.count, 1))
            bytes.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { if let base = $0.baseAddress { copy.initialize(from: base, count: bytes.count) } }
            }
            return copy
        }
        defer {
            storage.forEach { $0.deallocate() }
            lengths.deallocate()
            pointers.deallocate()
        }
        for index in indices {
            pointers[index] = UnsafePointer(storage[index])
            lengths[index] = self[index].count
        }
        return body(pointers, lengths)
    }
}
