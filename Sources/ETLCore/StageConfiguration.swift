public import AgeEncryption
public import Foundation

/// The configuration of one executable: the settings it reads, and how it reads them.
/// `--print-configuration` prints `settings`; a test checks that `init` reads exactly them.
public protocol ExecutableConfiguration: Sendable {
    static var settings: [any ConfigurationVariable] { get }
    init(_ source: ConfigurationSource) throws(ConfigurationError)
}

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
    public static let minimumEventKeyLength = Settings.minimumEventKeyLength

    public static let settings: [any ConfigurationVariable] = [
        Settings.dataDirectory, Settings.redisURL, Settings.retryMax, Settings.retryBaseSeconds, Settings.retryFactor,
        Settings.logLevel, Settings.claimIdleSeconds, Settings.reconcileIntervalSeconds, Settings.eventKey,
    ]

    public init(
        dataDirectory: URL, redisURL: String, retry: RetryPolicy, logLevel: LogLevelSetting,
        claimIdleSeconds: Double = Settings.claimIdleSeconds.defaultValue,
        reconcileIntervalSeconds: Double = Settings.reconcileIntervalSeconds.defaultValue,
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

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        dataDirectory = try source.read(Settings.dataDirectory)
        redisURL = try source.read(Settings.redisURL)
        retry = try RetryPolicy(source)
        logLevel = try source.read(Settings.logLevel)
        claimIdleSeconds = try source.read(Settings.claimIdleSeconds)
        reconcileIntervalSeconds = try source.read(Settings.reconcileIntervalSeconds)
        eventKey = try source.read(Settings.eventKey)
    }
}

public struct ExtractorConfiguration: ExecutableConfiguration {
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
    /// `DATABASE_PATH`: the connector registry (`data_sources`) whose runs the extractor makes.
    public var databasePath: String

    public static let settings: [any ConfigurationVariable] = CommonConfiguration.settings + [
        Settings.sourceURL, Settings.sourcePageSize, Settings.httpTimeoutSeconds, Settings.extractSchedule,
        Settings.extractOnStart, Settings.circuitBreakerThreshold, Settings.circuitBreakerCooldownSeconds,
        Settings.sourceAllowedRedirectHosts, Settings.databasePath,
    ]

    public init(
        common: CommonConfiguration, sourceURL: URL, pageSize: Int = Settings.sourcePageSize.defaultValue,
        httpTimeoutSeconds: Double = Settings.httpTimeoutSeconds.defaultValue,
        schedule: DailySchedule = Settings.extractSchedule.defaultValue,
        extractOnStart: Bool = Settings.extractOnStart.defaultValue,
        circuitBreakerThreshold: Int = Settings.circuitBreakerThreshold.defaultValue,
        circuitBreakerCooldownSeconds: Double = Settings.circuitBreakerCooldownSeconds.defaultValue,
        allowedRedirectHosts: Set<String> = Settings.sourceAllowedRedirectHosts.defaultValue,
        databasePath: String = Settings.databasePath.defaultValue
    ) {
        self.databasePath = databasePath
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

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        common = try CommonConfiguration(source)
        sourceURL = try source.read(Settings.sourceURL)
        pageSize = try source.read(Settings.sourcePageSize)
        httpTimeoutSeconds = try source.read(Settings.httpTimeoutSeconds)
        schedule = try source.read(Settings.extractSchedule)
        extractOnStart = try source.read(Settings.extractOnStart)
        circuitBreakerThreshold = try source.read(Settings.circuitBreakerThreshold)
        circuitBreakerCooldownSeconds = try source.read(Settings.circuitBreakerCooldownSeconds)
        allowedRedirectHosts = try source.read(Settings.sourceAllowedRedirectHosts)
        databasePath = try source.read(Settings.databasePath)
    }
}

public struct TransformerConfiguration: ExecutableConfiguration {
    public var common: CommonConfiguration
    public var departmentsCSV: URL
    public var ageRange: ClosedRange<Double>

    public static let settings: [any ConfigurationVariable] = CommonConfiguration.settings + [
        Settings.departmentsCSV, Settings.ageMin, Settings.ageMax,
    ]

    public init(
        common: CommonConfiguration, departmentsCSV: URL,
        ageRange: ClosedRange<Double> = Double(Settings.ageMin.defaultValue)...Double(Settings.ageMax.defaultValue)
    ) {
        self.common = common
        self.departmentsCSV = departmentsCSV
        self.ageRange = ageRange
    }

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        common = try CommonConfiguration(source)
        departmentsCSV = try source.read(Settings.departmentsCSV)
        ageRange = try Self.ageRange(source)
    }

    /// `AGE_MIN`...`AGE_MAX`, refused when the bounds are the wrong way round.
    static func ageRange(_ source: ConfigurationSource) throws(ConfigurationError) -> ClosedRange<Double> {
        let minimum = try source.read(Settings.ageMin)
        let maximum = try source.read(Settings.ageMax)
        guard minimum <= maximum else {
            throw .invalid(
                variable: Settings.ageMax.name, value: String(maximum),
                expected: "a value not below \(Settings.ageMin.name) (\(minimum))")
        }
        return Double(minimum)...Double(maximum)
    }
}

/// `etlctl`: the registry it manages, the Redis it hands run requests to, and what a dry run
/// needs to check records as the transformer would (the users contract's settings).
public struct ConnectorToolConfiguration: ExecutableConfiguration {
    public var common: CommonConfiguration
    public var databasePath: String
    public var departmentsCSV: URL
    public var ageRange: ClosedRange<Double>
    public var httpTimeoutSeconds: Double

    public static let settings: [any ConfigurationVariable] = CommonConfiguration.settings + [
        Settings.databasePath, Settings.departmentsCSV, Settings.ageMin, Settings.ageMax, Settings.httpTimeoutSeconds,
    ]

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        common = try CommonConfiguration(source)
        databasePath = try source.read(Settings.databasePath)
        departmentsCSV = try source.read(Settings.departmentsCSV)
        ageRange = try TransformerConfiguration.ageRange(source)
        httpTimeoutSeconds = try source.read(Settings.httpTimeoutSeconds)
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
    /// `UPLOAD_AGE_RECIPIENTS`: when not empty, every file is encrypted to these recipients
    /// while it uploads and lands as `<name>.age`.
    public var ageRecipients: [AgeRecipient]

    public init(
        host: String, port: Int, user: String, privateKeyPath: String, keyPassphrase: String? = nil,
        knownHostsPath: String, remoteDirectory: String, ageRecipients: [AgeRecipient] = []
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeyPath = privateKeyPath
        self.keyPassphrase = keyPassphrase
        self.knownHostsPath = knownHostsPath
        self.remoteDirectory = remoteDirectory
        self.ageRecipients = ageRecipients
    }

    public static let settings: [any ConfigurationVariable] = [
        Settings.sftpHost, Settings.sftpPort, Settings.sftpUser, Settings.sftpKeyPath, Settings.sftpKeyPassphrase,
        Settings.sftpKnownHosts, Settings.sftpRemoteDirectory, Settings.uploadAgeRecipients,
    ]

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        host = try source.read(Settings.sftpHost)
        port = try source.read(Settings.sftpPort)
        user = try source.read(Settings.sftpUser)
        privateKeyPath = try source.read(Settings.sftpKeyPath)
        keyPassphrase = try source.read(Settings.sftpKeyPassphrase)
        knownHostsPath = try source.read(Settings.sftpKnownHosts)
        remoteDirectory = try source.read(Settings.sftpRemoteDirectory)
        ageRecipients = try source.read(Settings.uploadAgeRecipients)
        for (setting, path) in [(Settings.sftpKeyPath, privateKeyPath), (Settings.sftpKnownHosts, knownHostsPath)]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw .invalid(
                variable: setting.name, value: path,
                expected: "a readable file (generate keys with scripts/generate-keys.sh)")
        }
    }
}

public struct SaverConfiguration: ExecutableConfiguration {
    public var common: CommonConfiguration
    public var databasePath: String
    public var sftp: SFTPConfiguration

    public static let settings: [any ConfigurationVariable] =
        CommonConfiguration.settings + [Settings.databasePath] + SFTPConfiguration.settings

    public init(common: CommonConfiguration, databasePath: String, sftp: SFTPConfiguration) {
        self.common = common
        self.databasePath = databasePath
        self.sftp = sftp
    }

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        common = try CommonConfiguration(source)
        databasePath = try source.read(Settings.databasePath)
        sftp = try SFTPConfiguration(source)
    }
}

public struct APIConfiguration: ExecutableConfiguration {
    public static let defaultChartJSPath = Settings.chartJSPath.defaultValue

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
    /// The admin routes' access, nil (read-only) unless `API_ADMIN_TOKEN` is set.
    public var admin: AdminAccess?
    /// Where dashboard sessions, login failure counts and the audit log live (shared by replicas).
    public var redisURL: String
    public var login: LoginPolicy

    /// `API_ADMIN_TOKEN` and, only with it, where connector runs are handed off: the api reads
    /// `EVENT_HMAC_KEY` only when it may start runs.
    public struct AdminAccess: Sendable, Equatable {
        public var token: String
        public var redisURL: String
        public var eventKey: String

        public init(token: String, redisURL: String, eventKey: String) {
            self.token = token
            self.redisURL = redisURL
            self.eventKey = eventKey
        }
    }

    public static let settings: [any ConfigurationVariable] = [
        Settings.databasePath, Settings.apiHost, Settings.apiPort, Settings.corsOrigins, Settings.logLevel,
        Settings.apiToken, Settings.chartJSPath, Settings.apiHeaderTimeoutSeconds, Settings.apiIdleTimeoutSeconds,
        Settings.apiMaxConnections, Settings.apiAdminToken, Settings.redisURL, Settings.eventKey,
    ] + LoginPolicy.settings

    // Built in code (tests), the api listens on loopback only, unlike API_HOST's default.
    public init(databasePath: String, host: String = "127.0.0.1", port: Int = Settings.apiPort.defaultValue,
                corsOrigins: [String] = Settings.corsOrigins.defaultValue,
                logLevel: LogLevelSetting = Settings.logLevel.defaultValue, apiToken: String? = nil,
                chartJSPath: String = APIConfiguration.defaultChartJSPath,
                connectionLimits: ConnectionLimits = ConnectionLimits(), admin: AdminAccess? = nil,
                redisURL: String = Settings.redisURL.defaultValue, login: LoginPolicy = LoginPolicy()) {
        self.admin = admin
        self.redisURL = redisURL
        self.login = login
        self.databasePath = databasePath
        self.host = host
        self.port = port
        self.corsOrigins = corsOrigins
        self.logLevel = logLevel
        self.apiToken = apiToken
        self.chartJSPath = chartJSPath
        self.connectionLimits = connectionLimits
    }

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        databasePath = try source.read(Settings.databasePath)
        host = try source.read(Settings.apiHost)
        port = try source.read(Settings.apiPort)
        corsOrigins = try source.read(Settings.corsOrigins)
        logLevel = try source.read(Settings.logLevel)
        apiToken = try source.read(Settings.apiToken)
        chartJSPath = try source.read(Settings.chartJSPath)
        connectionLimits = ConnectionLimits(
            headerTimeout: try source.read(Settings.apiHeaderTimeoutSeconds),
            idleTimeout: try source.read(Settings.apiIdleTimeoutSeconds),
            maxConnections: try source.read(Settings.apiMaxConnections))
        redisURL = try source.read(Settings.redisURL)
        login = try LoginPolicy(source)
        if let token = try source.read(Settings.apiAdminToken) {
            admin = AdminAccess(token: token, redisURL: redisURL, eventKey: try source.read(Settings.eventKey))
        }
    }
}

/// How dashboard logins behave: how long a session lasts, and how many failed logins an
/// account or a client address may make in a window before logins are refused.
public struct LoginPolicy: Sendable, Equatable {
    public var sessionIdleSeconds: Int
    public var sessionMaxAgeSeconds: Int
    public var alwaysSecureCookie: Bool
    public var maxFailuresPerAccount: Int
    public var maxFailuresPerAddress: Int
    public var failureWindowSeconds: Int

    public static let settings: [any ConfigurationVariable] = [
        Settings.sessionIdleTimeoutSeconds, Settings.sessionMaxAgeSeconds, Settings.sessionCookieSecure,
        Settings.loginMaxFailuresPerAccount, Settings.loginMaxFailuresPerAddress, Settings.loginFailureWindowSeconds,
    ]

    public init(
        sessionIdleSeconds: Int = Settings.sessionIdleTimeoutSeconds.defaultValue,
        sessionMaxAgeSeconds: Int = Settings.sessionMaxAgeSeconds.defaultValue,
        alwaysSecureCookie: Bool = Settings.sessionCookieSecure.defaultValue,
        maxFailuresPerAccount: Int = Settings.loginMaxFailuresPerAccount.defaultValue,
        maxFailuresPerAddress: Int = Settings.loginMaxFailuresPerAddress.defaultValue,
        failureWindowSeconds: Int = Settings.loginFailureWindowSeconds.defaultValue
    ) {
        self.sessionIdleSeconds = sessionIdleSeconds
        self.sessionMaxAgeSeconds = sessionMaxAgeSeconds
        self.alwaysSecureCookie = alwaysSecureCookie
        self.maxFailuresPerAccount = maxFailuresPerAccount
        self.maxFailuresPerAddress = maxFailuresPerAddress
        self.failureWindowSeconds = failureWindowSeconds
    }

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        self.init(
            sessionIdleSeconds: try source.read(Settings.sessionIdleTimeoutSeconds),
            sessionMaxAgeSeconds: try source.read(Settings.sessionMaxAgeSeconds),
            alwaysSecureCookie: try source.read(Settings.sessionCookieSecure),
            maxFailuresPerAccount: try source.read(Settings.loginMaxFailuresPerAccount),
            maxFailuresPerAddress: try source.read(Settings.loginMaxFailuresPerAddress),
            failureWindowSeconds: try source.read(Settings.loginFailureWindowSeconds))
    }
}

/// What `etlctl users`, `tokens` and `audit` read: the database the accounts live in, and
/// the Redis whose sessions and audit log they act on. (No signing key: they hand nothing off.)
public struct AccessToolConfiguration: ExecutableConfiguration {
    public var databasePath: String
    public var redisURL: String
    public var logLevel: LogLevelSetting

    public static let settings: [any ConfigurationVariable] = [Settings.databasePath, Settings.redisURL, Settings.logLevel]

    public init(_ source: ConfigurationSource) throws(ConfigurationError) {
        databasePath = try source.read(Settings.databasePath)
        redisURL = try source.read(Settings.redisURL)
        logLevel = try source.read(Settings.logLevel)
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
    public static let defaultHeaderTimeout = Settings.apiHeaderTimeoutSeconds.defaultValue
    public static let defaultIdleTimeout = Settings.apiIdleTimeoutSeconds.defaultValue
    public static let defaultMaxConnections = Settings.apiMaxConnections.defaultValue

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

    static let expected = "a UTC time HH:MM, e.g. 03:00"

    /// `HH:MM`, two digits each; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public init(parsing text: String, variable: String) throws(ConfigurationError) {
        guard let schedule = DailySchedule(text) else {
            throw .invalid(variable: variable, value: text, expected: Self.expected)
        }
        self = schedule
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

// MARK: How configurations print: secrets masked

// A configuration is printed or dumped whole wherever a value that holds one is (swift-service-
// lifecycle logs each service's description at debug level, and the services hold their
// configuration): their mirrors show each secret as its setting shows it, masked.

extension CommonConfiguration: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "dataDirectory": dataDirectory, "redisURL": Settings.redisURL.shown(redisURL), "retry": retry, "logLevel": logLevel,
            "claimIdleSeconds": claimIdleSeconds, "reconcileIntervalSeconds": reconcileIntervalSeconds,
            "eventKey": Settings.eventKey.shown(eventKey),
        ], displayStyle: .struct)
    }
}

extension SFTPConfiguration: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "host": host, "port": port, "user": user, "privateKeyPath": privateKeyPath,
            "keyPassphrase": keyPassphrase.map(Settings.sftpKeyPassphrase.shown) as Any, "knownHostsPath": knownHostsPath,
            "remoteDirectory": remoteDirectory, "ageRecipients": ageRecipients,
        ], displayStyle: .struct)
    }
}

extension APIConfiguration: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "databasePath": databasePath, "host": host, "port": port, "corsOrigins": corsOrigins, "logLevel": logLevel,
            "apiToken": apiToken.map(Settings.apiToken.shown) as Any, "chartJSPath": chartJSPath,
            "connectionLimits": connectionLimits, "admin": admin as Any,
        ], displayStyle: .struct)
    }
}

extension APIConfiguration.AdminAccess: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "token": Settings.apiAdminToken.shown(token), "redisURL": Settings.redisURL.shown(redisURL),
            "eventKey": Settings.eventKey.shown(eventKey),
        ], displayStyle: .struct)
    }
}
