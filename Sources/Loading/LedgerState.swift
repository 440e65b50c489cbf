public import ETLCore

/// What `etl_runs` knows of a run, as far as deciding what an event may do to it.
public struct LedgerState: Sendable, Equatable {
    public var status: RunStatus
    public var attempt: Int?
    public var failureKind: FailureKind?
    public var failureCode: String?
    /// `RunFiles.outputFingerprint` of the files the last load read.
    public var loadedFingerprint: String?
    /// The last operator retry that reopened the run.
    public var retryRequest: String?

    public init(
        status: RunStatus, attempt: Int? = nil, failureKind: FailureKind? = nil, failureCode: String? = nil,
        loadedFingerprint: String? = nil, retryRequest: String? = nil
    ) {
        self.status = status
        self.attempt = attempt
        self.failureKind = failureKind
        self.failureCode = failureCode
        self.loadedFingerprint = loadedFingerprint
        self.retryRequest = retryRequest
    }

    public enum Admission: Equatable, Sendable {
        /// Recorded with the usual forward-only merge.
        case forward
        /// The run starts over from `failed` (transient cause, or an operator retry) or from
        /// `completed` (an operator retry): the event's status is taken and the error cleared.
        case newTry
        /// Nothing is recorded: a message cannot change this run.
        case refuse(EventRejection)
    }

    /// Whether a progress report (`extracting`, `transforming`) still describes the run: the
    /// ledger is not past its stage, or the report belongs to a new extraction attempt of a
    /// failed run. A completed run takes none.
    public static func isCurrent(_ report: RunEvent, given state: LedgerState?) -> Bool {
        guard let state else { return true }
        // A report without an attempt (a run found by a catch-up scan) is of the current one.
        let attempt = report.attempt ?? state.attempt ?? 0, current = state.attempt ?? 0
        switch state.status {
        case .completed: return false
        case .failed: return attempt > current
        default: return report.status.rank >= state.status.rank && attempt >= current
        }
    }

    /// What an event may do to a run the ledger knows as `state` (nil: unknown run).
    /// - `completed` is final: no message fails it or moves it back, only a new operator
    ///   retry (`retry_request` not seen before) reopens it.
    /// - `failed` for a transient cause (or with no recorded cause) starts over with the next
    ///   event of a new try; for a permanent cause only with a new operator retry.
    public static func admission(of event: RunEvent, given state: LedgerState?) -> Admission {
        guard let state else { return .forward }
        let isNewRetry = event.retryRequest != nil && event.retryRequest != state.retryRequest
        switch state.status {
        case .completed:
            if event.status == .completed { return .forward }
            if isNewRetry, event.status != .failed { return .newTry }
            return .refuse(.contradictsLedger(runID: event.runID, ledger: "completed", incoming: event.status.rawValue))
        case .failed:
            if event.status == .failed { return .forward }
            if isNewRetry || state.failureKind != .permanent { return .newTry }
            return .refuse(.contradictsLedger(
                runID: event.runID, ledger: "failed for a permanent cause (\(state.failureCode ?? "unknown"))",
                incoming: "\(event.status.rawValue) without an operator retry (saver --retry \(event.runID))"))
        default:
            return .forward
        }
    }
}
