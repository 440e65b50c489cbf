@testable import AgeEncryption
import Foundation
import Testing
import TestSupport

@Suite("age recipients")
struct AgeRecipientTests {
    @Test("a recipient from age-keygen parses to its 32-byte key, and prints as written")
    func parsesKeygenOutput() async throws {
        let directory = try TestEnvironment.temporaryDirectory("age-recipient")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try await AgeKey.generate(in: directory, name: "key")
        let recipient = try AgeRecipient(parsing: "  \(key.recipient)\n")
        #expect(recipient.publicKey.count == 32)
        #expect(recipient.encoded == key.recipient)
        #expect(try AgeRecipient(parsing: key.recipient.uppercased()) == recipient)
    }

    @Test("BIP 173's valid test strings decode")
    func bip173Vectors() throws {
        let short = try Bech32.decode("A12UEL5L")
        #expect(short.hrp == "a" && short.data.isEmpty)
        #expect(try Bech32.decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw").hrp == "abcdef")
        #expect(throws: Bech32.Failure.badChecksum) { try Bech32.decode("a12uel5m") }
    }

    @Test("a recipient that does not start with age1 is refused, naming the prefix")
    func wrongPrefix() throws {
        let text = bech32Encode(hrp: "age-secret-key-", data: randomKey()).uppercased()
        let error = #expect(throws: AgeRecipientError.self) { try AgeRecipient(parsing: text) }
        #expect(error?.problem == .wrongPrefix("age-secret-key-"))
        #expect(error?.recipient == text)
        #expect(error?.description.contains("not 'age1'") == true)
        #expect(error?.description.contains("age-keygen") == true)
    }

    @Test("a mistyped character fails the checksum")
    func badChecksum() throws {
        let good = bech32Encode(hrp: "age", data: randomKey())
        _ = try AgeRecipient(parsing: good)
        var characters = Array(good)
        characters[20] = characters[20] == "q" ? "p" : "q"
        let bad = String(characters)
        let error = #expect(throws: AgeRecipientError.self) { try AgeRecipient(parsing: bad) }
        #expect(error?.problem == .badChecksum)
        #expect(error?.description.contains(bad) == true)
    }

    @Test("a key of another length is refused with its length", arguments: [16, 31, 33])
    func wrongLength(length: Int) throws {
        let text = bech32Encode(hrp: "age", data: Array(randomKey().prefix(length)) + (length > 32 ? [7] : []))
        let error = #expect(throws: AgeRecipientError.self) { try AgeRecipient(parsing: text) }
        #expect(error?.problem == .wrongLength(length))
    }

    @Test("other malformed strings give typed errors", arguments: [
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", AgeRecipientError.Problem.mixedCase),
        ("age1", .notBech32),
        ("Age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", .mixedCase),
        ("age1bqqqqqq", .invalidCharacter("b")),
    ])
    func malformed(text: String, problem: AgeRecipientError.Problem) {
        let error = #expect(throws: AgeRecipientError.self) { try AgeRecipient(parsing: text) }
        #expect(error?.problem == problem)
    }

    @Test("the all-zero point (a low-order key) is refused")
    func lowOrderKey() {
        let error = #expect(throws: AgeRecipientError.self) {
            try AgeRecipient(parsing: bech32Encode(hrp: "age", data: [UInt8](repeating: 0, count: 32)))
        }
        #expect(error?.problem == .unusableKey)
    }

    @Test("a list: comma-separated, blanks ignored, duplicates once, the first bad one named")
    func lists() throws {
        let a = bech32Encode(hrp: "age", data: randomKey())
        let b = bech32Encode(hrp: "age", data: randomKey())
        #expect(try AgeRecipient.parseList("").isEmpty)
        #expect(try AgeRecipient.parseList(" , ").isEmpty)
        #expect(try AgeRecipient.parseList("\(a), \(b),\(a),").map(\.encoded) == [a, b])
        let error = #expect(throws: AgeRecipientError.self) { try AgeRecipient.parseList("\(a),age1nope") }
        #expect(error?.recipient == "age1nope")
    }
}
