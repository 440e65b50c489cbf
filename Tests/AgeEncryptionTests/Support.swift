@testable import AgeEncryption
import Foundation
import TestSupport

/// A key pair made by Debian's `age-keygen`: the identity file `age -d -i` reads, and the
/// recipient it prints with `-y`.
struct AgeKey {
    let identityPath: String
    let recipient: String

    static func generate(in directory: URL, name: String) async throws -> AgeKey {
        let path = directory.appendingPathComponent("\(name).txt").path
        try await TestEnvironment.run(try TestEnvironment.executable("age-keygen"), ["-o", path])
        let recipient = try await TestEnvironment.run(try TestEnvironment.executable("age-keygen"), ["-y", path])
        return AgeKey(identityPath: path, recipient: recipient.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

enum Age {
    /// `age -d -i identity -o output input`; throws (with age's message) when it exits non-zero.
    /// `age` opens its output only when it has something to write, so an empty plaintext
    /// would leave no file: the output starts as an empty file, truncated by `age` otherwise.
    static func decrypt(_ input: String, identity: String, to output: String) async throws {
        FileManager.default.createFile(atPath: output, contents: Data())
        try await TestEnvironment.run(try TestEnvironment.executable("age"), ["-d", "-i", identity, "-o", output, input])
    }

    /// What `age` itself writes for the same recipients: the size oracle for our formula.
    static func encrypt(_ input: String, recipients: [String], to output: String) async throws {
        let arguments = recipients.flatMap { ["-r", $0] } + ["-o", output, input]
        try await TestEnvironment.run(try TestEnvironment.executable("age"), arguments)
    }
}

/// Encrypts a file to a file through the streaming API. The reader hands out irregular short
/// reads (never more than `maximumRead`), so chunks are assembled from several reads, as they
/// are from a socket or a pipe.
func encryptFile(_ input: String, to output: String, with encryptor: AgeEncryptor, maximumRead: Int = 40_000) throws {
    let reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
    defer { try? reader.close() }
    FileManager.default.createFile(atPath: output, contents: nil)
    let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    defer { try? writer.close() }
    var readNumber = 0
    try encryptor.encrypt(
        read: { buffer in
            readNumber += 1
            let limit = min(buffer.count, readNumber % 3 == 0 ? 1_000 : maximumRead)
            let data = try reader.read(upToCount: limit) ?? Data()
            return data.copyBytes(to: buffer)
        },
        write: { bytes in try writer.write(contentsOf: Data(bytes)) })
}

/// `count` random bytes written to `path` (random so a misplaced or repeated chunk shows).
@discardableResult
func writeRandomFile(_ path: String, count: Int) throws -> Data {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    for index in bytes.indices { bytes[index] = generator.next() }
    let data = Data(bytes)
    try data.write(to: URL(fileURLWithPath: path))
    return data
}

/// Bech32 encoding, for recipients with a valid checksum but the wrong prefix or length.
func bech32Encode(hrp: String, data: [UInt8]) -> String {
    var values: [UInt8] = []
    var accumulator: UInt32 = 0
    var bits = 0
    for byte in data {
        accumulator = (accumulator << 8 | UInt32(byte)) & 0xffff
        bits += 8
        while bits >= 5 {
            bits -= 5
            values.append(UInt8((accumulator >> UInt32(bits)) & 31))
        }
    }
    if bits > 0 { values.append(UInt8((accumulator << UInt32(5 - bits)) & 31)) }
    let checksum = Bech32.polymod(Bech32.expand(Array(hrp.utf8)) + values + [0, 0, 0, 0, 0, 0]) ^ 1
    let checksumValues = (0..<6).map { UInt8((checksum >> UInt32(5 * (5 - $0))) & 31) }
    return hrp + "1" + String(decoding: (values + checksumValues).map { Bech32.alphabet[Int($0)] }, as: UTF8.self)
}
