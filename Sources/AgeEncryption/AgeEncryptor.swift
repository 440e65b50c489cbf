import Crypto

/// Encrypts one file in the age v1 format to X25519 recipients, as a stream: the header,
/// a 16-byte nonce, then the payload in 64 KiB ChaCha20-Poly1305 chunks (STREAM). Memory is
/// two chunk buffers whatever the file's size.
///
/// One encryptor is one file: it holds that file's random file key, and age requires a fresh
/// file key (and so a fresh header) for every file.
public struct AgeEncryptor: Sendable {
    /// Plaintext bytes per payload chunk (the spec's 64 KiB).
    public static let chunkSize = 64 * 1024
    /// Poly1305 tag per chunk.
    public static let tagSize = 16
    /// Random bytes between header and payload, the salt of the payload key.
    public static let nonceSize = 16

    public let recipients: [AgeRecipient]
    /// The complete header, MAC line included.
    public let header: [UInt8]
    /// Bytes rather than a `SymmetricKey`, which is not `Sendable`: an encryptor is made on
    /// the saver's task and used on the SFTP executor's thread.
    private let fileKey: [UInt8]

    public init(recipients: [AgeRecipient]) throws(AgeEncryptionError) {
        guard !recipients.isEmpty else { throw .noRecipients }
        self.recipients = recipients
        let key = SymmetricKey(size: .init(bitCount: 128))
        fileKey = key.withUnsafeBytes { Array($0) }
        do {
            header = try AgeHeader(fileKey: key, recipients: recipients).bytes
        } catch {
            throw .crypto("\(error)")
        }
    }

    /// Payload chunks for a plaintext of `size` bytes: an empty file is one empty final chunk,
    /// and a file of whole chunks ends with a full final chunk (no empty one after it).
    public static func chunkCount(plaintextSize size: UInt64) -> UInt64 {
        size == 0 ? 1 : (size + UInt64(chunkSize) - 1) / UInt64(chunkSize)
    }

    /// The encrypted file's size for a plaintext of `size` bytes, known before encrypting, so
    /// an upload can be size-checked without reading the file twice.
    public func encryptedSize(plaintextSize size: UInt64) -> UInt64 {
        UInt64(header.count) + UInt64(Self.nonceSize) + size + UInt64(Self.tagSize) * Self.chunkCount(plaintextSize: size)
    }

    /// Encrypts what `read` yields until it returns 0 (end of input), handing the encrypted
    /// bytes to `write` in order: the header and nonce first, then one call per chunk.
    /// `read` fills as much of the buffer it is given as it likes; short reads are fine.
    public func encrypt(
        read: (UnsafeMutableRawBufferPointer) throws -> Int,
        write: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let nonce = (0..<Self.nonceSize).map { _ in UInt8.random(in: .min ... .max) }
        try (header + nonce).withUnsafeBytes(write)
        let payloadKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: fileKey), salt: nonce, info: Array("payload".utf8), outputByteCount: 32)
        // Two buffers: a full chunk is the last one only if nothing follows it, so the
        // next chunk is read before the current one is sealed.
        var current = [UInt8](repeating: 0, count: Self.chunkSize)
        var next = [UInt8](repeating: 0, count: Self.chunkSize)
        var currentCount = try Self.fill(&current, from: read)
        var counter: UInt64 = 0
        while true {
            var nextCount = 0
            if currentCount == Self.chunkSize { nextCount = try Self.fill(&next, from: read) }
            let last = nextCount == 0
            let sealed = try ChaChaPoly.seal(
                current[0..<currentCount], using: payloadKey, nonce: Self.chunkNonce(counter: counter, last: last))
            try (Array(sealed.ciphertext) + Array(sealed.tag)).withUnsafeBytes(write)
            if last { return }
            swap(&current, &next)
            currentCount = nextCount
            counter += 1
        }
    }

    /// Reads until the buffer is full or the input ends; returns the bytes read.
    static func fill(_ buffer: inout [UInt8], from read: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try buffer.withUnsafeMutableBytes { try read(UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// STREAM's nonce: an 11-byte big-endian chunk counter, then 1 for the last chunk, else 0.
    static func chunkNonce(counter: UInt64, last: Bool) throws -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[10 - index] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(index))) }
        bytes[11] = last ? 1 : 0
        return try ChaChaPoly.Nonce(data: bytes)
    }
}

/// Why an encryptor could not be made.
public enum AgeEncryptionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// age needs at least one recipient; without any, a file is not encrypted at all.
    case noRecipients
    /// swift-crypto refused a key agreement or a seal (a recipient key it rejects).
    case crypto(String)

    public var description: String {
        switch self {
        case .noRecipients: "age encryption needs at least one recipient"
        case .crypto(let reason): "age encryption failed: \(reason)"
        }
    }
}
