import Foundation
import GRDB
import Logging
import PipelineSchema
import Synchronization

/// The API's view of the saver's database: opened read-only, lazily. Until the file exists
/// (the saver has not run yet) every access throws `APIError.databaseUnavailable`, and the
/// first request after it appears opens it: no restart needed.
public final class ResultsStore: Sendable {
    public let path: String
    private let pool = Mutex<DatabasePool?>(nil)
    /// One connection that only reads `PRAGMA data_version` (see `ResponseCache`): the value
    /// is per connection, so it must always be the same one.
    private let versionConnection = Mutex<DatabaseQueue?>(nil)
    private let logger: Logger

    public init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    public enum State: String, Sendable {
        case ok, missing, unavailable
    }

    /// Runs `body` in a read-only snapshot. SQL errors that mean "not there yet" (no file, no
    /// table) become `APIError.databaseUnavailable`; others propagate.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let reader = try openedPool()
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
    /// commit by another connection or process.
    func dataVersion() throws -> Int {
        try versionConnection.withLock { queue in
            let connection: DatabaseQueue
            if let queue {
                connection = queue
            } else {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw APIError.databaseUnavailable("no database yet at \(path): the saver creates it with the first run")
                }
                do {
                    connection = try DatabaseQueue(path: path, configuration: Self.readOnlyConfiguration(label: "api.version"))
                } catch {
                    throw APIError.databaseUnavailable("cannot open the database at \(path): \(error)")
                }
                queue = connection
            }
            return try connection.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        }
    }

    private static func readOnlyConfiguration(label: String) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = label
        configuration.busyMode = .timeout(5)
        return configuration
    }

    private func openedPool() throws -> DatabasePool {
        try pool.withLock { pool in
            if let pool { return pool }
            guard FileManager.default.fileExists(atPath: path) else {
                throw APIError.databaseUnavailable("no database yet at \(path): the saver creates it with the first run")
            }
            var configuration = Self.readOnlyConfiguration(label: "api")
            // Enough readers for both cores plus requests waiting on I/O.
            configuration.maximumReaderCount = 8
            do {
                let opened = try DatabasePool(path: path, configuration: configuration)
                pool = opened
                logger.info("database opened read-only", metadata: ["path": "\(path)"])
                return opened
            } catch {
                throw APIError.databaseUnavailable("cannot open the database at \(path): \(error)")
            }
        }
    }

    private static func meansNotReady(_ error: DatabaseError) -> Bool {
        let message = error.message ?? ""
        return message.contains("no such table") || error.resultCode == .SQLITE_CANTOPEN || error.resultCode == .SQLITE_NOTADB
    }
}
