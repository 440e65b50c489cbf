public import ETLCore
import Foundation
public import Logging
import RedisClient

/// The loop every downstream stage runs: take the next delivery, handle it, acknowledge it.
///
/// - A delivery is acknowledged only after `handle` returned, i.e. after the stage's output
///   is durable; a crash before that means the run is delivered again (handlers are idempotent).
/// - A handler that throws is retried with backoff; after `maxDeliveries` the run is handed
///   to `giveUp` (which records it as failed) and acknowledged, so one poison run never
///   blocks the stage.
/// - Losing the queue (Redis down) never ends the loop: it logs, backs off and reconnects.
/// - Cancellation (graceful shutdown) is checked between deliveries, never inside one.
/// - While a delivery is handled, the consumer refreshes its claim on it every
///   `queue.claimRefreshSeconds` (`XCLAIM … JUSTID`), so a long handling is never taken for a
///   dead consumer's; only a consumer that stopped (killed, frozen) loses its entries.
/// - A handling that failed because the queue itself was unreachable (Redis down while the
///   handler announced) does not count towards `maxDeliveries`: an outage never fails a run.
public struct StageConsumer: Sendable {
    public let queue: any RunEventQueue
    public let handoff: HandoffPoint
    public let group: String
    public let consumer: String
    public let maxDeliveries: Int
    public let retry: RetryPolicy
    public let clock: any PipelineClock
    public let logger: Logger
    public let waitMilliseconds: Int

    public init(
        queue: any RunEventQueue, handoff: HandoffPoint, group: String, consumer: String = StageConsumer.defaultConsumerName(),
        maxDeliveries: Int = 5, retry: RetryPolicy, clock: any PipelineClock = SystemClock(), logger: Logger,
        waitMilliseconds: Int = 1000
    ) {
        self.queue = queue
        self.handoff = handoff
        self.group = group
        self.consumer = consumer
        self.maxDeliveries = maxDeliveries
        self.retry = retry
        self.clock = clock
        self.logger = logger
        self.waitMilliseconds = waitMilliseconds
    }

    /// A name unique to this process, so replicas of a stage share a group without clashing.
    public static func defaultConsumerName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    public func run(
        handle: @Sendable (Delivery) async throws -> Void,
        giveUp: @Sendable (Delivery, any Error) async throws -> Void
    ) async {
        let reconnecting = Retrying(policy: retry, maxAttempts: nil, maxWaitSeconds: 30, clock: clock)
        while !Task.isCancelled {
            let delivery: Delivery?
            do {
                delivery = try await reconnecting.run({ attempt in
                    let delivery = try await queue.next(at: handoff, group: group, consumer: consumer, waitMilliseconds: waitMilliseconds)
                    if attempt > 1 { logger.info("reconnected to the queue", metadata: ["stream": "\(handoff.stream)"]) }
                    return delivery
                }, willRetry: { error, attempt, wait in
                    logger.warning("queue unavailable, retrying", metadata: [
                        "error": "\(error)", "attempt": "\(attempt)", "retry_in_s": "\(String(format: "%.1f", wait))",
                    ])
                })
            } catch {
                return  // cancelled: the only way out of an unbounded retry
            }
            guard let delivery else { continue }
            await process(delivery, handle: handle, giveUp: giveUp)
        }
    }

    private func process(
        _ delivery: Delivery,
        handle: @Sendable (Delivery) async throws -> Void,
        giveUp: @Sendable (Delivery, any Error) async throws -> Void
    ) async {
        let metadata: Logger.Metadata = [
            "run_id": "\(delivery.event.runID)", "message_id": "\(delivery.messageID)", "delivery": "\(delivery.deliveryCount)",
        ]
        do {
            try await withClaimKept(delivery) { try await handle(delivery) }
        } catch {
            if Self.isQueueUnavailable(error) {
                let wait = min(retry.delay(beforeRetry: 1, unit: .random(in: 0..<1)), 30)
                logger.warning("handling stopped by a queue outage, will retry", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                try? await clock.sleep(seconds: wait)
                return
            }
            guard delivery.deliveryCount >= maxDeliveries else {
                let wait = retry.delay(beforeRetry: delivery.deliveryCount, unit: .random(in: 0..<1))
                logger.error("handling failed, will retry", metadata: metadata.merging(["error": "\(error)", "retry_in_s": "\(wait)"]) { $1 })
                try? await clock.sleep(seconds: wait)
                return
            }
            logger.error("giving up after \(delivery.deliveryCount) deliveries", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            do {
                try await giveUp(delivery, error)
            } catch {
                // Typically the same cause (a full disk under the database): wait before the
                // entry comes back, so a lasting fault is not retried in a tight loop.
                let wait = min(retry.delay(beforeRetry: delivery.deliveryCount, unit: .random(in: 0..<1)), 60)
                logger.error("could not record the failed run; it stays pending", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                try? await clock.sleep(seconds: wait)
                return
            }
        }
        do {
            try await queue.acknowledge(delivery, group: group)
        } catch {
            // Not acknowledged means delivered again later; handlers are idempotent.
            logger.warning("acknowledge failed; the run will be delivered again", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// Runs `body` while a side task refreshes the claim on `delivery`.
    private func withClaimKept(_ delivery: Delivery, _ body: () async throws -> Void) async throws {
        guard let interval = queue.claimRefreshSeconds, interval > 0 else { return try await body() }
        let queue = self.queue, group = self.group, consumer = self.consumer, logger = self.logger
        let heartbeat = Task {
            var lost = false
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                } catch {
                    return
                }
                do {
                    let kept = try await queue.keepClaimed(delivery, group: group, consumer: consumer)
                    if !kept, !lost {
                        lost = true
                        logger.warning("another consumer claimed this run while it was handled here; both outputs are identical",
                                       metadata: ["run_id": "\(delivery.event.runID)", "message_id": "\(delivery.messageID)"])
                    }
                } catch {
                    logger.debug("could not refresh the claim", metadata: ["error": "\(error)"])
                }
            }
        }
        defer { heartbeat.cancel() }
        try await body()
    }

    /// Errors that mean "Redis is unreachable", not "this run cannot be handled".
    static func isQueueUnavailable(_ error: any Error) -> Bool {
        guard let error = error as? RedisError else { return false }
        switch error {
        case .connectionFailed, .connectionLost: return true
        // A restarting Redis answers LOADING while it replays its AOF.
        case .server(_, let message):
            return ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"].contains { message.hasPrefix($0) }
        default: return false
        }
    }
}
