import Configuration
import ETLCore
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    /// The one variable of the stages without a default.
    static let required = ["EVENT_HMAC_KEY": String(repeating: "k", count: 32)]

    @Test func defaultsMatchTheSpec() throws {
        let source = ConfigurationSource(values: Self.required)
        let extractor = try ExtractorConfiguration(source)
        #expect(extractor.sourceURL.absoluteString == "https://dummyjson.com/users")
        #expect(extractor.pageSize == 100)
        #expect(extractor.httpTimeoutSeconds == 10)
        #expect(extractor.schedule == DailySchedule(hour: 3, minute: 0))
        #expect(extractor.extractOnStart)
        #expect(extractor.common.retry == RetryPolicy(maxRetries: 3, baseSeconds: 5, factor: 3))
        #expect(extractor.common.dataDirectory.path.hasSuffix("/data"))
        #expect(extractor.common.redisURL == "redis://127.0.0.1:6379/0")
        let transformer = try TransformerConfiguration(source)
        #expect(transformer.ageRange == 18...65)
        #expect(transformer.departmentsCSV.path.hasSuffix("config/departments.csv"))
        let api = try APIConfiguration(source)
        #expect(api.host == "0.0.0.0" && api.port == 8000 && api.corsOrigins == ["*"])
        #expect(api.databasePath == "database/data.db")
    }

    @Test(arguments: [
        ("SOURCE_PAGE_SIZE", "abc"), ("SOURCE_PAGE_SIZE", "0"), ("HTTP_TIMEOUT_SECONDS", "-1"), ("RETRY_MAX", "many"),
        ("RETRY_FACTOR", "0.5"), ("EXTRACT_SCHEDULE", "25:00"), ("EXTRACT_ON_START", "maybe"), ("SOURCE_URL", "ftp://x/users"),
        ("SOURCE_URL", "not a url"), ("REDIS_URL", "http://localhost"), ("LOG_LEVEL", "loud"),
        ("SOURCE_ALLOWED_REDIRECT_HOSTS", "cdn.example.com:99999"), ("SOURCE_ALLOWED_REDIRECT_HOSTS", "http://cdn.example.com"),
    ])
    func aBadValueNamesTheVariable(variable: String, value: String) {
        do {
            _ = try ExtractorConfiguration(ConfigurationSource(values: Self.required.merging([variable: value]) { $1 }))
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains(variable))
            #expect(error.description.contains(value))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func allowedRedirectHostsAreAListOfHostsOrHostPorts() throws {
        #expect(try ExtractorConfiguration(ConfigurationSource(values: Self.required)).allowedRedirectHosts.isEmpty)
        let configuration = try ExtractorConfiguration(ConfigurationSource(
            values: Self.required.merging(["SOURCE_ALLOWED_REDIRECT_HOSTS": " CDN.example.com, api.example.com:8443 ,"]) { $1 }))
        #expect(configuration.allowedRedirectHosts == ["cdn.example.com", "api.example.com:8443"])
    }

    @Test func ageBoundsMustBeOrdered() {
        #expect(throws: ConfigurationError.self) {
            try TransformerConfiguration(ConfigurationSource(values: Self.required.merging(["AGE_MIN": "70", "AGE_MAX": "60"]) { $1 }))
        }
    }

    /// Finding 10 of issue 9: events are signed with a shared secret, so every stage needs it.
    @Test func theEventKeyIsRequiredAndLongEnough() {
        for values in [[:], ["EVENT_HMAC_KEY": "short"]] {
            do {
                _ = try TransformerConfiguration(ConfigurationSource(values: values))
                Issue.record("accepted \(values)")
            } catch let error as ConfigurationError {
                #expect(error.description.contains("EVENT_HMAC_KEY"))
                #expect(!error.description.contains("short"), "the secret is never printed")
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test func sftpKeysMustBeReadable() {
        #expect(throws: ConfigurationError.self) {
            try SFTPConfiguration(ConfigurationSource(values: ["SFTP_KEY_PATH": "/nonexistent/key"]))
        }
    }

    /// Issue 12: a mistyped recipient stops the saver at start, naming the variable, the
    /// recipient and how to get a valid one; empty means uploads are not encrypted.
    @Test func ageRecipientsAreCheckedAtStart() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try Settings.uploadAgeRecipients.check("age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq, ssh-ed25519 AAAA")
        }
        let message = error?.description ?? ""
        #expect(message.contains("UPLOAD_AGE_RECIPIENTS"))
        #expect(message.contains("'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq' is not one"))
        #expect(message.contains("age-keygen"))
        #expect(Settings.uploadAgeRecipients.defaultValue.isEmpty)
        try Settings.uploadAgeRecipients.check("")
    }

    @Test func dotEnvIsReadAndTheEnvironmentWins() throws {
        let directory = try TestEnvironment.temporaryDirectory("dotenv")
        let path = directory.appendingPathComponent(".env").path
        try """
        # comment
        export SOURCE_PAGE_SIZE=50
        EXTRACT_SCHEDULE="04:30"
        LOG_LEVEL='debug'
        DATA_DIR=/srv/data # trailing comment

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let source = try ConfigurationSource.load(environment: Self.required.merging(["SOURCE_PAGE_SIZE": "20"]) { $1 }, dotEnvPath: path)
        let configuration = try ExtractorConfiguration(source)
        #expect(configuration.pageSize == 20)
        #expect(configuration.schedule == DailySchedule(hour: 4, minute: 30))
        #expect(configuration.common.logLevel == .debug)
        #expect(configuration.common.dataDirectory.path == "/srv/data")
    }

    @Test func malformedDotEnvNamesTheLine() {
        #expect(throws: ConfigurationError.unreadableFile(path: ".env", reason: "line 2 is not KEY=VALUE: oops")) {
            try DotEnv.parse("A=1\noops\n")
        }
    }
    /// Each executable's `settings` (what `--print-configuration` lists and the README table
    /// is checked against) are exactly the variables its configuration reads.
    @Test func eachExecutableReadsExactlyTheSettingsItLists() throws {
        let readable = try TestEnvironment.temporaryDirectory("readable").appendingPathComponent("key").path
        try "key".write(toFile: readable, atomically: true, encoding: .utf8)
        // API_ADMIN_TOKEN set: the api reads REDIS_URL and EVENT_HMAC_KEY only with it.
        let values = Self.required.merging(["SFTP_KEY_PATH": readable, "SFTP_KNOWN_HOSTS": readable, "API_ADMIN_TOKEN": "admin"]) { $1 }
        let readers: [(any ExecutableConfiguration.Type, String)] = [
            (ExtractorConfiguration.self, "extractor"), (TransformerConfiguration.self, "transformer"),
            (SaverConfiguration.self, "saver"), (APIConfiguration.self, "api"),
            (ConnectorToolConfiguration.self, "etlctl"),
        ]
        for (configuration, name) in readers {
            let reporter = ReadVariables()
            _ = try configuration.init(ConfigurationSource(values: values, accessReporter: reporter))
            #expect(reporter.names == Set(configuration.settings.map(\.name)), "\(name)")
            #expect(Settings.executables.first { $0.name == name }?.variables.map(\.name) == configuration.settings.map(\.name))
        }
    }

    @Test func theAPIIsReadOnlyAndNeedsNoHandoffKeyUnlessAnAdminTokenIsSet() throws {
        let readOnly = try APIConfiguration(ConfigurationSource(values: [:]))
        #expect(readOnly.admin == nil)
        let admin = try APIConfiguration(ConfigurationSource(values: Self.required.merging(
            ["API_ADMIN_TOKEN": "s3cret-admin", "REDIS_URL": "redis://redis:6379/1"]) { $1 }))
        #expect(admin.admin == APIConfiguration.AdminAccess(token: "s3cret-admin", redisURL: "redis://redis:6379/1",
                                                            eventKey: Self.required["EVENT_HMAC_KEY"]!))
        // An admin token without the key that signs the run requests is refused at start, by name.
        #expect { try APIConfiguration(ConfigurationSource(values: ["API_ADMIN_TOKEN": "s3cret-admin"])) } throws: { error in
            "\(error)".contains("EVENT_HMAC_KEY")
        }
    }

    @Test func thePrintedConfigurationIsADotEnvThatHidesSecrets() throws {
        let source = ConfigurationSource(values: [
            "SOURCE_PAGE_SIZE": "50", "EVENT_HMAC_KEY": Self.required["EVENT_HMAC_KEY"]!,
            "REDIS_URL": "redis://:pa55word@redis:6379/0",
        ])
        let listing = configurationListing(of: ExtractorConfiguration.settings, from: source)
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines.contains("SOURCE_PAGE_SIZE=50"))
        #expect(lines.contains("#HTTP_TIMEOUT_SECONDS=10"), "a default is commented out")
        #expect(lines.contains("REDIS_URL=redis://:(hidden)@redis:6379/0"))
        #expect(lines.contains("EVENT_HMAC_KEY=(32 characters, hidden)"))
        #expect(!listing.contains("pa55word") && !listing.contains(Self.required["EVENT_HMAC_KEY"]!))
        let revealed = configurationListing(of: ExtractorConfiguration.settings, from: source, revealingSecrets: true)
        #expect(revealed.contains("REDIS_URL=redis://:pa55word@redis:6379/0"))
        let unset = configurationListing(of: ExtractorConfiguration.settings, from: ConfigurationSource(values: [:]))
        #expect(unset.split(separator: "\n").contains("#EVENT_HMAC_KEY="), "a missing required value is listed, not refused")
    }

    @Test func anEmptyEnvironmentValueHidesDotEnvAndMeansTheDefault() throws {
        let directory = try TestEnvironment.temporaryDirectory("dotenv-empty")
        let path = directory.appendingPathComponent(".env").path
        try "SOURCE_PAGE_SIZE=50\n".write(toFile: path, atomically: true, encoding: .utf8)
        let source = try ConfigurationSource.load(environment: Self.required.merging(["SOURCE_PAGE_SIZE": ""]) { $1 }, dotEnvPath: path)
        #expect(try ExtractorConfiguration(source).pageSize == Settings.sourcePageSize.defaultValue)
    }
}

/// Collects the names of the variables a configuration reads (swift-configuration reports
/// every access).
final class ReadVariables: AccessReporter {
    private let read = Mutex<Set<String>>([])

    func report(_ event: AccessEvent) {
        _ = read.withLock { $0.insert(event.metadata.key.components.joined(separator: ".")) }
    }

    var names: Set<String> { read.withLock { $0 } }
}

@Suite("Runs and files")
struct RunFilesTests {
    @Test func runIDsFormatParseAndOrder() throws {
        let id = RunID(date: Date(timeIntervalSince1970: 1_763_780_400))
        #expect(id.timestamp == "20251122_030000")
        #expect(id.isoTimestamp == "2025-11-22T03:00:00Z")
        #expect(RunID("20251122_030000") == id)
        #expect(RunID("2025-11-22") == nil)
        #expect(RunID("20251322_030000") == nil)
        #expect(RunID("20251122_030001")! > id)
    }

    @Test func aRunsThreeFilesShareItsTimestamp() throws {
        let files = RunFiles(dataDirectory: URL(fileURLWithPath: "/d"), runID: RunID("20251122_030000")!)
        #expect(files.raw.path == "/d/raw_users/records_20251122_030000.jsonl")
        #expect(files.processed.path == "/d/processed_users/etl_20251122_030000.jsonl")
        #expect(files.deadLetter.path == "/d/dlq/invalid_users_20251122_030000.jsonl")
        #expect(RunFiles.runID(ofRawFileNamed: "records_20251122_030000.jsonl") == RunID("20251122_030000"))
        #expect(RunFiles.runID(ofRawFileNamed: "records_20251122_030000.jsonl.tmp") == nil)
    }

    @Test func eventsRoundTripWithTheSpecFieldNames() throws {
        var event = RunEvent(runID: RunID("20251122_030000")!, status: .uploadPending)
        event.validCount = 9
        event.rawFile = "data/raw_users/records_20251122_030000.jsonl"
        let json = event.jsonString()
        #expect(json.contains(#""run_id":"20251122_030000""#))
        #expect(json.contains(#""status":"upload_pending""#))
        #expect(json.contains(#""valid_count":9"#))
        #expect(try RunEvent.decode(json) == event)
        #expect(throws: (any Error).self) { try RunEvent.decode(#"{"run_id":"yesterday","status":"completed"}"#) }
    }
}

@Suite("Line files")
struct LineFileTests {
    @Test func atomicFilesAppearOnlyOnCommitAndReadBackLineByLine() throws {
        let directory = try TestEnvironment.temporaryDirectory("lines")
        let path = directory.appendingPathComponent("out.jsonl").path
        let file = try AtomicLineFile(finalPath: path)
        for index in 0..<10_000 { try file.writer.writeLine("{\"i\":\(index)}") }
        #expect(!FileManager.default.fileExists(atPath: path))
        try file.commit()
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        var lines: [String] = []
        try LineReader(path: path).forEachLine { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lines.count == 10_000)
        #expect(lines.last == "{\"i\":9999}")
        #expect(try LineReader.countLines(path: path) == 10_000)
    }

    @Test func aWriterResumedAtAnOffsetDropsWhatCameAfter() throws {
        let directory = try TestEnvironment.temporaryDirectory("resume")
        let path = directory.appendingPathComponent("raw.tmp").path
        let first = try LineWriter(path: path, truncatingTo: 0)
        try first.writeLine("a")
        try first.sync()
        let committed = first.bytesWritten
        try first.writeLine("not checkpointed")
        try first.sync()
        let resumed = try LineWriter(path: path, truncatingTo: committed)
        try resumed.writeLine("b")
        try resumed.sync()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a\nb\n")
    }

    @Test func crlfAndMissingFinalNewlineAreHandled() throws {
        let directory = try TestEnvironment.temporaryDirectory("crlf")
        let path = directory.appendingPathComponent("in.jsonl").path
        try "one\r\ntwo\n\nthree".write(toFile: path, atomically: true, encoding: .utf8)
        var lines: [String] = []
        try LineReader(path: path).forEachLine { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lines == ["one", "two", "", "three"])
    }
}

/// swift-service-lifecycle logs each service's description at debug level, and the services
/// hold their configuration: printed or dumped, a configuration hides its secrets.
@Suite struct ConfigurationPrintingTests {
    @Test func aConfigurationPrintedOrDumpedHidesItsSecrets() throws {
        let directory = try TestEnvironment.temporaryDirectory("printing")
        let readable = directory.appendingPathComponent("key").path
        try Data("key".utf8).write(to: URL(fileURLWithPath: readable))
        let eventKey = "event-key-0123456789abcdef0123456789abcdef"
        let values = [
            "EVENT_HMAC_KEY": eventKey, "REDIS_URL": "redis://:pa55word@redis:6379/0", "SFTP_KEY_PASSPHRASE": "pass-phrase-x",
            "API_TOKEN": "reader-token-x", "API_ADMIN_TOKEN": "admin-token-x", "SFTP_KEY_PATH": readable, "SFTP_KNOWN_HOSTS": readable,
        ]
        let source = ConfigurationSource(values: values)
        let configurations: [Any] = [
            try ExtractorConfiguration(source), try TransformerConfiguration(source), try SaverConfiguration(source),
            try APIConfiguration(source), try ConnectorToolConfiguration(source),
        ]
        for configuration in configurations {
            var dumped = ""
            dump(configuration, to: &dumped)
            for text in [String(describing: configuration), String(reflecting: configuration), dumped] {
                for secret in [eventKey, "pa55word", "pass-phrase-x", "reader-token-x", "admin-token-x"] {
                    #expect(!text.contains(secret), "\(type(of: configuration)) shows \(secret): \(text)")
                }
            }
        }
        #expect(String(describing: configurations[0]).contains("redis://:(hidden)@redis:6379/0"), "where Redis is stays visible")
    }
}
