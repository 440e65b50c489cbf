public import Logging

extension LogLevelSetting {
    public var loggerLevel: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}

/// One log line per event on standard output, which the local stack sends to
/// `logs/<service>.log` and Docker to `docker compose logs <service>`.
public enum PipelineLogging {
    public static func bootstrap(level: LogLevelSetting) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level.loggerLevel
            return handler
        }
    }
}
