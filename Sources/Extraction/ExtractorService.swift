public import ETLCore
import Foundation
public import Logging
public import ServiceLifecycle

/// The long-running extractor: one run at start (when `EXTRACT_ON_START`), then one a day
/// at `EXTRACT_SCHEDULE` (UTC). A failed run is logged and resumed by the next one; a
/// graceful shutdown stops a run between pages with its checkpoint saved.
public struct ExtractorService: Service {
    public let configuration: ExtractorConfiguration
    public let makeExtraction: @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> Extraction
    public let clock: any PipelineClock
    public let logger: Logger

    public init(
        configuration: ExtractorConfiguration, clock: any PipelineClock, logger: Logger,
        makeExtraction: @escaping @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> Extraction
    ) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.makeExtraction = makeExtraction
    }

    public func run() async throws {
        if configuration.extractOnStart { await runOnce() }
        while !Task.isShuttingDownGracefully {
            let next = configuration.schedule.nextFire(after: clock.now())
            logger.info("next extraction at \(ISO8601.string(from: next))")
            do {
                try await cancelWhenGracefulShutdown {
                    try await clock.sleep(seconds: next.timeIntervalSince(clock.now()))
                }
            } catch {
                return  // shutting down
            }
            guard !Task.isShuttingDownGracefully else { return }
            await runOnce()
        }
    }

    private func runOnce() async {
        let extraction = makeExtraction { Task.isShuttingDownGracefully }
        do {
            // A shutdown also cancels a request or a backoff wait in progress (the page is
            // then fetched again by the resumed run), so SIGTERM is honoured within seconds.
            _ = try await cancelWhenGracefulShutdown { try await extraction.run() }
        } catch is CancellationError {
            logger.notice("extraction stopped by shutdown; the checkpoint resumes it")
        } catch {
            logger.error("\(error)")
        }
    }
}
