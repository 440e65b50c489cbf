import ETLCore
public import Foundation
public import GRDB
public import PipelineSchema

/// What a person needs to enrol an authenticator app: shown once by `etlctl users add|reset`.
public struct Enrolment: Codable, Sendable, Equatable {
    public var username: String
    public var otpauthURI: String
    public var secret: String

    enum CodingKeys: String, CodingKey {
        case username, otpauthURI = "otpauth_uri", secret
    }
}

/// An account as `etlctl users list` shows it: never its hash or secret.
public struct AccountSummary: Codable, Sendable, Equatable {
    public var username: String
    public var disabledAt: String?
    public var createdAt: String
    public var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case username, disabledAt = "disabled_at", createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// A token as `etlctl tokens list` shows it: never the token or its hash.
public struct TokenSummary: Codable, Sendable, Equatable {
    public var name: String
    public var createdAt: String
    public var revokedAt: String?

    enum CodingKeys: String, CodingKey {
        case name, createdAt = "created_at", revokedAt = "revoked_at"
    }
}

/// A token just created: the only time its value is shown.
public struct IssuedToken: Codable, Sendable, Equatable {
    public var name: String
    public var token: String
}

/// The `accounts` and `api_tokens` tables: written by `etlctl`, read by the api.
public struct AccountDirectory: Sendable {
    let database: any DatabaseWriter
    let hasher: PasswordHasher
    let now: @Sendable () -> Date

    public init(database: any DatabaseWriter, hasher: PasswordHasher = .production, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.hasher = hasher
        self.now = now
    }

    // MARK: Accounts

    public func addAccount(_ username: String, password: String) async throws -> Enrolment {
        try AccessName.check(username, kind: "user")
        try PasswordHasher.check(password: password)
        let secret = OneTimeCode.newSecret()
        let hash = hasher.hash(password)
        let stamp = timestamp()
        try await database.write { db in
            guard try AccountRecord.filter(AccountRecord.Columns.username == username).fetchCount(db) == 0 else {
                throw AccessError.accountExists(username)
            }
            var record = AccountRecord(username: username, passwordHash: hash, totpSecret: secret, createdAt: stamp, updatedAt: stamp)
            try record.insert(db)
        }
        return Enrolment(username: username, otpauthURI: OneTimeCode.enrolmentURI(secret: secret, username: username), secret: secret)
    }

    /// A new password and a new authenticator secret, and the account enabled again: what an
    /// operator does for someone who lost their phone or password.
    public func resetAccount(_ username: String, password: String) async throws -> Enrolment {
        try PasswordHasher.check(password: password)
        let secret = OneTimeCode.newSecret()
        let hash = hasher.hash(password)
        try await updateAccount(username) { record in
            record.passwordHash = hash
            record.totpSecret = secret
            record.disabledAt = nil
        }
        return Enrolment(username: username, otpauthURI: OneTimeCode.enrolmentURI(secret: secret, username: username), secret: secret)
    }

    public func disableAccount(_ username: String) async throws {
        let stamp = timestamp()
        try await updateAccount(username) { record in
            if record.disabledAt == nil { record.disabledAt = stamp }
        }
    }

    public func accounts() async throws -> [AccountSummary] {
        try await database.read { db in
            try AccountRecord.order(AccountRecord.Columns.username).fetchAll(db).map {
                AccountSummary(username: $0.username, disabledAt: $0.disabledAt, createdAt: $0.createdAt, updatedAt: $0.updatedAt)
            }
        }
    }

    private func updateAccount(_ username: String, _ change: @escaping @Sendable (inout AccountRecord) -> Void) async throws {
        let stamp = timestamp()
        try await database.write { db in
            guard var record = try AccountRecord.filter(AccountRecord.Columns.username == username).fetchOne(db) else {
                throw AccessError.accountNotFound(username)
            }
            change(&record)
            record.updatedAt = stamp
            try record.update(db)
        }
    }

    // MARK: Tokens

    public func createToken(_ name: String) async throws -> IssuedToken {
        try AccessName.check(name, kind: "token")
        let token = BearerToken.generate()
        let stamp = timestamp()
        try await database.write { db in
            guard try APITokenRecord.filter(APITokenRecord.Columns.name == name).fetchCount(db) == 0 else {
                throw AccessError.tokenExists(name)
            }
            var record = APITokenRecord(name: name, tokenHash: BearerToken.hash(token.utf8), createdAt: stamp)
            try record.insert(db)
        }
        return IssuedToken(name: name, token: token)
    }

    /// Revoked tokens stay listed (who had access, until when); their names are not reused.
    public func revokeToken(_ name: String) async throws {
        let stamp = timestamp()
        try await database.write { db in
            guard var record = try APITokenRecord.filter(APITokenRecord.Columns.name == name)
                .filter(APITokenRecord.Columns.revokedAt == nil).fetchOne(db)
            else { throw AccessError.tokenNotFound(name) }
            record.revokedAt = stamp
            try record.update(db)
        }
    }

    public func tokens() async throws -> [TokenSummary] {
        try await database.read { db in
            try APITokenRecord.order(APITokenRecord.Columns.name).fetchAll(db).map {
                TokenSummary(name: $0.name, createdAt: $0.createdAt, revokedAt: $0.revokedAt)
            }
        }
    }

    private func timestamp() -> String { ISO8601.string(from: now()) }
}

/// What the api needs to know of the tables on every request: whether anyone must log in,
/// and which bearer tokens are accepted. Read again only when the database changes.
public struct AccessSnapshot: Sendable, Equatable {
    public var enabledAccounts: Int
    public var activeTokenHashes: Set<String>

    public static let empty = AccessSnapshot(enabledAccounts: 0, activeTokenHashes: [])

    public static func read(_ db: Database) throws -> AccessSnapshot {
        let accounts = try AccountRecord.filter(AccountRecord.Columns.disabledAt == nil).fetchCount(db)
        let hashes = try String.fetchAll(db, APITokenRecord.select(APITokenRecord.Columns.tokenHash)
            .filter(APITokenRecord.Columns.revokedAt == nil))
        return AccessSnapshot(enabledAccounts: accounts, activeTokenHashes: Set(hashes))
    }

    /// The enabled account named `username`, for a login.
    public static func account(_ username: String, db: Database) throws -> AccountRecord? {
        try AccountRecord.filter(AccountRecord.Columns.username == username)
            .filter(AccountRecord.Columns.disabledAt == nil).fetchOne(db)
    }
}
