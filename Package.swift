// swift-tools-version:6.0
import PackageDescription

// Four thin executables over libraries that hold the logic (and that the tests import).
// Every C library sits behind its own system-library target and one typed Swift wrapper.
let package = Package(
    name: "swift-etl-pipeline",
    // macOS 15: swift-configuration's availability floor.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "extractor", targets: ["extractor"]),
        .executable(name: "transformer", targets: ["transformer"]),
        .executable(name: "saver", targets: ["saver"]),
        .executable(name: "api", targets: ["api"]),
        .executable(name: "fixture-source", targets: ["fixture-source"]),
        .executable(name: "etl-seed", targets: ["etl-seed"]),
        .executable(name: "etlctl", targets: ["etlctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // HMAC-SHA256 of hand-off events (Foundation has no HMAC on Linux).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // Environment (and the parsed .env) through one ConfigReader; default traits only.
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        // Connector definitions in YAML; CSV sources; PostgreSQL sources.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Password hashes (bcrypt) and authenticator codes (RFC 6238) for dashboard logins.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
    ],
    targets: [
        // MARK: C libraries
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibssh2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),

        // MARK: Typed wrappers (the only code that touches C pointers)
        .target(name: "RedisClient", dependencies: ["CHiredis"]),
        .target(name: "CurlHTTP", dependencies: ["CCurl"]),
        .target(name: "SFTPClient", dependencies: ["CLibssh2"]),
        // Files encrypted in the age format (C2SP) to X25519 recipients, as a stream (issue 12).
        .target(name: "AgeEncryption", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // QR codes (ISO/IEC 18004) in byte mode, for `etlctl users add` to show an otpauth URI.
        .target(name: "QRCode"),

        // MARK: Shared pipeline vocabulary: configuration, runs, files, clock, retry policy
        .target(name: "ETLCore", dependencies: [
            "AgeEncryption",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // The configuration flags every executable shares (--print-configuration)
        .target(name: "ETLCommandLine", dependencies: [
            "ETLCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The SQLite row types the saver writes and the api reads
        .target(name: "PipelineSchema", dependencies: [
            "ETLCore",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Durable stage-to-stage handoff (Redis Streams + the SPEC's pub/sub channels)
        .target(name: "Handoff", dependencies: [
            "ETLCore", "RedisClient",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // Who may read the API: accounts, bearer tokens, sessions, login throttling, the audit log.
        .target(name: "AccessControl", dependencies: [
            "ETLCore", "PipelineSchema", "RedisClient",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
        ]),

        // MARK: Stages
        .target(name: "Extraction", dependencies: [
            "ETLCore", "Handoff", "CurlHTTP",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // MARK: Connectors: the registry's vocabulary, and the sources behind each type
        .target(name: "Connectors", dependencies: [
            "ETLCore", "Contracts", "PipelineSchema",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "ConnectorSources", dependencies: [
            "Connectors", "Extraction", "CurlHTTP", "ETLCore", "PipelineSchema",
            .product(name: "CSV", package: "CSV.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // What a dataset's records must meet: declared per connector, checked by the
        // transformer, turned into tables by the saver and into filters by the api.
        .target(name: "Contracts", dependencies: [
            "ETLCore",
            .product(name: "CSV", package: "CSV.swift"),
        ]),
        // Running connectors for the extractor: requests, schedules, dry runs, discovery.
        .target(name: "ConnectorRuns", dependencies: [
            "ConnectorSources", "Connectors", "Contracts", "Extraction", "Handoff", "Transformation", "PipelineSchema", "ETLCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Transformation", dependencies: [
            "ETLCore", "Handoff", "Contracts",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Loading", dependencies: [
            "ETLCore", "Handoff", "SFTPClient", "AgeEncryption", "PipelineSchema", "Contracts", "Connectors",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "ResultsAPI", dependencies: [
            "AccessControl", "ETLCore", "PipelineSchema", "Connectors", "ConnectorSources", "Contracts", "Loading", "Handoff",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], resources: [
            // The OpenAPI document (the API's shape) and the dashboard's page, style and script.
            .copy("Resources/openapi.json"), .copy("Resources/index.html"),
            .copy("Resources/dashboard.css"), .copy("Resources/dashboard.js"),
        ]),
        .target(name: "FixtureSource", dependencies: [
            "ETLCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // MARK: Executables (parse arguments, read configuration, run services)
        .executableTarget(name: "extractor", dependencies: [
            "Extraction", "ETLCore", "ETLCommandLine", "Handoff", "ConnectorRuns", "ConnectorSources", "Connectors", "Loading",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "transformer", dependencies: [
            "Transformation", "ETLCore", "ETLCommandLine", "Handoff",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "saver", dependencies: [
            "Loading", "ETLCore", "ETLCommandLine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "api", dependencies: [
            "ResultsAPI", "ETLCore", "ETLCommandLine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Manages connectors: create, list, show, update, delete, check, discover, run.
        .executableTarget(name: "etlctl", dependencies: [
            "AccessControl", "ConnectorRuns", "ConnectorSources", "Connectors", "Contracts", "Loading", "Transformation", "Handoff", "Extraction",
            "ETLCore", "ETLCommandLine", "PipelineSchema", "QRCode",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Development tool: fills a database with generated runs for API benchmarks and demos.
        .executableTarget(name: "etl-seed", dependencies: [
            "Loading", "FixtureSource", "ETLCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "fixture-source", dependencies: [
            "FixtureSource",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: [
            "ETLCore", "RedisClient",
            // The REST test server (Hummingbird) and SQL on the test PostgreSQL (PostgresNIO).
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "ETLCoreTests", dependencies: [
            "ETLCore", "TestSupport",
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        .testTarget(name: "ExtractionTests", dependencies: [
            "Extraction", "ETLCore", "Handoff", "CurlHTTP", "FixtureSource", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "TransformationTests", dependencies: [
            "Transformation", "Contracts", "ETLCore", "Handoff", "TestSupport", "FixtureSource",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The schema alone: records, migrations and the allow-list agree with each other.
        .testTarget(name: "PipelineSchemaTests", dependencies: [
            "PipelineSchema",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "LoadingTests", dependencies: ["Loading", "PipelineSchema", "AgeEncryption", "ETLCore", "TestSupport"]),
        .testTarget(name: "ConnectorTests", dependencies: [
            "Connectors", "ConnectorSources", "ConnectorRuns", "Contracts", "Handoff", "PipelineSchema", "Extraction", "CurlHTTP", "ETLCore",
            "TestSupport", "FixtureSource",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Checked against Debian's `age` binary: every encrypted file must decrypt with `age -d`.
        .testTarget(name: "AgeEncryptionTests", dependencies: ["AgeEncryption", "TestSupport"]),
        // Every symbol is read back by Debian's zbarimg and compared with qrencode's matrix.
        .testTarget(name: "QRCodeTests", dependencies: ["QRCode", "TestSupport"]),
        .testTarget(name: "SFTPClientTests", dependencies: ["SFTPClient", "TestSupport"]),
        .testTarget(name: "FixtureSourceTests", dependencies: ["FixtureSource", "CurlHTTP", "TestSupport"]),
        .testTarget(name: "AccessControlTests", dependencies: [
            "AccessControl", "ETLCore", "PipelineSchema", "TestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "HandoffTests", dependencies: [
            "Handoff", "ETLCore", "RedisClient", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Every JSON reader of the product against one reference parser (issue 9).
        .testTarget(name: "JSONReaderTests", dependencies: ["ETLCore", "Extraction", "Transformation", "Loading", "FixtureSource"]),
        .testTarget(name: "APITests", dependencies: [
            "ResultsAPI", "Loading", "PipelineSchema", "Transformation", "FixtureSource", "ETLCore", "TestSupport", "Connectors", "Contracts",
            "Handoff", "AccessControl",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Extraction", "Transformation", "Loading", "PipelineSchema", "FixtureSource", "Handoff", "ETLCore", "RedisClient", "TestSupport",
            "Connectors", "ConnectorSources", "ConnectorRuns", "Contracts",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

// The upcoming-language features Hummingbird builds with: `any` spelled out, members visible
// only from modules a file imports, and imports internal unless a file re-exports them.
let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + upcomingFeatures
}
