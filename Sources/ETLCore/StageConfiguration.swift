import Foundation

/// What every stage shares: where data lives, how to reach Redis, how to retry, how loud to log.
public struct CommonConfiguration: Sendable {
    public var dataDirectory: URL
    public var redisURL: String
    public var retry: RetryPolicy
    public var logLevel: LogLevelSetting
    /// `CLAIM_IDLE_SECONDS`: a handoff entry pending this long for a consumer that stopped
    /// refreshing it (a dead process) is claimed by another consumer of the group. Live
    /// consumers refresh their entry every third of it, however long the handling takes.
    public var claimIdleSeconds: Double
    /// `RECONCILE_INTERVAL_SECONDS`: how often the transformer and the saver look for runs
    /// whose announcement never reached them (e.g. lost by a Redis crash) and finish them.
    public var reconcileIntervalSeconds: Double
    /// `EVENT_HMAC_KEY`: the secret shared by the stages that signs every hand-off event
    /// (HMAC-SHA256); events without a valid signature are refused. Required.
    public var eventKey: String

    /// The shortest `EVENT_HMAC_KEY` accepted (characters).
    public static let minimumEventKeyLength = 32

    public init(
        dataDirectory: URL, redisURL: String, retry: RetryPolicy, logLevel: LogLevelSetting,
        claimIdleSeconds: Double = 60, reconcileIntervalSeconds: Double = 60,
        // Empty for configurations that reach no Redis (unit tests); `RedisRunEventQueue`
        // refuses a key shorter than `minimumEventKeyLength`, so nothing runs unsigned.
        eventKey: String = ""
    ) {
        self.dataDirectory = dataDirectory
        self.redisURL = redisURL
        self.retry = retry
        self.logLevel = logLevel
        self.claimIdleSeconds = claimIdleSeconds
        self.reconcileIntervalSeconds = reconcileIntervalSeconds
        self.eventKey = eventKey
    }

    public init(_ source: ConfigurationSource) throws {
        dataDirectory = URL(fileURLWithPath: source.string("DATA_DIR", default: "data"))
        let redis = try source.url("REDIS_URL", default: "redis://127.0.0.1:6379/0", schemes: ["redis"])
        redisURL = redis.absoluteString
        retry = try RetryPolicy(source)
        logLevel = try source.logLevel()
        claimIdleSeconds = try source.double("CLAIM_IDLE_SECONDS", default: 60, in: 1...86_400)
        reconcileIntervalSeconds = try source.double("RECONCILE_INTERVAL_SECONDS", default: 60, in: 1...86_400)
        guard let key = source.optionalString("EVENT_HMAC_KEY") else {
            throw ConfigurationError.missing(
                variable: "EVENT_HMAC_KEY",
                expected: "a secret of at least \(Self.minimumEventKeyLength) characters shared by extractor, transformer and saver (e.g. `openssl rand -hex 32`)")
        }
        guard key.count >= Self.minimumEventKeyLength else {
            throw ConfigurationError.invalid(
                variable: "EVENT_HMAC_KEY", value: "(\(key.count) characters, hidden)",
                expected: "at least \(Self.minimumEventKeyLength) characters (e.g. `openssl rand -hex 32`)")
        }
        eventKey = key
    }
}

public struct ExtractorConfiguration: Sendable {
    public var common: CommonConfiguration
    public var sourceURL: URL
    public var pageSize: Int
    public var httpTimeoutSeconds: Double
    public var schedule: DailySchedule
    public var extractOnStart: Bool
    /// `CIRCUIT_BREAKER_THRESHOLD`: consecutive failed requests (across pages) that open the
    /// circuit breaker on the source; 0 disables it.
    public var circuitBreakerThreshold: Int
    /// `CIRCUIT_BREAKER_COOLDOWN_SECONDS`: how long an open breaker sends no request.
    public var circuitBreakerCooldownSeconds: Double
    /// `SOURCE_ALLOWED_REDIRECT_HOSTS`: hosts (`host` or `host:port`, comma-separated) a
    /// redirect from `SOURCE_URL` may lead to; a redirect to any other host:port is refused.
    public var allowedRedirectHosts: Set<String>

    public init(
        common: CommonConfiguration, sourceURL: URL, pageSize: Int = 100, httpTimeoutSeconds: Double = 10,
        schedule: DailySchedule = DailySchedule(hour: 3, minute: 0), extractOnStart: Bool = true,
        circuitBreakerThreshold: Int = 5, circuitBreakerCooldownSeconds: Double = 30, allowedRedirectHosts: Set<String> = []
    ) {
        self.common = common
        self.sourceURL = sourceURL
        self.pageSize = pageSize
        self.httpTimeoutSeconds = httpTimeoutSeconds
        self.schedule = schedule
        self.extractOnStart = extractOnStart
        self.circuitBreakerThreshold = circuitBreakerThreshold
        self.circuitBreakerCooldownSeconds = circuitBreakerCooldownSeconds
        self.allowedRedirectHosts = allowedRedirectHosts
    }

    public init(_ source: ConfigurationSource) throws {
        common = try CommonConfiguration(source)
        sourceURL = try source.url("SOURCE_URL", default: "https://dummyjson.com/users", schemes: ["http", "https"])
        pageSize = try source.int("SOURCE_PAGE_SIZE", default: 100, in: 1...10_000)
        httpTimeoutSeconds = try source.double("HTTP_TIMEOUT_SECONDS", default: 10, in: 0.1...3600)
        schedule = try DailySchedule(parsing: source.string("EXTRACT_SCHEDULE", default: "03:00"), variable: "EXTRACT_SCHEDULE")
        extractOnStart = try source.bool("EXTRACT_ON_START", default: true)
        circuitBreakerThreshold = try source.int("CIRCUIT_BREAKER_THRESHOLD", default: 5, in: 0...1_000)
        circuitBreakerCooldownSeconds = try source.double("CIRCUIT_BREAKER_COOLDOWN_SECONDS", default: 30, in: 0...86_400)
        allowedRedirectHosts = try Self.hostList(source.string("SOURCE_ALLOWED_REDIRECT_HOSTS", default: ""), variable: "SOURCE_ALLOWED_REDIRECT_HOSTS")
    }

    /// `a.example, b.example:8443` → {"a.example", "b.example:8443"} (lower-cased).
    static func hostList(_ text: String, variable: String) throws -> Set<String> {
        var hosts = Set<String>()
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            let validHost = !parts[0].isEmpty && parts[0].allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }
            let validPort = parts.count == 1 || (parts.count == 2 && Int(parts[1]).map { (1...65_535).contains($0) } == true)
            guard validHost, validPort else {
                throw ConfigurationError.invalid(
                    variable: variable, value: text, expected: "comma-separated host names or host:port pairs, e.g. cdn.example.com,api.example.com:8443")
            }
            hosts.insert(entry)
        }
        return hosts
    }
}

public struct TransformerConfiguration: Sendable {
    public var common: CommonConfiguration
    public var departmentsCSV: URL
    public var ageRange: ClosedRange<Double>

    public init(common: CommonConfiguration, departmentsCSV: URL, ageRange: ClosedRange<Double> = 18...65) {
        self.common = common
        self.departmentsCSV = departmentsCSV
        self.ageRange = ageRange
    }

    public init(_ source: ConfigurationSource) throws {
        common = try CommonConfiguration(source)
        departmentsCSV = URL(fileURLWithPath: source.string("DEPARTMENTS_CSV", default: "config/departments.csv"))
        let minimum = try source.int("AGE_MIN", default: 18, in: 0...200)
        let maximum = try source.int("AGE_MAX", default: 65, in: 0...200)
        guard minimum <= maximum else {
            throw ConfigurationError.invalid(
                variable: "AGE_MAX", value: String(maximum), expected: "a value not below AGE_MIN (\(minimum))")
        }
        ageRange = Double(minimum)...Double(maximum)
    }
}

public struct SFTPConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var privateKeyPath: String
    public var keyPassphrase: String?
    public var knownHostsPath: String
    public var remoteDirectory: String

    public init(
        host: String, port: Int, user: String, privateKeyPath: String, keyPassphrase: String? = nil,
        knownHostsPath: String, remoteDirectory: String
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeyPath = privateKeyPath
        self.keyPassphrase = keyPassphrase
        self.knownHostsPath = knownHostsPath
        self.remoteDirectory = remoteDirectory
    }

    public init(_ source: ConfigurationSource) throws {
        host = source.string("SFTP_HOST", default: "127.0.0.1")
        port = try source.int("SFTP_PORT", default: 22, in: 1...65_535)
        user = source.string("SFTP_USER", default: "etl")
        privateKeyPath = source.string("SFTP_KEY_PATH", default: "ssh_keys/id_ed25519")
        keyPassphrase = source.optionalString("SFTP_KEY_PASSPHRASE")
        knownHostsPath = source.string("SFTP_KNOWN_HOSTS", default: "ssh_keys/known_hosts")
        remoteDirectory = source.string("SFTP_REMOTE_DIR", default: "upload")
        for (variable, path) in [("SFTP_KEY_PATH", privateKeyPath), ("SFTP_KNOWN_HOSTS", knownHostsPath)]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigurationError.invalid(
                variable: variable, value: path,
                expected: "a readable file (generate keys with scripts/generate-keys.sh)")
        }
    }
}

public struct SaverConfiguration: Sendable {
    public var common: CommonConfiguration
    public var databasePath: String
    public var sftp: SFTPConfiguration

    public init(common: CommonConfiguration, databasePath: String, sftp: SFTPConfiguration) {
        self.common = common
        self.databasePath = databasePath
        self.sftp = sftp
    }

    public init(_ source: ConfigurationSource) throws {
        common = try CommonConfiguration(source)
        databasePath = source.string("DATABASE_PATH", default: "database/data.db")
        sftp = try SFTPConfiguration(source)
    }
}

public struct APIConfiguration: Sendable {
    public static let defaultChartJSPath = "/usr/share/javascript/chart.js/chart.min.js"

    public var databasePath: String
    public var host: String
    public var port: Int
    public var corsOrigins: [String]
    public var logLevel: LogLevelSetting
    /// When set, every route but `/health` (and CORS preflights) needs `Authorization: Bearer <token>`.
    public var apiToken: String?
    /// Chart.js served to the dashboard page (Debian's `libjs-chart.js` puts it here).
    public var chartJSPath: String
    /// What one client can hold (`ConnectionLimits`).
    public var connectionLimits: ConnectionLimits

    public init(databasePath: String, host: String = "127.0.0.1", port: Int = 8000, corsOrigins: [String] = ["*"],
                logLevel: LogLevelSetting = .info, apiToken: String? = nil,
                chartJSPath: String = APIConfiguration.defaultChartJSPath,
                connectionLimits: ConnectionLimits = ConnectionLimits()) {
        self.databasePath = databasePath
        self.host = host
        self.port = port
        self.corsOrigins = corsOrigins
        self.logLevel = logLevel
        self.apiToken = apiToken
        self.chartJSPath = chartJSPath
        self.connectionLimits = connectionLimits
    }

    public init(_ source: ConfigurationSource) throws {
        databasePath = source.string("DATABASE_PATH", default: "database/data.db")
        host = source.string("API_HOST", default: "0.0.0.0")
        port = try source.int("API_PORT", default: 8000, in: 0...65_535)
        corsOrigins = source.string("CORS_ORIGINS", default: "*")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        logLevel = try source.logLevel()
        apiToken = source.optionalString("API_TOKEN")
        chartJSPath = source.string("CHARTJS_PATH", default: APIConfiguration.defaultChartJSPath)
        connectionLimits = ConnectionLimits(
            headerTimeout: try source.double("API_HEADER_TIMEOUT_SECONDS", default: ConnectionLimits.defaultHeaderTimeout, in: 0.05...3600),
            idleTimeout: try source.double("API_IDLE_TIMEOUT_SECONDS", default: ConnectionLimits.defaultIdleTimeout, in: 0.05...86_400),
            maxConnections: try source.int("API_MAX_CONNECTIONS", default: ConnectionLimits.defaultMaxConnections, in: 16...1_000_000))
    }
}

/// What one client can hold of the API, so that sockets that send nothing (or a byte at a
/// time) cannot starve the others:
///
/// - `headerTimeout`: a connection must deliver a complete request head within this many
///   seconds of being accepted, or it is closed (a silent or trickling client);
/// - `idleTimeout`: a kept-alive connection must start its next request (deliver its head)
///   within this many seconds of the previous response, or it is closed;
/// - `maxConnections`: at most this many connections are open at once. One more closes the
///   oldest connection that is only waiting for a request head (an idle one), so a new
///   client (a health probe) is always served; when every connection is busy, the new one is
///   closed instead. The api also keeps this below its open-file limit.
public struct ConnectionLimits: Sendable, Equatable {
    public static let defaultHeaderTimeout = 10.0
    public static let defaultIdleTimeout = 60.0
    public static let defaultMaxConnections = 4096

    public var headerTimeout: Double
    public var idleTimeout: Double
    public var maxConnections: Int

    public init(headerTimeout: Double = ConnectionLimits.defaultHeaderTimeout,
                idleTimeout: Double = ConnectionLimits.defaultIdleTimeout,
                maxConnections: Int = ConnectionLimits.defaultMaxConnections) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// A time of day in UTC (`HH:MM`) at which a daily job runs.
public struct DailySchedule: Sendable, Equatable {
    public var hour: Int
    public var minute: Int

    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    public init(parsing text: String, variable: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else {
            throw ConfigurationError.invalid(variable: variable, value: text, expected: "a UTC time HH:MM, e.g. 03:00")
        }
        self.init(hour: hour, minute: minute)
    }

    /// The first instant strictly after `date` at which the schedule fires.
    public func nextFire(after date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.startOfDay(for: date)
        let today = start.addingTimeInterval(TimeInterval(hour * 3600 + minute * 60))
        return today > date ? today : today.addingTimeInterval(86_400)
    }
}
