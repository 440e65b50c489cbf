/// The address-format check behind `invalid_email`, written by hand (no regular expressions).
///
/// An address is `local@domain` with exactly one `@`:
/// - **local part**: non-empty, at most 64 UTF-8 bytes, no whitespace or control characters,
///   no leading, trailing or doubled `.`. Non-ASCII letters are allowed (RFC 6531 addresses
///   such as `josé@example.com` are valid).
/// - **domain**: at most 253 bytes, at least two dot-separated labels; every label is 1–63
///   ASCII letters, digits or hyphens and neither starts nor ends with a hyphen; the last label
///   (the TLD) is at least two ASCII letters. Internationalized domains must therefore be in
///   their ASCII (punycode, `xn--…`) form: `user@bücher.de` is invalid.
public enum EmailAddress {
    /// Nil when `text` is a valid address, otherwise why not (for the DLQ message).
    public static func problem(in text: String) -> String? {
        let utf8 = text.utf8
        guard !utf8.isEmpty else { return "it is empty" }
        var atIndex: String.UTF8View.Index?
        for index in utf8.indices where utf8[index] == UInt8(ascii: "@") {
            guard atIndex == nil else { return "it has more than one '@'" }
            atIndex = index
        }
        guard let atIndex else { return "it has no '@'" }
        let local = text[..<atIndex]
        let domain = utf8[utf8.index(after: atIndex)...]

        if let problem = localPartProblem(local) { return problem }
        return domainProblem(domain)
    }

    public static func isValid(_ text: String) -> Bool { problem(in: text) == nil }

    private static func localPartProblem(_ local: Substring) -> String? {
        guard !local.isEmpty else { return "the part before '@' is empty" }
        guard local.utf8.count <= 64 else { return "the part before '@' is longer than 64 bytes" }
        var previousWasDot = false
        for scalar in local.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                // ASCII fast path: no Unicode property lookups for the common case.
                if value == 0x20 || (0x09...0x0D).contains(value) { return "it contains whitespace" }
                if value < 0x20 || value == 0x7F { return "it contains a control character" }
            } else {
                if scalar.properties.isWhitespace { return "it contains whitespace" }
                if value <= 0x9F { return "it contains a control character" }
            }
            let isDot = value == 0x2E
            if isDot && previousWasDot { return "the part before '@' contains '..'" }
            previousWasDot = isDot
        }
        if local.utf8.first == UInt8(ascii: ".") || local.utf8.last == UInt8(ascii: ".") {
            return "the part before '@' starts or ends with '.'"
        }
        return nil
    }

    private static func domainProblem(_ domain: Substring.UTF8View) -> String? {
        guard !domain.isEmpty else { return "the domain is empty" }
        guard domain.count <= 253 else { return "the domain is longer than 253 bytes" }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return "the domain has no '.'" }
        for label in labels {
            guard !label.isEmpty else { return "the domain has an empty label" }
            guard label.count <= 63 else { return "a domain label is longer than 63 characters" }
            for byte in label where !(isASCIILetter(byte) || isASCIIDigit(byte) || byte == UInt8(ascii: "-")) {
                if byte == 0x20 || byte == 0x09 { return "it contains whitespace" }
                return "the domain may only contain ASCII letters, digits, '-' and '.'"
            }
            if label.first == UInt8(ascii: "-") || label.last == UInt8(ascii: "-") {
                return "a domain label starts or ends with '-'"
            }
        }
        let topLevel = labels[labels.count - 1]
        guard topLevel.count >= 2, topLevel.allSatisfy(isASCIILetter) else {
            return "the top-level domain must be at least two letters"
        }
        return nil
    }

    @inline(__always) private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    @inline(__always) private static func isASCIIDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
