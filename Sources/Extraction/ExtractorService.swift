public import ETLCore
import Foundation
public import Logging
public import ServiceLifecycle

/// The extractor as a service. `.daily`: one run at start (when `EXTRACT_ON_START`), then
/// one a day at `EXTRACT_SCHEDULE` (UTC); a failed run is logged and resumed by the next one.
/// `.once` (`extractor --once`): one run, whose failure the service throws. Either way a
/// graceful shutdown stops a run between pages with its checkpoint saved.
public struct ExtractorService: Service {
    public enum Mode: Sendable {
        case daily, once
    }

    public let mode: Mode
    public let configuration: ExtractorConfiguration
    public let makeExtraction: @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> Extraction
    public let clock: any PipelineClock
    public let logger: Logger

    public init(
        mode: Mode = .daily, configuration: ExtractorConfiguration, clock: any PipelineClock, logger: Logger,
        makeExtraction: @escaping @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> Extraction
    ) {
        self.mode = mode
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.makeExtraction = makeExtraction
    }

    public func run() async throws {
        switch mode {
        case .once: try await extractOnce()
        case .daily: try await extractDaily()
        }
    }

    /// One run; a shutdown that stops it is not a failure (the checkpoint resumes it).
    private func extractOnce() async throws {
        do {
            _ = try await cancelWhenGracefulShutdown { try await makeExtraction { Task.isShuttingDownGracefully }.run() }
        } catch is CancellationError {
            logger.notice("extraction stopped by shutdown; the checkpoint resumes it")
        }
    }

    private func extractDaily() async throws {
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
