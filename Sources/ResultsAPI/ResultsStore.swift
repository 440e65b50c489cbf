import ETLCore
import Foundation
public import GRDB
public import Logging
import PipelineSchema
import Synchronization

/// The API's view of the saver's database: opened read-only, lazily. Until the file exists
/// (the saver has not run yet) every access throws `APIError.databaseUnavailable`, and the
/// first request after it appears opens it: no restart needed.
public final class ResultsStore: Sendable {
    public let path: String
    private let pool: LazyConnection<DatabasePool>
    /// `PRAGMA data_version` (see `ResponseCache`), read on one dedicated connection: the
    /// value is per connection, so it must always be the same one.
    private let versionReads: FreshReads<Int>

    public init(path: String, logger: Logger) {
        self.path = path
        pool = LazyConnection(path: path, logger: logger) {
            var configuration = Self.readOnlyConfiguration(label: "api")
            // Enough readers for both cores plus requests waiting on I/O.
            configuration.maximumReaderCount = 8
            return try DatabasePool(path: path, configuration: configuration)
        }
        let versionConnection = LazyConnection(path: path, logger: logger) {
            try DatabaseQueue(path: path, configuration: Self.readOnlyConfiguration(label: "api.version"))
        }
        versionReads = FreshReads {
            let connection = try await versionConnection.get()
            return try await connection.unsafeRead { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        }
    }

    public enum State: String, Sendable {
        case ok, missing, unavailable
    }

    /// Runs `body` in a read-only snapshot. SQL errors that mean "not there yet" (no file, no
    /// table) become `APIError.databaseUnavailable`; others propagate.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let reader = try await pool.get()
        do {
            return try await reader.read(body)
        } catch let error as DatabaseError where Self.meansNotReady(error) {
            throw APIError.databaseUnavailable("the database at \(path) is not ready yet: \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// Whether the database can be read now (for `/health`).
    public func state() async -> State {
        guard FileManager.default.fileExists(atPath: path) else { return .missing }
        do {
            _ = try await read { db in try RunRecord.fetchCount(db) }
            return .ok
        } catch {
            return .unavailable
        }
    }

    /// SQLite's `PRAGMA data_version` on the dedicated connection: it changes after every
    /// commit by another connection or process. Read on the connection's own queue, so a
    /// request waiting for it never holds one of the cooperative pool's threads, and shared
    /// by the requests that ask at the same time (`FreshReads`).
    func dataVersion() async throws -> Int {
        try await versionReads.value()
    }

    private static func readOnlyConfiguration(label: String) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = label
        configuration.busyMode = .timeout(5)
        return configuration
    }

    private static func meansNotReady(_ error: DatabaseError) -> Bool {
        let message = error.message ?? ""
        return message.contains("no such table") || error.resultCode == .SQLITE_CANTOPEN || error.resultCode == .SQLITE_NOTADB
    }
}

/// A connection to the database at `path`, opened on first use and kept; until the file
/// exists, every use throws `APIError.databaseUnavailable`. Opening reads the file, so it runs
/// on a serial queue of its own (one open at a time), never on the cooperative pool.
private final class LazyConnection<Connection: Sendable>: Sendable {
    private let path: String
    private let logger: Logger
    private let open: @Sendable () throws -> Connection
    private let connection = Mutex<Connection?>(nil)
    private let opener = BlockingExecutor(label: "api.database-open")

    init(path: String, logger: Logger, open: @escaping @Sendable () throws -> Connection) {
        self.path = path
        self.logger = logger
        self.open = open
    }

    func get() async throws -> Connection {
        if let opened = connection.withLock({ $0 }) { return opened }
        return try await opener.run { [self] in try openOnce() }
    }

    private func openOnce() throws -> Connection {
        if let opened = connection.withLock({ $0 }) { return opened }
        guard FileManager.default.fileExists(atPath: path) else {
            throw APIError.databaseUnavailable("no database yet at \(path): the saver creates it with the first run")
        }
        let opened: Connection
        do {
            opened = try open()
        } catch {
            throw APIError.databaseUnavailable("cannot open the database at \(path): \(error)")
        }
        connection.withLock { $0 = opened }
        logger.info("database opened read-only", metadata: ["path": "\(path)", "connection": "\(Connection.self)"])
        return opened
    }
}
