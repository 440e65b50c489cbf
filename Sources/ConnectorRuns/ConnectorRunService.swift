public import ConnectorSources
public import Connectors
public import ETLCore
import Foundation
public import Handoff
public import Logging
import PipelineSchema
public import ServiceLifecycle

/// The extractor's connector runs as a service: takes run requests (from `etlctl`, the api,
/// or the schedules below) one at a time and acknowledges each once its run has ended, so a
/// request taken by an extractor that died runs when it restarts. Each connector with a
/// `schedule` gets a request at its time each day (missed times are not caught up: the next
/// run takes everything new since the last good one anyway).
public struct ConnectorRunService: Service {
    public let runner: ConnectorRunner
    public let requests: any RunRequestQueue
    public let clock: any PipelineClock
    public let logger: Logger
    /// How often schedules are looked at.
    public let scheduleCheckSeconds: Double

    public init(runner: ConnectorRunner, requests: any RunRequestQueue, clock: any PipelineClock, logger: Logger,
                scheduleCheckSeconds: Double = 30) {
        self.runner = runner
        self.requests = requests
        self.clock = clock
        self.logger = logger
        self.scheduleCheckSeconds = scheduleCheckSeconds
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdownIgnoringErrors { try await takeRequests() } }
            group.addTask { await cancelWhenGracefulShutdownIgnoringErrors { try await requestScheduledRuns() } }
        }
    }

    private func takeRequests() async throws {
        let retrying = Retrying(policy: runner.context.retry, maxAttempts: nil, maxWaitSeconds: 30, clock: clock)
        while !Task.isCancelled {
            try await retrying.run({ _ in
                guard let (id, request) = try await requests.next(waitMilliseconds: 1000) else { return }
                let outcome = try await runner.run(request)
                logger.info("connector run request \(request.taskID) done: \(outcome)")
                try await requests.acknowledge(id)
            }, shouldRetry: { _ in !Task.isCancelled }, willRetry: { error, attempt, wait in
                logger.warning("connector runs: \(error) (attempt \(attempt)); retrying in \(String(format: "%.1f", wait))s")
            })
        }
    }

    private func requestScheduledRuns() async throws {
        var checkedUpTo = clock.now()
        while !Task.isCancelled {
            try await clock.sleep(seconds: scheduleCheckSeconds)
            let now = clock.now()
            do {
                for record in try await runner.registry.list().connectors {
                    guard let text = record.schedule, let schedule = DailySchedule(text), let id = record.id,
                          schedule.nextFire(after: checkedUpTo) <= now else { continue }
                    try await requests.submit(RunRequest(sourceID: id, connector: record.name, requestedAt: ISO8601.string(from: now),
                                                         requestedBy: "schedule"))
                    logger.info("connector \(record.name): scheduled run requested (\(text) UTC)")
                }
                checkedUpTo = now
            } catch {
                logger.warning("cannot look at connector schedules: \(error); trying again in \(Int(scheduleCheckSeconds))s")
            }
        }
    }
}

private func cancelWhenGracefulShutdownIgnoringErrors(_ body: @escaping @Sendable () async throws -> Void) async {
    try? await cancelWhenGracefulShutdown { try await body() }
}
