import Synchronization

/// Shares one read among the callers that ask for it at the same time, without ever handing a
/// caller a value read before it asked: a caller waits for the next read that *starts* after
/// it arrived, and every caller waiting then gets that one read's result.
///
/// Under load this turns one hop per request (onto the database connection's queue, and
/// back onto the cooperative pool) into one hop per burst of requests, while keeping what a
/// fresh read per request guarantees: a commit that finished before a request arrived is
/// always seen by it.
final class FreshReads<Value: Sendable>: Sendable {
    private typealias Waiter = CheckedContinuation<Value, any Error>

    private struct State {
        var waiting: [Waiter] = []
        var reading = false
    }

    private let read: @Sendable () async throws -> Value
    private let state = Mutex(State())

    init(_ read: @escaping @Sendable () async throws -> Value) {
        self.read = read
    }

    /// Callers waiting for a read that has not started yet, or is running.
    var waitingCount: Int {
        state.withLock { $0.waiting.count }
    }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let startsReading = state.withLock { state in
                state.waiting.append(waiter)
                guard !state.reading else { return false }
                state.reading = true
                return true
            }
            if startsReading {
                Task { await self.readWhileAsked() }
            }
        }
    }

    /// Reads once for everyone waiting, then again for those who arrived during that read,
    /// until nobody waits.
    private func readWhileAsked() async {
        while true {
            let batch = state.withLock { state in
                var batch: [Waiter] = []
                swap(&batch, &state.waiting)
                if batch.isEmpty { state.reading = false }
                return batch
            }
            if batch.isEmpty { return }
            let result: Result<Value, any Error>
            do {
                result = .success(try await read())
            } catch {
                result = .failure(error)
            }
            for waiter in batch { waiter.resume(with: result) }
        }
    }
}
