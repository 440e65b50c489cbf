public import Foundation
import Crypto
import HummingbirdBcrypt
import HummingbirdOTP

/// Passwords as bcrypt hashes. Hashing and checking take a quarter of a second at cost 12 on
/// purpose: callers run them on a `BlockingExecutor`, never on the cooperative pool.
public struct PasswordHasher: Sendable {
    /// bcrypt's work factor (2^cost rounds). Tests use a low one to stay fast.
    public let cost: UInt8
    /// Checked against when no account has the name given, so an unknown name takes as long
    /// to refuse as a wrong password (the timing does not tell which accounts exist).
    private let decoyHash: String

    public static let production = PasswordHasher(cost: 12)

    public init(cost: UInt8) {
        self.cost = cost
        decoyHash = Bcrypt.hash("decoy password, never an account's", cost: cost)
    }

    public func hash(_ password: String) -> String {
        Bcrypt.hash(password, cost: cost)
    }

    /// Whether `password` matches `hash`; with a nil hash, spends the same time and says no.
    public func verify(_ password: String, hash: String?) -> Bool {
        let matches = Bcrypt.verify(password, hash: hash ?? decoyHash)
        return hash != nil && matches
    }

    /// bcrypt reads only the first 72 bytes: a longer password would be accepted by its
    /// prefix, so it is refused rather than silently cut.
    public static let passwordBytes = 12...72

    public static func check(password: String) throws(AccessError) {
        guard passwordBytes.contains(password.utf8.count) else {
            throw .invalidPassword("a password must be \(passwordBytes.lowerBound) to \(passwordBytes.upperBound) bytes long (bcrypt reads no more than 72)")
        }
    }
}

/// RFC 6238 time-based codes: 6 digits, 30-second steps, HMAC-SHA1, which every
/// authenticator app accepts from an `otpauth://` URI.
public enum OneTimeCode {
    public static let stepSeconds = 30
    public static let digits = 6
    /// The alphabet of RFC 4648 base32: the secret's text is typeable from the URI too.
    private static let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// 32 random characters of 5 bits each: a 160-bit key, what RFC 4226 recommends.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in secretAlphabet.randomElement(using: &generator)! })
    }

    /// The code for `date` (zero-padded), what an authenticator app shows at that moment.
    public static func code(secret: String, at date: Date) -> String {
        code(secret: secret, step: step(at: date))
    }

    public static func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / Double(stepSeconds)).rounded(.down))
    }

    /// The step `code` belongs to, if it is the code of the current step or of one either
    /// side of it (a phone's clock may be off by a few seconds); nil otherwise.
    public static func matchingStep(of code: String, secret: String, at date: Date) -> Int64? {
        guard code.utf8.count == digits, code.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let now = step(at: date)
        // Every candidate compared, in constant time, so the timing says nothing about which matched.
        var matched: Int64?
        for candidate in [now - 1, now, now + 1] where constantTimeEquals(Array(self.code(secret: secret, step: candidate).utf8), Array(code.utf8)) {
            matched = candidate
        }
        return matched
    }

    /// The URI an authenticator app enrols from (`otpauth://totp/ISSUER:NAME?secret=…&issuer=ISSUER`).
    public static func enrolmentURI(secret: String, username: String, issuer: String = "ETL pipeline") -> String {
        TOTP(secret: secret, length: digits, timeStep: stepSeconds, hashFunction: .sha1)
            .createAuthenticatorURL(label: "\(issuer):\(username)", issuer: issuer)
    }

    private static func code(secret: String, step: Int64) -> String {
        let value = HOTP(secret: secret, length: digits, hashFunction: .sha1).compute(counter: UInt64(max(step, 0)))
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// Bearer tokens for machine clients: 256 random bits, shown once, stored as SHA-256.
public enum BearerToken {
    /// `etl_` and 43 base64url characters; the prefix lets secret scanners recognise it.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "etl_" + base64URL(bytes)
    }

    /// Lower-case hex SHA-256 of the token's bytes: what `api_tokens.token_hash` holds.
    public static func hash<Bytes: Sequence>(_ token: Bytes) -> String where Bytes.Element == UInt8 {
        hex(SHA256.hash(data: Array(token)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

func hex(_ digest: some Sequence<UInt8>) -> String {
    digest.map { byte in
        let text = String(byte, radix: 16)
        return byte < 16 ? "0" + text : text
    }.joined()
}

/// Compares without an early exit, so the answer's timing says nothing about how many
/// leading bytes of a guess were right. (The length may leak; the bytes do not.)
public func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
    difference |= lhs.count == rhs.count ? 0 : 1
    for index in 0..<max(lhs.count, rhs.count) {
        let left = index < lhs.count ? lhs[index] : 0
        let right = index < rhs.count ? rhs[index] : 0
        difference |= left ^ right
    }
    return difference == 0
}
