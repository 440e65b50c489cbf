/// What went wrong managing accounts and tokens; each message says what to do.
public enum AccessError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidPassword(String)
    case accountExists(String)
    case accountNotFound(String)
    case tokenExists(String)
    case tokenNotFound(String)
    /// Redis (sessions, failure counts, the audit log) could not be reached.
    case sessionStoreUnavailable(String)

    public var description: String {
        switch self {
        case .invalidName(let reason): return reason
        case .invalidPassword(let reason): return reason
        case .accountExists(let name): return "an account named '\(name)' already exists (etlctl users reset \(name) gives it a new password and code)"
        case .accountNotFound(let name): return "no account is named '\(name)' (etlctl users list shows them)"
        case .tokenExists(let name): return "a token named '\(name)' already exists (revoke it first, or choose another name)"
        case .tokenNotFound(let name): return "no active token is named '\(name)' (etlctl tokens list shows them)"
        case .sessionStoreUnavailable(let reason): return "the session store (REDIS_URL) is unavailable: \(reason)"
        }
    }
}

/// Account and token names: what a person can type, log and put in a URI label.
public enum AccessName {
    public static let allowed = "1 to 64 letters, digits, '.', '_', '-' or '@'"

    public static func check(_ name: String, kind: String) throws(AccessError) {
        let valid = (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "@")
        }
        guard valid else { throw .invalidName("a \(kind) name must be \(allowed); '\(name)' is not") }
    }
}
