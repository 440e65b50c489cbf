public import AgeEncryption
public import Foundation

/// Every configuration variable of the pipeline, each declared once. The README's
/// "Configuration" table and `.env.example` document the same variables with the same
/// defaults; `ConfigurationSurfaceTests` fails when they drift apart.
public enum Settings {
    // MARK: Source (extractor)

    public static let sourceURL: Setting<URL> = .url(
        "SOURCE_URL", default: "https://dummyjson.com/users", schemes: ["http", "https"],
        "DummyJSON-compatible users endpoint")
    public static let sourcePageSize: Setting<Int> = .integer(
        "SOURCE_PAGE_SIZE", default: 100, in: 1...10_000, "users requested per page (limit=)")
    public static let httpTimeoutSeconds: Setting<Double> = .number(
        "HTTP_TIMEOUT_SECONDS", default: "10", in: 0.1...3600, "timeout of one request, seconds")
    public static let sourceAllowedRedirectHosts = Setting<Set<String>>(
        "SOURCE_ALLOWED_REDIRECT_HOSTS", default: .text(""),
        "hosts (host or host:port, comma-separated) a redirect from SOURCE_URL may lead to",
        parse: hostList)

    // MARK: Retries (extractor; the other stages' reconnects)

    public static let retryMax: Setting<Int> = .integer(
        "RETRY_MAX", default: 3, in: 0...100, "retries after the first attempt")
    public static let retryBaseSeconds: Setting<Double> = .number(
        "RETRY_BASE_SECONDS", default: "5", in: 0...3600, "first backoff wait, seconds")
    public static let retryFactor: Setting<Double> = .number(
        "RETRY_FACTOR", default: "3", in: 1...100, "backoff multiplier")

    // MARK: Schedule and circuit breaker (extractor)

    public static let extractSchedule = Setting<DailySchedule>(
        "EXTRACT_SCHEDULE", default: .text("03:00"), "daily run time, UTC HH:MM"
    ) { text throws(SettingExpectation) in
        guard let schedule = DailySchedule(text) else { throw SettingExpectation(DailySchedule.expected) }
        return schedule
    }
    public static let extractOnStart: Setting<Bool> = .flag(
        "EXTRACT_ON_START", default: true, "also run once when the extractor starts")
    public static let circuitBreakerThreshold: Setting<Int> = .integer(
        "CIRCUIT_BREAKER_THRESHOLD", default: 5, in: 0...1_000,
        "consecutive failed requests that open the circuit breaker; 0 disables it")
    public static let circuitBreakerCooldownSeconds: Setting<Double> = .number(
        "CIRCUIT_BREAKER_COOLDOWN_SECONDS", default: "30", in: 0...86_400,
        "how long an open breaker sends no request, seconds")

    // MARK: Files, Redis and hand-off (extractor, transformer, saver)

    public static let dataDirectory: Setting<URL> = .path(
        "DATA_DIR", default: "data", "root of raw_users/, processed_users/, dlq/ and state/")
    public static let redisURL = Setting<String>(
        "REDIS_URL", default: .text("redis://127.0.0.1:6379/0"),
        "Redis for the hand-off: redis://[[user]:password@]host[:port][/db]",
        mask: hidingPassword, parse: redisURLText)
    /// The shortest `EVENT_HMAC_KEY` accepted (characters).
    public static let minimumEventKeyLength = 32
    public static let eventKey = Setting<String>(
        "EVENT_HMAC_KEY",
        default: .required(expected: "a secret of at least \(minimumEventKeyLength) characters shared by extractor, transformer and saver (e.g. `openssl rand -hex 32`)"),
        "shared secret that signs every hand-off event (HMAC-SHA256)", mask: hiddenLength
    ) { key throws(SettingExpectation) in
        guard key.count >= minimumEventKeyLength else {
            throw SettingExpectation("at least \(minimumEventKeyLength) characters (e.g. `openssl rand -hex 32`)")
        }
        return key
    }
    public static let claimIdleSeconds: Setting<Double> = .number(
        "CLAIM_IDLE_SECONDS", default: "60", in: 1...86_400,
        "a hand-off entry pending this long for a consumer that stopped refreshing it is claimed by another")
    public static let reconcileIntervalSeconds: Setting<Double> = .number(
        "RECONCILE_INTERVAL_SECONDS", default: "60", in: 1...86_400,
        "how often transformer and saver look for runs whose announcement never reached them")

    // MARK: Validation and enrichment (transformer)

    public static let departmentsCSV: Setting<URL> = .path(
        "DEPARTMENTS_CSV", default: "config/departments.csv", "CSV with columns department,department_code")
    public static let ageMin: Setting<Int> = .integer("AGE_MIN", default: 18, in: 0...200, "lowest valid age (inclusive)")
    public static let ageMax: Setting<Int> = .integer("AGE_MAX", default: 65, in: 0...200, "highest valid age (inclusive)")

    // MARK: Database (saver writes, api reads)

    public static let databasePath: Setting<String> = .text(
        "DATABASE_PATH", default: "database/data.db", "SQLite database (WAL)")

    // MARK: SFTP upload (saver)

    public static let sftpHost: Setting<String> = .text("SFTP_HOST", default: "127.0.0.1", "SFTP server")
    public static let sftpPort: Setting<Int> = .integer("SFTP_PORT", default: 22, in: 1...65_535, "SFTP port")
    public static let sftpUser: Setting<String> = .text("SFTP_USER", default: "etl", "SFTP login")
    public static let sftpKeyPath: Setting<String> = .text(
        "SFTP_KEY_PATH", default: "ssh_keys/id_ed25519", "private key (key authentication only)")
    public static let sftpKeyPassphrase: Setting<String?> = .optionalSecret(
        "SFTP_KEY_PASSPHRASE", "passphrase of that key, if any")
    public static let sftpKnownHosts: Setting<String> = .text(
        "SFTP_KNOWN_HOSTS", default: "ssh_keys/known_hosts", "known_hosts pinning the server's host key")
    public static let sftpRemoteDirectory: Setting<String> = .text(
        "SFTP_REMOTE_DIR", default: "upload", "upload directory, relative to the login directory (or absolute)")
    public static let uploadAgeRecipients = Setting<[AgeRecipient]>(
        "UPLOAD_AGE_RECIPIENTS", default: .text(""),
        "age X25519 public keys (age1..., comma-separated); when set, each file is encrypted while it uploads and lands as <name>.age",
        parse: ageRecipientList)

    // MARK: API (api)

    public static let apiHost: Setting<String> = .text("API_HOST", default: "0.0.0.0", "listen address")
    public static let apiPort: Setting<Int> = .integer("API_PORT", default: 8000, in: 0...65_535, "listen port")
    public static let corsOrigins = Setting<[String]>(
        "CORS_ORIGINS", default: .text("*"), "allowed origins, comma-separated, or *"
    ) { text in
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
    public static let apiToken: Setting<String?> = .optionalSecret(
        "API_TOKEN", "when set, every route but /health needs Authorization: Bearer <token>")
    public static let apiAdminToken: Setting<String?> = .optionalSecret(
        "API_ADMIN_TOKEN",
        "when set, POST /connectors and POST /connectors/{id}/run are served to Authorization: Bearer <token> (runs go through REDIS_URL, signed with EVENT_HMAC_KEY); unset, the api is read-only")
    public static let chartJSPath: Setting<String> = .text(
        "CHARTJS_PATH", default: "/usr/share/javascript/chart.js/chart.min.js",
        "Chart.js served to the dashboard (apt package libjs-chart.js)")
    public static let apiHeaderTimeoutSeconds: Setting<Double> = .number(
        "API_HEADER_TIMEOUT_SECONDS", default: "10", in: 0.05...3600,
        "a connection must send a complete request head within this many seconds of opening")
    public static let apiIdleTimeoutSeconds: Setting<Double> = .number(
        "API_IDLE_TIMEOUT_SECONDS", default: "60", in: 0.05...86_400,
        "a kept-alive connection must start its next request within this many seconds")
    public static let apiMaxConnections: Setting<Int> = .integer(
        "API_MAX_CONNECTIONS", default: 4096, in: 16...1_000_000,
        "open connections at most; one more closes the oldest idle one")

    // MARK: Logins (api; etlctl users)

    public static let sessionIdleTimeoutSeconds: Setting<Int> = .integer(
        "SESSION_IDLE_TIMEOUT", default: 1800, in: 1...604_800,
        "a dashboard session ends after this many seconds without a request")
    public static let sessionMaxAgeSeconds: Setting<Int> = .integer(
        "SESSION_MAX_AGE", default: 43_200, in: 1...2_592_000,
        "a dashboard session ends this many seconds after its login, however active")
    public static let sessionCookieSecure: Setting<Bool> = .flag(
        "SESSION_COOKIE_SECURE", default: false,
        "always mark the session cookie Secure (it is anyway when a proxy sends X-Forwarded-Proto: https)")
    public static let loginMaxFailuresPerAccount: Setting<Int> = .integer(
        "LOGIN_MAX_FAILURES_PER_ACCOUNT", default: 5, in: 1...10_000,
        "failed logins to one account within LOGIN_FAILURE_WINDOW before it refuses logins until the window ends")
    public static let loginMaxFailuresPerAddress: Setting<Int> = .integer(
        "LOGIN_MAX_FAILURES_PER_ADDRESS", default: 20, in: 1...100_000,
        "failed logins from one client address within LOGIN_FAILURE_WINDOW before it is refused until the window ends")
    public static let loginFailureWindowSeconds: Setting<Int> = .integer(
        "LOGIN_FAILURE_WINDOW", default: 900, in: 1...86_400, "the window failed logins are counted in, seconds")

    // MARK: Logging (all)

    public static let logLevel: Setting<LogLevelSetting> = .choice("LOG_LEVEL", default: .info, "how much the process logs")

    // MARK: Read by Docker Compose and the image's entry point only

    public static let deployment: [DeploymentVariable] = [
        DeploymentVariable("REDIS_PASSWORD", default: .required(expected: "scripts/generate-keys.sh --env-file .env"),
                           "Redis's requirepass; the services' REDIS_URL carries it"),
        DeploymentVariable("APP_UID", default: .text("1000"), "uid that owns what the containers write; never 0"),
        DeploymentVariable("APP_GID", default: .text("1000"), "gid to match"),
    ]
}

// MARK: Parsers of the settings that are more than a number or a word

/// `a.example, b.example:8443` → {"a.example", "b.example:8443"} (lower-cased).
@Sendable func hostList(_ text: String) throws(SettingExpectation) -> Set<String> {
    var hosts = Set<String>()
    for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !entry.isEmpty {
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
        let validHost = !parts[0].isEmpty && parts[0].allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }
        let validPort = parts.count == 1 || (parts.count == 2 && Int(parts[1]).map { (1...65_535).contains($0) } == true)
        guard validHost, validPort else {
            throw SettingExpectation("comma-separated host names or host:port pairs, e.g. cdn.example.com,api.example.com:8443")
        }
        hosts.insert(entry)
    }
    return hosts
}

/// The URL as given, once it is one that the Redis client accepts (so a bad one stops the
/// stage at start, naming REDIS_URL, rather than at its first connection).
@Sendable func redisURLText(_ text: String) throws(SettingExpectation) -> String {
    let expected = SettingExpectation("an absolute URL with scheme redis: redis://[[user]:password@]host[:port][/db]")
    guard let url = URL(string: text), url.scheme?.lowercased() == "redis", url.host != nil,
        let components = URLComponents(string: text)
    else { throw expected }
    let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    let userWithoutPassword = !(components.user ?? "").isEmpty && (components.password ?? "").isEmpty
    guard database.isEmpty || Int(database) != nil, !userWithoutPassword else { throw expected }
    return url.absoluteString
}

/// Recipients parsed at start, so a mistyped key stops the saver with the recipient named,
/// not its first upload.
@Sendable func ageRecipientList(_ text: String) throws(SettingExpectation) -> [AgeRecipient] {
    do {
        return try AgeRecipient.parseList(text)
    } catch {
        throw SettingExpectation(
            "comma-separated age recipients; '\(error.recipient)' is not one: \(error.reason); \(AgeRecipientError.remedy)")
    }
}

/// `redis://:secret@host:6379/0` → `redis://:(hidden)@host:6379/0`: where Redis is stays visible.
@Sendable func hidingPassword(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://")?.upperBound, let at = url[schemeEnd...].lastIndex(of: "@"),
        let colon = url[schemeEnd..<at].firstIndex(of: ":")
    else { return url }
    return String(url[..<colon]) + ":(hidden)" + String(url[at...])
}

extension Settings {
    /// Each executable that reads configuration, with the variables it reads.
    public static let executables: [(name: String, variables: [any ConfigurationVariable])] = [
        ("extractor", ExtractorConfiguration.settings),
        ("transformer", TransformerConfiguration.settings),
        ("saver", SaverConfiguration.settings),
        ("api", APIConfiguration.settings),
        ("etlctl", ConnectorToolConfiguration.settings),
    ]

    /// Every variable some executable reads, each once, in the executables' order.
    public static let all: [any ConfigurationVariable] = {
        var seen = Set<String>()
        return executables.flatMap(\.variables).filter { seen.insert($0.name).inserted }
    }()

    static let secretNames = Set(all.filter(\.isSecret).map(\.name))
}
