public import ETLCore
public import Foundation
public import Logging
import RedisClient
import Synchronization

/// A request to run a connector now: what `etlctl connectors run` and the api's
/// `POST /connectors/{id}/run` hand to the extractor. `taskID` is what the requester was told.
public struct RunRequest: Codable, Sendable, Equatable {
    public var taskID: String
    public var sourceID: Int64
    public var connector: String
    public var requestedAt: String
    /// Who asked (`etlctl`, `api`, `schedule`), for the log.
    public var requestedBy: String

    public init(taskID: String = UUID().uuidString.lowercased(), sourceID: Int64, connector: String, requestedAt: String, requestedBy: String) {
        self.taskID = taskID
        self.sourceID = sourceID
        self.connector = connector
        self.requestedAt = requestedAt
        self.requestedBy = requestedBy
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", sourceID = "source_id", connector, requestedAt = "requested_at", requestedBy = "requested_by"
    }
}

/// The seam between whoever asks for a connector run and the extractor that runs it. A
/// request stays pending until `acknowledge` (the run ended, well or not), so one taken by
/// an extractor that then died is taken again when it restarts.
public protocol RunRequestQueue: Sendable {
    func submit(_ request: RunRequest) async throws
    /// The extractor's pending requests first (after a restart), then new ones; nil after
    /// `waitMilliseconds` without any.
    func next(waitMilliseconds: Int) async throws -> (id: String, request: RunRequest)?
    func acknowledge(_ id: String) async throws
}

/// Requests on a Redis Stream with one consumer group, signed like run events
/// (`EventAuthenticator`, `EVENT_HMAC_KEY`): an unsigned, badly signed or malformed entry is
/// logged and acknowledged, never run.
public final class RedisRunRequestQueue: RunRequestQueue {
    public static let stream = "stream:connector_run_requests"
    static let group = "extractor"
    /// One extractor runs connectors (under the extraction lock): a fixed consumer name lets
    /// a restarted one take back what it had taken.
    static let consumer = "extractor"

    private let writer: RedisConnection
    private let reader: RedisConnection
    private let writeExecutor = BlockingExecutor(label: "redis.requests.writer")
    private let readExecutor = BlockingExecutor(label: "redis.requests.reader")
    private let authenticator: EventAuthenticator
    private let logger: Logger
    private let groupCreated = Mutex(false)

    public init(url: String, eventKey: String, logger: Logger) throws {
        let endpoint = try RedisEndpoint(url: url)
        authenticator = try EventAuthenticator(secret: eventKey)
        writer = RedisConnection(endpoint: endpoint)
        reader = RedisConnection(endpoint: endpoint)
        self.logger = logger
    }

    public func submit(_ request: RunRequest) async throws {
        let payload = Self.encode(request)
        let signature = authenticator.signature(of: payload, for: Self.stream)
        _ = try await writeExecutor.run { [writer] in
            try writer.command(["XADD", Self.stream, "MAXLEN", "~", "10000", "*", "payload", payload, "sig", signature])
        }
    }

    public func next(waitMilliseconds: Int) async throws -> (id: String, request: RunRequest)? {
        try await ensureGroup()
        if let pending = try await read(from: "0", block: nil) { return pending }
        return try await read(from: ">", block: waitMilliseconds)
    }

    public func acknowledge(_ id: String) async throws {
        _ = try await writeExecutor.run { [writer] in try writer.command(["XACK", Self.stream, Self.group, id]) }
    }

    private func read(from position: String, block: Int?) async throws -> (id: String, request: RunRequest)? {
        var arguments = ["XREADGROUP", "GROUP", Self.group, Self.consumer, "COUNT", "1"]
        if let block { arguments += ["BLOCK", String(max(block, 1))] }
        arguments += ["STREAMS", Self.stream, position]
        let reply = try await readExecutor.run { [reader, arguments] in try reader.command(arguments) }
        guard let entry = reply.array?.first?.array, entry.count == 2, let item = entry[1].array?.first?.array, item.count == 2,
              let id = item[0].text else { return nil }
        let fields = item[1].array ?? []
        var values: [String: String] = [:]
        var index = 0
        while index + 1 < fields.count {
            if let key = fields[index].text { values[key] = fields[index + 1].text }
            index += 2
        }
        guard let payload = values["payload"], let signature = values["sig"],
              authenticator.isAuthentic(payload, for: Self.stream, signature: signature),
              let request = try? JSONDecoder().decode(RunRequest.self, from: Data(payload.utf8))
        else {
            logger.error("rejected a connector run request that is unsigned, badly signed or malformed; acknowledged without running it",
                         metadata: ["message_id": "\(id)"])
            try await acknowledge(id)
            return try await read(from: position, block: block)
        }
        return (id, request)
    }

    private func ensureGroup() async throws {
        guard !groupCreated.withLock({ $0 }) else { return }
        try await writeExecutor.run { [writer] in
            do {
                _ = try writer.command(["XGROUP", "CREATE", Self.stream, Self.group, "0", "MKSTREAM"])
            } catch let error where "\(error)".contains("BUSYGROUP") {
                // Made by an earlier start: keep it, with whatever is pending in it.
            }
        }
        groupCreated.withLock { $0 = true }
    }

    static func encode(_ request: RunRequest) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(request), as: UTF8.self)
    }
}

/// Requests in memory, for stage logic tested without a server.
public actor InMemoryRunRequestQueue: RunRequestQueue {
    private var waiting: [(id: String, request: RunRequest)] = []
    private var taken: [(id: String, request: RunRequest)] = []
    private var counter = 0

    public init() {}

    public func submit(_ request: RunRequest) {
        counter += 1
        waiting.append((String(counter), request))
    }

    public func next(waitMilliseconds: Int) async throws -> (id: String, request: RunRequest)? {
        if let pending = taken.first { return pending }
        guard !waiting.isEmpty else {
            try await Task.sleep(for: .milliseconds(min(waitMilliseconds, 50)))
            return nil
        }
        let next = waiting.removeFirst()
        taken.append(next)
        return next
    }

    public func acknowledge(_ id: String) {
        taken.removeAll { $0.id == id }
    }

    public var pendingCount: Int { waiting.count + taken.count }
}
