import Crypto

/// An age X25519 recipient: the `age1…` string `age-keygen` prints as "public key", i.e.
/// Bech32 with HRP "age" over a 32-byte Curve25519 public key.
public struct AgeRecipient: Sendable, Hashable, CustomStringConvertible {
    /// The recipient's X25519 public key, 32 bytes.
    public let publicKey: [UInt8]
    /// The recipient as written (lowercase), for logs and messages.
    public let encoded: String

    public static let humanReadablePart = "age"

    public init(parsing text: String) throws(AgeRecipientError) {
        let trimmed = text.trimmingWhitespace()
        let decoded: (hrp: String, data: [UInt8])
        do {
            decoded = try Bech32.decode(trimmed)
        } catch {
            throw AgeRecipientError(recipient: trimmed, problem: Self.problem(error))
        }
        guard decoded.hrp == Self.humanReadablePart else {
            throw AgeRecipientError(recipient: trimmed, problem: .wrongPrefix(decoded.hrp))
        }
        guard decoded.data.count == 32 else {
            throw AgeRecipientError(recipient: trimmed, problem: .wrongLength(decoded.data.count))
        }
        guard Self.isUsable(decoded.data) else { throw AgeRecipientError(recipient: trimmed, problem: .unusableKey) }
        publicKey = decoded.data
        encoded = trimmed.lowercased()
    }

    /// A comma-separated list (`UPLOAD_AGE_RECIPIENTS`); empty items are ignored, duplicates
    /// kept once (a second stanza for the same key would only make the header longer).
    public static func parseList(_ text: String) throws(AgeRecipientError) -> [AgeRecipient] {
        var recipients: [AgeRecipient] = []
        for item in text.split(separator: ",") where !item.trimmingWhitespace().isEmpty {
            let recipient = try AgeRecipient(parsing: String(item))
            if !recipients.contains(recipient) { recipients.append(recipient) }
        }
        return recipients
    }

    public var description: String { encoded }

    /// A low-order point (e.g. all zeros) gives an all-zero shared secret whatever the sender's
    /// key (clamped scalars are multiples of the cofactor), which age forbids; swift-crypto does
    /// not refuse it, so one agreement with a throwaway key tells. Checking at parse time makes
    /// a bad key fail when the saver starts, not at its first upload.
    static func isUsable(_ key: [UInt8]) -> Bool {
        guard let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: key),
            let shared = try? Curve25519.KeyAgreement.PrivateKey().sharedSecretFromKeyAgreement(with: publicKey)
        else { return false }
        return !isAllZero(shared)
    }

    static func isAllZero(_ secret: SharedSecret) -> Bool {
        secret.withUnsafeBytes { bytes in bytes.allSatisfy { $0 == 0 } }
    }

    private static func problem(_ failure: Bech32.Failure) -> AgeRecipientError.Problem {
        switch failure {
        case .mixedCase: .mixedCase
        case .noSeparator: .notBech32
        case .invalidCharacter(let character): .invalidCharacter(character)
        case .badChecksum: .badChecksum
        case .badPadding: .notBech32
        }
    }
}

/// Why a recipient was refused: names the recipient and says what to do.
public struct AgeRecipientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case notBech32
        case mixedCase
        case invalidCharacter(Character)
        case badChecksum
        case wrongPrefix(String)
        case wrongLength(Int)
        case unusableKey
    }

    public let recipient: String
    public let problem: Problem

    public var description: String {
        "age recipient '\(recipient)' is invalid: \(reason); \(AgeRecipientError.remedy)"
    }

    public static let remedy = "use the public key `age-keygen` prints (age1 followed by 58 characters), or `age-keygen -y key.txt` for an existing key"

    /// What is wrong with the recipient, without the remedy.
    public var reason: String {
        switch problem {
        case .notBech32: "not a Bech32 string"
        case .mixedCase: "mixes upper and lower case"
        case .invalidCharacter(let character): "contains '\(character)', which Bech32 does not use"
        case .badChecksum: "its checksum does not match (a character was mistyped or lost)"
        case .wrongPrefix(let prefix): "it starts with '\(prefix)1', not 'age1' (an SSH key or an age identity is not a recipient)"
        case .wrongLength(let count): "it holds \(count) bytes, not a 32-byte X25519 key"
        case .unusableKey: "it is not a usable X25519 public key"
        }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
