import ETLCore
import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// The open connections of one server, for `ConnectionLimits.maxConnections`: how many are
/// open, and which of them are only waiting for a request head, oldest first. One connection
/// over the limit closes the oldest waiting one: a flood of sockets that send nothing then
/// recycles itself, and a client that sends its request at once (a health probe) is served.
final class ConnectionRegistry: Sendable {
    /// A connection's place in the waiting order; a new one each time it starts waiting.
    typealias Ticket = UInt64

    private struct State {
        var open = 0
        var nextTicket: Ticket = 0
        var waiting: [Ticket: any Channel] = [:]
        /// Tickets in the order they started waiting; entries no longer in `waiting` are
        /// skipped (and dropped) when the front is read.
        var order: [Ticket] = []
        var orderStart = 0

        mutating func startWaiting(_ channel: any Channel) -> Ticket {
            nextTicket += 1
            waiting[nextTicket] = channel
            order.append(nextTicket)
            dropStaleEntries()
            return nextTicket
        }

        /// Below the cap nothing is evicted, so `order` would grow by one entry per request:
        /// once stale entries outnumber the waiting ones, keep only the waiting ones
        /// (amortized O(1) per call).
        mutating func dropStaleEntries() {
            guard order.count - orderStart > 2 * waiting.count + 1024 else { return }
            order = order[orderStart...].filter { waiting[$0] != nil }
            orderStart = 0
        }

        /// The oldest waiting connection but `excluded` (the newest, which is last in
        /// `order`), removed from the waiting set; nil when no other connection waits.
        mutating func oldestWaiting(excluding excluded: Ticket) -> (any Channel)? {
            defer { compact() }
            while orderStart < order.count {
                let ticket = order[orderStart]
                if ticket == excluded { return nil }
                orderStart += 1
                if let channel = waiting.removeValue(forKey: ticket) { return channel }
            }
            return nil
        }

        mutating func compact() {
            if orderStart > 1024, orderStart * 2 > order.count {
                order.removeFirst(orderStart)
                orderStart = 0
            }
        }
    }

    let maxConnections: Int
    private let state = Mutex(State())

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    var openConnections: Int { state.withLock { $0.open } }

    /// Entries of the waiting order, stale ones included (bounded, see `dropStaleEntries`).
    var trackedEntries: Int { state.withLock { $0.order.count - $0.orderStart } }

    /// Counts a new connection, waiting for its first request head. Returns its ticket and the
    /// connection to close when the limit is passed: the oldest other waiting connection, or
    /// the new one itself when every other connection is busy with a request.
    func admit(_ channel: any Channel) -> (ticket: Ticket, close: (any Channel)?) {
        state.withLock { state in
            state.open += 1
            let ticket = state.startWaiting(channel)
            guard state.open > maxConnections else { return (ticket, nil) }
            if let victim = state.oldestWaiting(excluding: ticket) { return (ticket, victim) }
            return (ticket, channel)
        }
    }

    func startWaiting(_ channel: any Channel) -> Ticket {
        state.withLock { $0.startWaiting(channel) }
    }

    func stopWaiting(_ ticket: Ticket) {
        state.withLock { _ = $0.waiting.removeValue(forKey: ticket) }
    }

    func closed() {
        state.withLock { $0.open -= 1 }
    }
}

/// Per connection: enforces `ConnectionLimits` (the request-head deadline, the keep-alive idle
/// deadline, the connection cap through `ConnectionRegistry`) and answers an unparseable
/// request (a raw non-ASCII byte in the URL, a malformed header) with the API's JSON 400
/// instead of Hummingbird's empty one.
///
/// Sits after the HTTP decoder, so it sees whole request parts: a client that trickles bytes
/// without completing a head never resets the deadline (unlike an idle timer on bytes).
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let registry: ConnectionRegistry
    private let limits: ConnectionLimits
    private let logger: Logger
    private var admitted = false
    private var ticket: ConnectionRegistry.Ticket?
    private var deadline: Scheduled<Void>?
    /// Requests whose head was read and whose response has not ended.
    private var requestsInProgress = 0

    init(registry: ConnectionRegistry, limits: ConnectionLimits, logger: Logger) {
        self.registry = registry
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            requestsInProgress += 1
            cancelDeadline()
            if let ticket { registry.stopWaiting(ticket) }
            ticket = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            requestsInProgress = max(0, requestsInProgress - 1)
            if requestsInProgress == 0, admitted, context.channel.isActive, ticket == nil {
                ticket = registry.startWaiting(context.channel)
                schedule(after: limits.idleTimeout, context: context, reason: "idle")
            }
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A request that cannot be parsed, before any response started: answer it here, as
        // JSON, and close (the decoder cannot resynchronise). During a response, Hummingbird
        // handles it as before.
        guard error is HTTPParserError, requestsInProgress == 0 else {
            context.fireErrorCaught(error)
            return
        }
        logger.debug("unparseable request, answering 400", metadata: ["error": "\(error)"])
        let body = ByteBuffer(bytes: JSONErrorBody.bytes(
            code: "bad_request", message: "the request is not valid HTTP/1.1 (\(error)); a URL must be percent-encoded ASCII"))
        let head = HTTPResponse(status: .badRequest, headerFields: [
            .contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes), .connection: "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }

    // MARK: - Deadlines and the registry

    private func admit(_ context: ChannelHandlerContext) {
        guard !admitted else { return }
        admitted = true
        let (ticket, victim) = registry.admit(context.channel)
        self.ticket = ticket
        schedule(after: limits.headerTimeout, context: context, reason: "no request head")
        if let victim {
            logger.debug("connection limit reached, closing the oldest idle connection",
                         metadata: ["max_connections": "\(registry.maxConnections)"])
            victim.close(promise: nil)
        }
    }

    private func release() {
        cancelDeadline()
        if let ticket { registry.stopWaiting(ticket) }
        ticket = nil
        if admitted {
            admitted = false
            registry.closed()
        }
    }

    private func schedule(after seconds: Double, context: ChannelHandlerContext, reason: String) {
        cancelDeadline()
        let logger = self.logger
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            logger.debug("closing a connection that sent no request in time", metadata: ["reason": "\(reason)"])
            channel.close(promise: nil)
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }
}

/// The API's HTTP/1.1 server: Hummingbird's `HTTP1Channel` with a `ConnectionGuardHandler`
/// on every connection, all sharing one `ConnectionRegistry`.
func guardedHTTP1Server(limits: ConnectionLimits, logger: Logger) -> HTTPServerBuilder {
    let registry = ConnectionRegistry(maxConnections: limits.maxConnections)
    return .http1(configuration: .init(
        additionalChannelHandlers: [ConnectionGuardHandler(registry: registry, limits: limits, logger: logger)]))
}

/// The open-file limit: the soft limit is raised to the hard one (every connection is a file
/// descriptor), and the cap on connections is lowered to what the limit leaves room for.
enum OpenFileLimit {
    /// Descriptors kept for the database, logs and the listening socket.
    static let reserved = 64

    /// Raises the soft limit to the hard limit; returns the soft limit now in force (nil if
    /// it cannot be read).
    static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY (all ones) clamps to Int.max
    }

    /// `limits` with `maxConnections` lowered to fit `openFiles`.
    static func fitted(_ limits: ConnectionLimits, openFiles: Int?, logger: Logger) -> ConnectionLimits {
        guard let openFiles, openFiles - reserved < limits.maxConnections else { return limits }
        var fitted = limits
        fitted.maxConnections = max(16, openFiles - reserved)
        logger.warning("API_MAX_CONNECTIONS lowered to fit the open-file limit; raise `ulimit -n` to allow more",
                       metadata: ["configured": "\(limits.maxConnections)", "open_file_limit": "\(openFiles)",
                                  "max_connections": "\(fitted.maxConnections)"])
        return fitted
    }
}
