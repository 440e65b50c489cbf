import Foundation
import GRDB
import Logging
import Synchronization

/// The API's view of the saver's database: opened read-only, lazily. Until the file exists
/// (the saver has not run yet) every access throws `APIError.databaseUnavailable`, and the
/// first request after it appears opens it: no restart needed.
public final class ResultsStore: Sendable {
    public let path: String
    private let pool = Mutex<DatabasePool?>(nil)
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
            _ = try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM etl_runs") }
            return .ok
        } catch {
            return .unavailable
        }
    }

    private func openedPool() throws -> DatabasePool {
        try pool.withLock { pool in
            if let pool { return pool }
            guard FileManager.default.fileExists(atPath: path) else {
                throw APIError.databaseUnavailable("no database yet at \(path): the saver creates it with the first run")
            }
            var configuration = Configuration()
            configuration.readonly = true
            configuration.label = "api"
            configuration.busyMode = .timeout(5)
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
