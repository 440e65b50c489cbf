import Dispatch

/// Runs blocking C calls (hiredis, libcurl, libssh2, file I/O) on a serial dispatch queue
/// of its own, never on Swift's cooperative pool, which has only as many threads as cores
/// (two here): one blocked call there would stall every task in the process.
public final class BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
