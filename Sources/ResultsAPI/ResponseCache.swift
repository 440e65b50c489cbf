import GRDB
import NIOCore
import Synchronization

/// Answers already built, reused while the database has not changed.
///
/// Validity comes from SQLite's `PRAGMA data_version` read on one dedicated connection
/// (`ResultsStore.dataVersion()`): it changes whenever any other connection, in any process
/// (the saver), commits. The version is read *before* the answer is built, so an answer built
/// from a newer snapshot is tagged with an older version and merely rebuilt once more: an
/// entry is never served after a commit it may not reflect. Nothing expires by time, and
/// nothing stale is served.
///
/// Bounded by total bytes: when full, everything is dropped (clients that vary their queries
/// endlessly only lose the cache, never correctness).
final class ResponseCache<Value: Sendable>: Sendable {
    struct Entry: Sendable {
        var version: Int
        var value: Value
        var bytes: Int
    }

    let maxBytes: Int
    private let state = Mutex<(entries: [[String?]: Entry], bytes: Int)>(([:], 0))

    init(maxBytes: Int = 64 << 20) {
        self.maxBytes = maxBytes
    }

    func value(for key: [String?], version: Int) -> Value? {
        state.withLock { state in
            guard let entry = state.entries[key], entry.version == version else { return nil }
            return entry.value
        }
    }

    func store(_ value: Value, bytes: Int, for key: [String?], version: Int) {
        guard bytes <= maxBytes / 4 else { return }
        state.withLock { state in
            if let old = state.entries[key] { state.bytes -= old.bytes }
            if state.bytes + bytes > maxBytes {
                state.entries.removeAll(keepingCapacity: true)
                state.bytes = 0
            }
            state.entries[key] = Entry(version: version, value: value, bytes: bytes)
            state.bytes += bytes
        }
    }
}

extension ResultsStore {
    /// `build` in a read-only snapshot, or its answer from the cache while the database is
    /// unchanged since it was built.
    func cached<Value: Sendable>(
        _ cache: ResponseCache<Value>, key: [String?], size: @escaping @Sendable (Value) -> Int,
        build: @escaping @Sendable (Database) throws -> Value
    ) async throws -> Value {
        let version = try await dataVersion()
        if let hit = cache.value(for: key, version: version) { return hit }
        let value = try await read(build)
        cache.store(value, bytes: size(value), for: key, version: version)
        return value
    }
}
