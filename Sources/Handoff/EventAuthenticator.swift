import Crypto
import ETLCore
import Foundation

/// Signs and checks hand-off events with HMAC-SHA256 over the exact payload bytes and the
/// stream they are meant for, with the secret the stages share (`EVENT_HMAC_KEY`). Binding
/// the stream means a valid `phase1` entry copied into `phase2` is refused too.
///
/// Anyone who can write to Redis can add a stream entry; only a holder of the key can make
/// one the stages accept.
public struct EventAuthenticator: Sendable {
    /// The secret's bytes (`SymmetricKey` is not `Sendable`; one is made per use).
    private let secret: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: secret) }

    public enum KeyError: Error, CustomStringConvertible {
        case tooShort(length: Int)
        public var description: String {
            switch self {
            case .tooShort(let length):
                "EVENT_HMAC_KEY has \(length) characters; at least \(CommonConfiguration.minimumEventKeyLength) are required (e.g. `openssl rand -hex 32`)"
            }
        }
    }

    public init(secret: String) throws {
        guard secret.count >= CommonConfiguration.minimumEventKeyLength else { throw KeyError.tooShort(length: secret.count) }
        self.secret = Array(secret.utf8)
    }

    /// Lower-case hex HMAC-SHA256 of `payload` for `stream`.
    public func signature(of payload: String, for stream: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Self.message(payload, stream), using: key)
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` is the payload's; compared in constant time.
    public func isAuthentic(_ payload: String, for stream: String, signature: String) -> Bool {
        guard let bytes = Self.bytes(ofHex: signature), bytes.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(bytes, authenticating: Self.message(payload, stream), using: key)
    }

    private static func message(_ payload: String, _ stream: String) -> Data {
        // The stream name cannot contain a newline, so "stream\npayload" is unambiguous.
        Data("\(stream)\n\(payload)".utf8)
    }

    private static func bytes(ofHex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
