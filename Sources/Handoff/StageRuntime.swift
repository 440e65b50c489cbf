public import ETLCore
import ServiceLifecycle

/// A downstream stage reduced to what is its own: what it does with one run, what it records
/// when it gives a run up, and how it finds runs whose announcement never reached it.
/// Consuming, claim keeping, retry with backoff, giving up, the catch-up schedule and
/// shutdown are the runtime's (`StageRuntime`), written once for every stage.
public protocol RunHandler: Sendable {
    /// Handles one run's event and returns once the stage's output is durable (only then is
    /// the delivery acknowledged). Must be idempotent: a crash means the run comes again.
    func handle(_ event: RunEvent) async throws

    /// Records a run given up after `maxDeliveries` failed handlings.
    func giveUp(_ event: RunEvent, error: any Error) async throws

    /// Finds and handles runs whose announcement was lost: at start (`olderThan` nil: every
    /// such run) and then every reconcile interval (only files untouched for that long, so a
    /// run whose announcement is in flight is left to the consumer).
    func catchUp(olderThan seconds: Double?) async

    /// Records an upstream stage's report that it is at work on a run (`HandoffPoint.progress`).
    func recordProgress(_ event: RunEvent) async throws
}

extension RunHandler {
    /// Stages that keep no ledger have nothing to do with progress reports.
    public func recordProgress(_ event: RunEvent) async throws {}
}

/// The loop of every downstream stage: the catch-up scan at start (when asked), then the
/// stream consumer and the periodic catch-up side by side until a graceful shutdown, which
/// lets the run in progress finish (its output written and announced, its transaction
/// committed) and stops between runs.
public struct StageRuntime: Sendable {
    public let consumer: StageConsumer
    public let reconcileIntervalSeconds: Double
    public let catchUpAtStart: Bool
    /// Consumes `HandoffPoint.progress` into `RunHandler.recordProgress` when set.
    public let progressConsumer: StageConsumer?

    public init(consumer: StageConsumer, reconcileIntervalSeconds: Double, catchUpAtStart: Bool,
                progressConsumer: StageConsumer? = nil) {
        self.consumer = consumer
        self.reconcileIntervalSeconds = reconcileIntervalSeconds
        self.catchUpAtStart = catchUpAtStart
        self.progressConsumer = progressConsumer
    }

    public func run(_ handler: some RunHandler) async {
        if catchUpAtStart { await handler.catchUp(olderThan: nil) }
        let consumer = self.consumer, interval = reconcileIntervalSeconds, progressConsumer = self.progressConsumer
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await consumer.run(
                        handle: { delivery in try await finishingThroughShutdown { try await handler.handle(delivery.event) } },
                        giveUp: { delivery, error in
                            try await finishingThroughShutdown { try await handler.giveUp(delivery.event, error: error) }
                        })
                }
                if let progressConsumer {
                    group.addTask {
                        await progressConsumer.run(
                            handle: { delivery in try await handler.recordProgress(delivery.event) },
                            // A report that cannot be recorded is only a stale status: dropped.
                            giveUp: { _, _ in })
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        // Real time (not an injected clock): the scans compare file ages, which are wall-clock.
                        do { try await Task.sleep(for: .milliseconds(Int64(interval * 1000))) } catch { return }
                        await handler.catchUp(olderThan: interval)
                    }
                }
                await group.waitForAll()
            }
        }
    }
}

/// Runs `work` in a task that a graceful shutdown does not cancel (an unstructured task does
/// not inherit cancellation), so a run in progress is finished rather than abandoned half-way.
public func finishingThroughShutdown<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await work() }.value
}
