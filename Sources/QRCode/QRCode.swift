/// A QR code (ISO/IEC 18004) holding one byte-mode segment: the UTF-8 bytes of a text.
///
/// Made for short secrets shown once, such as an `otpauth://` URI a phone scans from a
/// terminal, so it favours plain code over speed: the symbol is the smallest version (1–40)
/// that fits the bytes at the chosen error-correction level, and its mask is the one of the
/// eight with the lowest penalty under the standard's four rules.
public struct QRCode: Sendable {
    /// How much of the symbol may be damaged and still decode: about 7, 15, 25 and 30 percent.
    public enum ErrorCorrection: Sendable, CaseIterable {
        case low, medium, quartile, high
    }

    /// The version, 1–40: the symbol is `17 + 4 × version` modules on a side.
    public let version: Int
    public let errorCorrection: ErrorCorrection
    /// The data mask, 0–7, the one the penalty rules chose.
    public let mask: Int
    /// Modules on a side, without any quiet zone.
    public let size: Int
    /// Row-major, `true` for a dark module.
    private let modules: [Bool]

    /// Encodes `text` as UTF-8 in byte mode, in the smallest version that holds it.
    /// Throws `QRCodeError.textTooLong` when even version 40 is too small at this level.
    public init(text: String, errorCorrection: ErrorCorrection = .medium) throws(QRCodeError) {
        try self.init(bytes: Array(text.utf8), errorCorrection: errorCorrection)
    }

    /// Encodes raw bytes in byte mode (the text initializer's UTF-8 bytes, or any binary payload).
    public init(bytes: [UInt8], errorCorrection: ErrorCorrection = .medium) throws(QRCodeError) {
        try self.init(bytes: bytes, errorCorrection: errorCorrection, minimumVersion: 1, forcedMask: nil)
    }

    /// The tests' entry point: a larger version than needed, or a given mask, to reproduce
    /// another encoder's symbol exactly.
    init(bytes: [UInt8], errorCorrection: ErrorCorrection, minimumVersion: Int, forcedMask: Int?) throws(QRCodeError) {
        guard let version = SymbolVersion.smallest(holding: bytes.count, at: errorCorrection, from: minimumVersion) else {
            throw .textTooLong(
                byteCount: bytes.count,
                maximumByteCount: SymbolVersion(40).byteCapacity(at: errorCorrection),
                errorCorrection: errorCorrection)
        }
        let data = DataCodewords.encode(bytes, version: version, errorCorrection: errorCorrection)
        let codewords = ErrorCorrectionBlocks.interleavedCodewords(data: data, version: version, errorCorrection: errorCorrection)
        var unmasked = ModuleMatrix(version: version)
        unmasked.placeCodewords(codewords)
        let (mask, matrix) = MaskPattern.choose(for: unmasked, errorCorrection: errorCorrection, forcing: forcedMask)

        self.version = version.number
        self.errorCorrection = errorCorrection
        self.mask = mask.rawValue
        self.size = matrix.size
        self.modules = matrix.dark
    }

    /// Whether the module at column `x`, row `y` (both from 0 at the top left) is dark.
    /// Coordinates outside the symbol read as light, as the quiet zone around it is.
    public subscript(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }
}

/// Why a text cannot be encoded.
public enum QRCodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The UTF-8 bytes do not fit in version 40 at this error-correction level (2953 bytes at
    /// `.low`, 2331 at `.medium`, 1663 at `.quartile`, 1273 at `.high`).
    case textTooLong(byteCount: Int, maximumByteCount: Int, errorCorrection: QRCode.ErrorCorrection)

    public var description: String {
        switch self {
        case let .textTooLong(byteCount, maximum, level):
            "text of \(byteCount) UTF-8 bytes does not fit in a QR code: at most \(maximum) bytes with \(level) error correction"
        }
    }
}
