/// Personal data the API never serves in clear, whatever the table or the depth of the field.
///
/// - `password`, `ip`, `macAddress`: replaced by `"[redacted]"` (even a suffix of a password
///   or an address is too much, and nobody needs one to recognise a record);
/// - `ssn`, `ein`, `cardNumber`, `iban`, `wallet`: masked to their last 4 characters
///   (`"****1234"`, what a support desk uses to recognise a card) when the value has at least
///   12 characters; shorter values are redacted entirely, since 4 characters would be too
///   large a share of them;
/// - a sensitive key holding a number, an object or an array is redacted whole.
///
/// Keys are matched case-insensitively, at any depth, inside arrays too.
enum PersonalData {
    static let redacted = "[redacted]"
    static let maskedSuffixLength = 4
    static let minimumLengthToKeepSuffix = 12

    static let redactedKeys: Set<String> = ["password", "ip", "macaddress"]
    static let maskedKeys: Set<String> = ["ssn", "ein", "cardnumber", "iban", "wallet"]

    static func isSensitive(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return redactedKeys.contains(lowered) || maskedKeys.contains(lowered)
    }

    /// `node` with every sensitive member masked.
    static func sanitized(_ node: JSONNode) -> JSONNode {
        switch node {
        case .object(let members):
            .object(members.map { name, value in (name, sanitizedMember(name, value)) })
        case .array(let elements):
            .array(elements.map(sanitized))
        default:
            node
        }
    }

    private static func sanitizedMember(_ name: String, _ value: JSONNode) -> JSONNode {
        let lowered = name.lowercased()
        if redactedKeys.contains(lowered) { return value == .null ? .null : .string(redacted) }
        if maskedKeys.contains(lowered) {
            switch value {
            case .null: return .null
            case .string(let text): return .string(masked(text))
            default: return .string(redacted)
            }
        }
        return sanitized(value)
    }

    /// `****` and the last 4 characters, or `[redacted]` for a value too short to show any.
    static func masked(_ text: String) -> String {
        guard text.count >= minimumLengthToKeepSuffix else { return redacted }
        return "****" + text.suffix(maskedSuffixLength)
    }
}
