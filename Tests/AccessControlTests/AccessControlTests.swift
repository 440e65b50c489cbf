import AccessControl
import ETLCore
import Foundation
import GRDB
import PipelineSchema
import TestSupport
import Testing

/// Codes, passwords and tokens, without servers.
@Suite struct CredentialTests {
    /// RFC 6238 appendix B: the SHA-1 key "12345678901234567890", 8 digits there; these are
    /// the same values' last 6 digits.
    @Test(arguments: [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"),
                      (2_000_000_000, "279037"), (20_000_000_000, "353130")])
    func codesMatchTheRFC6238TestVectors(seconds: Int, code: String) {
        let date = Date(timeIntervalSince1970: Double(seconds))
        #expect(OneTimeCode.code(secret: "12345678901234567890", at: date) == code)
        #expect(OneTimeCode.matchingStep(of: code, secret: "12345678901234567890", at: date) == OneTimeCode.step(at: date))
    }

    @Test func aCodeIsAcceptedOneStepEitherSideAndNoFurther() {
        let secret = OneTimeCode.newSecret()
        let now = Date(timeIntervalSince1970: 1_800_000_015)
        for offset in [-30.0, 0, 30] {
            #expect(OneTimeCode.matchingStep(of: OneTimeCode.code(secret: secret, at: now + offset), secret: secret, at: now) != nil)
        }
        for offset in [-90.0, -60, 60, 90] {
            #expect(OneTimeCode.matchingStep(of: OneTimeCode.code(secret: secret, at: now + offset), secret: secret, at: now) == nil)
        }
        for malformed in ["", "12345", "1234567", "12345a", " 123456"] {
            #expect(OneTimeCode.matchingStep(of: malformed, secret: secret, at: now) == nil)
        }
    }

    @Test func theEnrolmentURICarriesTheBase32OfTheSecret() {
        let uri = OneTimeCode.enrolmentURI(secret: "12345678901234567890", username: "ada")
        #expect(uri.hasPrefix("otpauth://totp/"))
        #expect(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
        #expect(uri.contains("issuer=ETL%20pipeline"))
        #expect(uri.contains("ada"))
    }

    @Test func passwordsAreHashedAndCheckedAndAnUnknownAccountIsRefused() {
        let hasher = PasswordHasher(cost: 4)
        let hash = hasher.hash("correct horse battery")
        #expect(hash.hasPrefix("$2"))
        #expect(hasher.verify("correct horse battery", hash: hash))
        #expect(!hasher.verify("correct horse batterY", hash: hash))
        #expect(!hasher.verify("decoy password, never an account's", hash: nil))
    }

    @Test func passwordsBcryptWouldCutAreRefused() {
        #expect(throws: AccessError.self) { try PasswordHasher.check(password: "short") }
        #expect(throws: AccessError.self) { try PasswordHasher.check(password: String(repeating: "x", count: 73)) }
        #expect(throws: Never.self) { try PasswordHasher.check(password: String(repeating: "x", count: 72)) }
    }

    @Test func tokensAreLongRandomAndStoredOnlyAsTheirHash() {
        let first = BearerToken.generate(), second = BearerToken.generate()
        #expect(first != second && first.hasPrefix("etl_") && first.count == 47)
        #expect(BearerToken.hash(first.utf8).count == 64 && BearerToken.hash(first.utf8) != first)
    }
}

/// The tables `etlctl users|tokens` write, and what the api reads of them.
@Suite struct AccountDirectoryTests {
    let database: DatabaseQueue
    let directory: AccountDirectory

    init() throws {
        database = try DatabaseQueue()
        try SchemaMigrations.migrator.migrate(database)
        directory = AccountDirectory(database: database, hasher: PasswordHasher(cost: 4))
    }

    @Test func anAccountIsAddedListedDisabledAndReset() async throws {
        let enrolment = try await directory.addAccount("ada", password: "a long enough password")
        #expect(enrolment.otpauthURI.contains("secret="))
        await #expect(throws: AccessError.accountExists("ada")) { try await directory.addAccount("ada", password: "another long password") }
        #expect(try await directory.accounts().map(\.username) == ["ada"])
        #expect(try await database.read { try AccessSnapshot.read($0) }.enabledAccounts == 1)

        try await directory.disableAccount("ada")
        #expect(try await directory.accounts().first?.disabledAt != nil)
        #expect(try await database.read { try AccessSnapshot.read($0) }.enabledAccounts == 0)
        #expect(try await database.read { try AccessSnapshot.account("ada", db: $0) } == nil)

        let reset = try await directory.resetAccount("ada", password: "a brand new password")
        #expect(reset.secret != enrolment.secret)
        let record = try #require(try await database.read { try AccessSnapshot.account("ada", db: $0) })
        #expect(record.totpSecret == reset.secret && record.passwordHash.hasPrefix("$2"))
        #expect(!record.passwordHash.contains("a brand new password"))
        await #expect(throws: AccessError.accountNotFound("bob")) { try await directory.disableAccount("bob") }
    }

    @Test func badNamesAndPasswordsAreRefusedBeforeAnythingIsStored() async throws {
        for name in ["", "has space", "semi;colon", String(repeating: "a", count: 65), "ünï"] {
            await #expect(throws: AccessError.self) { try await directory.addAccount(name, password: "a long enough password") }
        }
        await #expect(throws: AccessError.self) { try await directory.addAccount("ada", password: "short") }
        #expect(try await directory.accounts().isEmpty)
    }

    @Test func tokensAreCreatedOnceRevokedAndOnlyActiveOnesAccepted() async throws {
        let issued = try await directory.createToken("grafana")
        await #expect(throws: AccessError.tokenExists("grafana")) { try await directory.createToken("grafana") }
        var snapshot = try await database.read { try AccessSnapshot.read($0) }
        #expect(snapshot.activeTokenHashes == [BearerToken.hash(issued.token.utf8)])
        let stored = try await database.read { try String.fetchAll($0, sql: "SELECT token_hash FROM api_tokens") }
        #expect(!stored.contains(issued.token))

        try await directory.revokeToken("grafana")
        snapshot = try await database.read { try AccessSnapshot.read($0) }
        #expect(snapshot.activeTokenHashes.isEmpty)
        #expect(try await directory.tokens().first?.revokedAt != nil)
        await #expect(throws: AccessError.tokenNotFound("grafana")) { try await directory.revokeToken("grafana") }
    }
}

/// Logins against a real redis-server: sessions, expiry, throttling, replay, the audit log.
@Suite(.serialized) struct LoginServiceTests {
    let policy = LoginPolicy(sessionIdleSeconds: 60, sessionMaxAgeSeconds: 300, maxFailuresPerAccount: 3,
                             maxFailuresPerAddress: 5, failureWindowSeconds: 120)

    struct Setup {
        let server: RedisServer
        let clock = TestClock(now: Date())
        let service: LoginService
        let secret = OneTimeCode.newSecret()
        var code: String { OneTimeCode.code(secret: secret, at: clock.now()) }

        init(policy: LoginPolicy) async throws {
            server = try await RedisServer.start()
            let hasher = PasswordHasher(cost: 4)
            let record = AccountRecord(username: "ada", passwordHash: hasher.hash("a long enough password"), totpSecret: secret,
                                       createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z")
            service = LoginService(account: { $0 == "ada" ? record : nil }, hasher: hasher,
                                   redis: try AccessRedis(url: server.url), policy: policy, clock: clock)
        }
    }

    @Test func aLoginStartsASessionThatIdlesOutAndLogoutEndsIt() async throws {
        let setup = try await Setup(policy: policy)
        defer { setup.server.stop() }
        let started = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "10.0.0.1").get()
        #expect(try await setup.service.sessions.resume(id: started.id)?.username == "ada")
        setup.clock.advance(seconds: 59)
        #expect(try await setup.service.sessions.resume(id: started.id) != nil)  // moved the idle expiry on
        setup.clock.advance(seconds: 59)
        #expect(try await setup.service.sessions.resume(id: started.id) != nil)
        setup.clock.advance(seconds: 61)
        #expect(try await setup.service.sessions.resume(id: started.id) == nil)  // idle for longer than 60 s

        setup.clock.advance(seconds: 31)
        let second = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "10.0.0.1").get()
        try await setup.service.logOut(id: second.id, from: "10.0.0.1")
        #expect(try await setup.service.sessions.resume(id: second.id) == nil)
        #expect(try await setup.service.sessions.resume(id: "etl_not-a-session") == nil)
    }

    @Test func aSessionEndsAtItsAbsoluteExpiryHoweverActive() async throws {
        let setup = try await Setup(policy: policy)
        defer { setup.server.stop() }
        let started = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "a").get()
        for _ in 0..<5 {
            setup.clock.advance(seconds: 50)
            #expect(try await setup.service.sessions.resume(id: started.id) != nil)
        }
        setup.clock.advance(seconds: 50)
        #expect(try await setup.service.sessions.resume(id: started.id) == nil)
    }

    @Test func wrongPasswordWrongCodeUnknownUserAndAReusedCodeAreRefusedAlikeAndAudited() async throws {
        let setup = try await Setup(policy: LoginPolicy(maxFailuresPerAccount: 100, maxFailuresPerAddress: 100))
        defer { setup.server.stop() }
        let wrongCode = String(format: "%06d", (Int(setup.code)! + 1) % 1_000_000)
        for (user, password, code) in [("ada", "the wrong password!", setup.code), ("ada", "a long enough password", wrongCode),
                                       ("bob", "a long enough password", setup.code)] {
            let result = try await setup.service.logIn(username: user, password: password, code: code, from: "10.0.0.2")
            #expect(throws: LoginRefusal.wrongCredentials) { try result.get() }
        }
        _ = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "10.0.0.2").get()
        let replay = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "10.0.0.2")
        #expect(throws: LoginRefusal.wrongCredentials) { try replay.get() }

        let events = try await AuditLog(redis: try AccessRedis(url: setup.server.url)).recent(limit: 10)
        #expect(events.map(\.reason) == ["code_reused", nil, "unknown_or_disabled_account", "wrong_code", "wrong_password"])
        #expect(events.allSatisfy { $0.from == "10.0.0.2" && $0.action == .login })
        #expect(events.map(\.success) == [false, true, false, false, false])
    }

    @Test func failuresPastTheAccountLimitRefuseEvenTheRightPasswordUntilTheWindowEnds() async throws {
        let setup = try await Setup(policy: policy)
        defer { setup.server.stop() }
        for address in ["a", "b", "c"] {
            _ = try await setup.service.logIn(username: "ada", password: "guess guess guess", code: "000000", from: address)
        }
        let refused = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "d")
        guard case .failure(.rateLimited(let wait)) = refused else { Issue.record("not rate limited: \(refused)"); return }
        #expect((1...120).contains(wait))
    }

    @Test func failuresPastTheAddressLimitRefuseThatAddressForEveryAccount() async throws {
        let setup = try await Setup(policy: policy)
        defer { setup.server.stop() }
        for index in 0..<5 {
            _ = try await setup.service.logIn(username: "user\(index)", password: "guess guess guess", code: "000000", from: "10.9.9.9")
        }
        let refused = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "10.9.9.9")
        guard case .failure(.rateLimited(let wait)) = refused else { Issue.record("not rate limited: \(refused)"); return }
        #expect((1...120).contains(wait))
        let elsewhere = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "10.1.1.1")
        #expect(throws: Never.self) { try elsewhere.get() }
    }

    @Test func disablingAnAccountEndsEverySessionOfIt() async throws {
        let setup = try await Setup(policy: policy)
        defer { setup.server.stop() }
        let first = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "a").get()
        setup.clock.advance(seconds: 30)
        let second = try await setup.service.logIn(username: "ada", password: "a long enough password", code: setup.code, from: "b").get()
        #expect(try await setup.service.sessions.endAll(of: "ada") == 2)
        #expect(try await setup.service.sessions.resume(id: first.id) == nil)
        #expect(try await setup.service.sessions.resume(id: second.id) == nil)
    }

    @Test func anUnreachableSessionStoreIsATypedError() async throws {
        let service = LoginService(account: { _ in nil }, hasher: PasswordHasher(cost: 4),
                                   redis: try AccessRedis(url: "redis://127.0.0.1:1/0"), policy: policy)
        await #expect(throws: AccessError.self) {
            _ = try await service.logIn(username: "ada", password: "x", code: "000000", from: "a")
        }
    }
}
