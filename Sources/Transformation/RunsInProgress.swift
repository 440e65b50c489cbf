import ETLCore
import Synchronization

/// Runs being transformed by this process, so its catch-up scan and its stream consumer never
/// work on the same run at the same time (the second one waits, then finds it done).
final class RunsInProgress: Sendable {
    private let runs = Mutex<Set<RunID>>([])

    func contains(_ runID: RunID) -> Bool { runs.withLock { $0.contains(runID) } }

    /// Runs `body` once no other task of this process is working on `runID`.
    func exclusively<T: Sendable>(_ runID: RunID, _ body: () async throws -> T) async throws -> T {
        while !runs.withLock({ $0.insert(runID).inserted }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        defer { _ = runs.withLock { $0.remove(runID) } }
        return try await body()
    }
}
