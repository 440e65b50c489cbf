import AccessControl
import ArgumentParser
import ETLCommandLine
import ETLCore
import Foundation
import Loading
import Logging
import QRCode

/// `etlctl users|tokens|audit`: who may read the API. They read `DATABASE_PATH` (accounts and
/// tokens) and `REDIS_URL` (sessions to end, the audit log) only.
struct AccessTool {
    let directory: AccountDirectory
    let redis: AccessRedis
    let json: Bool

    /// The operator as the audit log records them: the tool and the login that ran it.
    var operatorName: String { "etlctl:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown") }

    static func run(_ options: CommonOptions, _ body: (AccessTool) async throws -> Void) async throws {
        guard let configuration = options.configurationOptions.configurationToRun(AccessToolConfiguration.self) else { return }
        PipelineLogging.bootstrap(level: configuration.logLevel)
        do {
            let database = try await PipelineDatabase.open(path: configuration.databasePath)
            try await body(AccessTool(directory: AccountDirectory(database: database.pool),
                                      redis: try AccessRedis(url: configuration.redisURL), json: options.json))
        } catch let error as ExitCode {
            throw error
        } catch let error as AccessError {
            FileHandle.standardError.write(Data("etlctl: \(error)\n".utf8))
            if case .sessionStoreUnavailable = error { throw ExitCode(1) }
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("etlctl: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func audit(_ action: AuditEvent.Action, _ name: String) async throws {
        try await AuditLog(redis: redis).record(AuditEvent(at: ISO8601.string(from: Date()), action: action, username: name,
                                                           from: operatorName, success: true))
    }

    func print<Value: Encodable>(_ value: Value, text: @autoclosure () -> String) throws {
        Swift.print(json ? String(decoding: try JSONEncoder.sorted.encode(value), as: UTF8.self) : text())
    }

    /// The password from `--password-file` (one trailing newline dropped), or typed twice
    /// without echo; never from an argument, which every process on the machine can read.
    static func password(file: String?) throws -> String {
        if let file {
            guard var text = FileManager.default.contents(atPath: file).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw ValidationError("cannot read the password file \(file)")
            }
            if text.hasSuffix("\n") { text.removeLast() }
            if text.hasSuffix("\r") { text.removeLast() }
            return text
        }
        guard let first = readPassword("Password: "), let second = readPassword("Password again: ") else {
            throw ValidationError("no password given: type it at the prompt, or pass --password-file FILE")
        }
        guard first == second else { throw ValidationError("the two passwords differ") }
        return first
    }

    private static func readPassword(_ prompt: String) -> String? {
        guard let typed = getpass(prompt) else { return nil }
        return String(cString: typed)
    }

    /// The enrolment as a person reads it: the QR code a phone app scans (the otpauth URI),
    /// then the URI and the secret for entering by hand.
    static func enrolmentText(_ enrolment: Enrolment) -> String {
        // An otpauth URI is ~120 bytes: always within a QR code's capacity.
        let code = (try? QRCode(text: enrolment.otpauthURI).terminalText()) ?? ""
        return """
        Account \(enrolment.username): scan this with an authenticator app, or enter the secret by hand.

        \(code)

        \(enrolment.otpauthURI)
        secret: \(enrolment.secret)
        """
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension EtlctlCommand {
    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the dashboard's accounts (password + authenticator code).",
            subcommands: [Add.self, List.self, Disable.self, Reset.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add an account and print its authenticator enrolment.")
            @Argument(help: "The account's name.") var name: String
            @Option(help: "A file holding the password (otherwise it is asked for).") var passwordFile: String?
            @OptionGroup var options: CommonOptions

            func run() async throws {
                let password = try AccessTool.password(file: passwordFile)
                try await AccessTool.run(options) { tool in
                    let enrolment = try await tool.directory.addAccount(name, password: password)
                    try await tool.audit(.userAdded, name)
                    try tool.print(enrolment, text: AccessTool.enrolmentText(enrolment))
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the accounts.")
            @OptionGroup var options: CommonOptions

            func run() async throws {
                try await AccessTool.run(options) { tool in
                    let accounts = try await tool.directory.accounts()
                    let rows = accounts.map { [$0.username, $0.disabledAt == nil ? "enabled" : "disabled since \($0.disabledAt!)", $0.createdAt] }
                    try tool.print(accounts, text: Tool.table(header: ["USERNAME", "STATE", "CREATED"], rows: rows))
                }
            }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Disable an account and end its sessions.")
            @Argument(help: "The account's name.") var name: String
            @OptionGroup var options: CommonOptions

            func run() async throws {
                try await AccessTool.run(options) { tool in
                    try await tool.directory.disableAccount(name)
                    let ended = try await SessionStore(redis: tool.redis, policy: LoginPolicy()).endAll(of: name)
                    try await tool.audit(.userDisabled, name)
                    try tool.print(["username": name, "sessions_ended": String(ended)],
                                   text: "disabled \(name); ended \(ended) session(s)")
                }
            }
        }

        struct Reset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Give an account a new password and authenticator secret, enable it, and end its sessions.")
            @Argument(help: "The account's name.") var name: String
            @Option(help: "A file holding the new password (otherwise it is asked for).") var passwordFile: String?
            @OptionGroup var options: CommonOptions

            func run() async throws {
                let password = try AccessTool.password(file: passwordFile)
                try await AccessTool.run(options) { tool in
                    let enrolment = try await tool.directory.resetAccount(name, password: password)
                    try await SessionStore(redis: tool.redis, policy: LoginPolicy()).endAll(of: name)
                    try await tool.audit(.userReset, name)
                    try tool.print(enrolment, text: AccessTool.enrolmentText(enrolment))
                }
            }
        }
    }

    struct Tokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage machine clients' bearer tokens (one per client).", subcommands: [Create.self, Revoke.self, List.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token; it is shown once.")
            @Argument(help: "The client's name.") var name: String
            @OptionGroup var options: CommonOptions

            func run() async throws {
                try await AccessTool.run(options) { tool in
                    let issued = try await tool.directory.createToken(name)
                    try await tool.audit(.tokenCreated, name)
                    try tool.print(issued, text: "token for \(name) (shown once; send it as Authorization: Bearer <token>):\n\(issued.token)")
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token: the api refuses it at once.")
            @Argument(help: "The client's name.") var name: String
            @OptionGroup var options: CommonOptions

            func run() async throws {
                try await AccessTool.run(options) { tool in
                    try await tool.directory.revokeToken(name)
                    try await tool.audit(.tokenRevoked, name)
                    try tool.print(["name": name, "revoked": "true"], text: "revoked the token of \(name)")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the tokens (never their values).")
            @OptionGroup var options: CommonOptions

            func run() async throws {
                try await AccessTool.run(options) { tool in
                    let tokens = try await tool.directory.tokens()
                    let rows = tokens.map { [$0.name, $0.revokedAt.map { "revoked \($0)" } ?? "active", $0.createdAt] }
                    try tool.print(tokens, text: Tool.table(header: ["NAME", "STATE", "CREATED"], rows: rows))
                }
            }
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the audit log, newest first: logins, logouts, account and token changes.")
        @Option(help: "Events to show at most.") var limit = 50
        @OptionGroup var options: CommonOptions

        func validate() throws {
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1 to 100000") }
        }

        func run() async throws {
            try await AccessTool.run(options) { tool in
                let events = try await AuditLog(redis: tool.redis).recent(limit: limit)
                let rows = events.map { [$0.at, $0.action.rawValue, $0.username, $0.from, $0.success ? "ok" : "failed", $0.reason ?? ""] }
                try tool.print(events, text: Tool.table(header: ["AT", "ACTION", "USER", "FROM", "RESULT", "REASON"], rows: rows))
            }
        }
    }
}
