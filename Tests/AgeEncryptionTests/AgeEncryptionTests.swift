@testable import AgeEncryption
import Foundation
import Testing
import TestSupport

/// Every file is checked by Debian's `age`, the reference reader: what it decrypts must be the
/// original byte for byte. `age` and `age-keygen` run through `TestEnvironment`, which waits
/// for them on threads of their own and never runs more at once than there are cores.
@Suite("age encryption")
struct AgeEncryptionTests {
    /// The sizes around the chunk boundaries (empty, one byte, one short of a chunk, exactly
    /// one, one more, whole chunks) and a multi-MB file.
    static let sizes = [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 5 * 1024 * 1024 + 4_321]

    @Test("a file of every boundary size decrypts with age -d to the original, and has the predicted size",
          arguments: sizes)
    func roundTrip(size: Int) async throws {
        let directory = try TestEnvironment.temporaryDirectory("age-roundtrip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try await AgeKey.generate(in: directory, name: "key")
        let plain = directory.appendingPathComponent("plain").path
        let original = try writeRandomFile(plain, count: size)
        let encryptor = try AgeEncryptor(recipients: [AgeRecipient(parsing: key.recipient)])
        let encrypted = directory.appendingPathComponent("plain.age").path

        try encryptFile(plain, to: encrypted, with: encryptor)

        let encryptedSize = try FileManager.default.attributesOfItem(atPath: encrypted)[.size] as? UInt64
        #expect(encryptedSize == encryptor.encryptedSize(plaintextSize: UInt64(size)))
        let decrypted = directory.appendingPathComponent("decrypted").path
        try await Age.decrypt(encrypted, identity: key.identityPath, to: decrypted)
        #expect(try Data(contentsOf: URL(fileURLWithPath: decrypted)) == original)
    }

    @Test("the size formula gives what age itself writes for the same plaintext and recipients",
          arguments: [0, 1, 65_536, 65_537, 3 * 65_536])
    func sizeMatchesAge(size: Int) async throws {
        let directory = try TestEnvironment.temporaryDirectory("age-size")
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try await [AgeKey.generate(in: directory, name: "a"), AgeKey.generate(in: directory, name: "b")]
        let plain = directory.appendingPathComponent("plain").path
        try writeRandomFile(plain, count: size)
        for recipients in [[keys[0]], keys] {
            let reference = directory.appendingPathComponent("reference.age").path
            try await Age.encrypt(plain, recipients: recipients.map(\.recipient), to: reference)
            let referenceSize = try FileManager.default.attributesOfItem(atPath: reference)[.size] as? UInt64
            let encryptor = try AgeEncryptor(recipients: recipients.map { try AgeRecipient(parsing: $0.recipient) })
            #expect(encryptor.encryptedSize(plaintextSize: UInt64(size)) == referenceSize)
        }
    }

    @Test("with two recipients, each one's identity decrypts the file")
    func twoRecipients() async throws {
        let directory = try TestEnvironment.temporaryDirectory("age-two")
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try await [AgeKey.generate(in: directory, name: "a"), AgeKey.generate(in: directory, name: "b")]
        let plain = directory.appendingPathComponent("plain").path
        let original = try writeRandomFile(plain, count: 200_000)
        let encryptor = try AgeEncryptor(recipients: AgeRecipient.parseList(keys.map(\.recipient).joined(separator: ", ")))
        #expect(encryptor.recipients.count == 2)
        let encrypted = directory.appendingPathComponent("plain.age").path
        try encryptFile(plain, to: encrypted, with: encryptor)

        for key in keys {
            let decrypted = directory.appendingPathComponent("decrypted-\(key.recipient.suffix(6))").path
            try await Age.decrypt(encrypted, identity: key.identityPath, to: decrypted)
            #expect(try Data(contentsOf: URL(fileURLWithPath: decrypted)) == original)
        }
    }

    @Test("an identity that is not a recipient cannot decrypt: age -d exits non-zero")
    func wrongIdentityFails() async throws {
        let directory = try TestEnvironment.temporaryDirectory("age-wrong")
        defer { try? FileManager.default.removeItem(at: directory) }
        let right = try await AgeKey.generate(in: directory, name: "right")
        let wrong = try await AgeKey.generate(in: directory, name: "wrong")
        let plain = directory.appendingPathComponent("plain").path
        try writeRandomFile(plain, count: 70_000)
        let encrypted = directory.appendingPathComponent("plain.age").path
        try encryptFile(plain, to: encrypted, with: AgeEncryptor(recipients: [AgeRecipient(parsing: right.recipient)]))
        let decrypted = directory.appendingPathComponent("decrypted").path

        let error = await #expect(throws: TestSupportError.self) {
            try await Age.decrypt(encrypted, identity: wrong.identityPath, to: decrypted)
        }
        guard case .commandFailed(_, let status, let output)? = error else { return }
        #expect(status != 0)
        #expect(output.contains("no identity matched"))
        // Positive control: the same file opens with the right key.
        try await Age.decrypt(encrypted, identity: right.identityPath, to: decrypted)
    }

    @Test("a flipped byte in the payload makes age -d refuse the file")
    func tamperedPayloadFails() async throws {
        let directory = try TestEnvironment.temporaryDirectory("age-tamper")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try await AgeKey.generate(in: directory, name: "key")
        let plain = directory.appendingPathComponent("plain").path
        try writeRandomFile(plain, count: 100_000)
        let encrypted = directory.appendingPathComponent("plain.age").path
        try encryptFile(plain, to: encrypted, with: AgeEncryptor(recipients: [AgeRecipient(parsing: key.recipient)]))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: encrypted))
        bytes[bytes.count - 100] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: encrypted))

        await #expect(throws: TestSupportError.self) {
            try await Age.decrypt(encrypted, identity: key.identityPath, to: directory.appendingPathComponent("out").path)
        }
    }

    @Test("the header has the version line, one X25519 stanza per recipient and the MAC line, wrapped as the spec says")
    func headerLayout() throws {
        let recipients = try ["a", "b"].map { _ in
            try AgeRecipient(parsing: bech32Encode(hrp: "age", data: Array(randomKey())))
        }
        let header = String(decoding: try AgeEncryptor(recipients: recipients).header, as: UTF8.self)
        let lines = header.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 7)
        #expect(lines[0] == "age-encryption.org/v1")
        for stanza in [1, 3] {
            #expect(lines[stanza].hasPrefix("-> X25519 "))
            #expect(lines[stanza].count == "-> X25519 ".count + 43)
            // 16-byte file key + 16-byte tag = 32 bytes: 43 unpadded base64 characters, one short line.
            #expect(lines[stanza + 1].count == 43)
        }
        #expect(lines[5].hasPrefix("--- ") && lines[5].count == 4 + 43)
        #expect(lines[6].isEmpty)
        #expect(!header.contains("="))
    }

    @Test("stanza bodies wrap at 64 columns and always end with a line shorter than 64")
    func bodyWrapping() {
        #expect(AgeBase64.wrappedBody([UInt8](repeating: 0, count: 32)) == String(repeating: "A", count: 43) + "\n")
        // 48 bytes are exactly 64 characters: a full line, then the empty final line.
        #expect(AgeBase64.wrappedBody([UInt8](repeating: 0, count: 48)) == String(repeating: "A", count: 64) + "\n\n")
        #expect(AgeBase64.wrappedBody([UInt8](repeating: 0, count: 50)) == String(repeating: "A", count: 64) + "\nAAA\n")
        #expect(AgeBase64.wrappedBody([]) == "\n")
    }

    @Test("chunk nonces: 11-byte big-endian counter, then the last-chunk flag")
    func chunkNonces() throws {
        let nonce = try AgeEncryptor.chunkNonce(counter: 0x0102, last: true)
        #expect(Array(nonce) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1])
        #expect(Array(try AgeEncryptor.chunkNonce(counter: 0, last: false)) == [UInt8](repeating: 0, count: 12))
        #expect(AgeEncryptor.chunkCount(plaintextSize: 0) == 1)
        #expect(AgeEncryptor.chunkCount(plaintextSize: 65_536) == 1)
        #expect(AgeEncryptor.chunkCount(plaintextSize: 65_537) == 2)
    }

    @Test("an encryptor needs a recipient")
    func noRecipients() {
        #expect(throws: AgeEncryptionError.noRecipients) { _ = try AgeEncryptor(recipients: []) }
    }
}

func randomKey() -> [UInt8] {
    (0..<32).map { _ in UInt8.random(in: 0...255) }
}
