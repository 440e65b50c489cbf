import Crypto
import Foundation

/// The age v1 header (C2SP age spec, "Header"): the version line, one X25519 stanza per
/// recipient wrapping the file key, and the MAC line that binds them to the file key.
struct AgeHeader {
    static let versionLine = "age-encryption.org/v1"
    static let x25519Label = "age-encryption.org/v1/X25519"

    /// The header's bytes, up to and including the newline after the MAC.
    let bytes: [UInt8]

    init(fileKey: SymmetricKey, recipients: [AgeRecipient]) throws {
        var text = Self.versionLine + "\n"
        for recipient in recipients {
            text += try Self.x25519Stanza(fileKey: fileKey, recipient: recipient)
        }
        // The MAC covers the header up to and including "---", without the space after it.
        text += "---"
        let macKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: fileKey, salt: [UInt8](), info: Array("header".utf8), outputByteCount: 32)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: macKey)
        text += " " + AgeBase64.encode(Array(mac)) + "\n"
        bytes = Array(text.utf8)
    }

    /// `-> X25519 <ephemeral share>` and the wrapped file key as the stanza body. A fresh
    /// ephemeral key per stanza, so recipients of one file cannot be linked by their shares.
    static func x25519Stanza(fileKey: SymmetricKey, recipient: AgeRecipient) throws -> String {
        let ephemeral = Curve25519.KeyAgreement.PrivateKey()
        let share = Array(ephemeral.publicKey.rawRepresentation)
        let publicKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: recipient.publicKey)
        let shared = try ephemeral.sharedSecretFromKeyAgreement(with: publicKey)
        // Parsing refuses such keys already; a recipient built another way must not get a
        // stanza whose wrap key anyone can derive.
        if AgeRecipient.isAllZero(shared) { throw AgeEncryptionError.crypto("\(recipient) is a low-order X25519 key") }
        let wrapKey = shared.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: share + recipient.publicKey, sharedInfo: Array(x25519Label.utf8),
            outputByteCount: 32)
        let fileKeyBytes = fileKey.withUnsafeBytes { Array($0) }
        let sealed = try ChaChaPoly.seal(fileKeyBytes, using: wrapKey, nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
        let body = Array(sealed.ciphertext) + Array(sealed.tag)
        return "-> X25519 \(AgeBase64.encode(share))\n" + AgeBase64.wrappedBody(body)
    }
}

/// age's base64: the standard alphabet without padding; stanza bodies are wrapped at 64
/// columns and their last line is always shorter than 64 (empty when the body fills whole lines).
enum AgeBase64 {
    static let columns = 64

    static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func wrappedBody(_ bytes: [UInt8]) -> String {
        let encoded = Array(encode(bytes))
        var lines: [String] = []
        var start = 0
        // `<=` on purpose: a body of exactly 64·n characters still ends with a (then empty) short line.
        while start <= encoded.count {
            let end = min(start + columns, encoded.count)
            lines.append(String(encoded[start..<end]))
            if end - start < columns { break }
            start = end
        }
        return lines.map { $0 + "\n" }.joined()
    }
}
