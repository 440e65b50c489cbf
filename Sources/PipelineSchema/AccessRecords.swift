public import GRDB

/// One `accounts` row: a person who may log in to the dashboard. `etlctl users` writes it;
/// the api only reads it. The password is kept as a bcrypt hash, the TOTP secret as the text
/// whose UTF-8 bytes are the RFC 6238 key (it is what the authenticator app holds too).
public struct AccountRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "accounts"

    public var id: Int64?
    public var username: String
    public var passwordHash: String
    public var totpSecret: String
    /// When the account was disabled (ISO-8601 UTC); nil while it may log in.
    public var disabledAt: String?
    public var createdAt: String
    public var updatedAt: String

    public init(id: Int64? = nil, username: String, passwordHash: String, totpSecret: String, disabledAt: String? = nil,
                createdAt: String, updatedAt: String) {
        self.id = id
        self.username = username
        self.passwordHash = passwordHash
        self.totpSecret = totpSecret
        self.disabledAt = disabledAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, username, passwordHash = "password_hash", totpSecret = "totp_secret", disabledAt = "disabled_at"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    public enum Columns {
        public static let username = Column(CodingKeys.username)
        public static let disabledAt = Column(CodingKeys.disabledAt)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// One `api_tokens` row: a machine client's bearer token. Only its SHA-256 is stored (the
/// token is 256 random bits, so a fast hash is enough: there is nothing to guess from it),
/// shown once by `etlctl tokens create`.
public struct APITokenRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "api_tokens"

    public var id: Int64?
    public var name: String
    /// Lower-case hex SHA-256 of the token's UTF-8 bytes.
    public var tokenHash: String
    public var createdAt: String
    /// When it was revoked (ISO-8601 UTC); nil while it is accepted.
    public var revokedAt: String?

    public init(id: Int64? = nil, name: String, tokenHash: String, createdAt: String, revokedAt: String? = nil) {
        self.id = id
        self.name = name
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, tokenHash = "token_hash", createdAt = "created_at", revokedAt = "revoked_at"
    }

    public enum Columns {
        public static let name = Column(CodingKeys.name)
        public static let tokenHash = Column(CodingKeys.tokenHash)
        public static let revokedAt = Column(CodingKeys.revokedAt)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
