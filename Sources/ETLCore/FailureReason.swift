import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether the cause of a failure can pass by itself.
///
/// - `transient`: the environment was in the way (a full disk, a permission, the database,
///   SFTP or Redis unavailable). The run is retried when the cause clears: the catch-up scans
///   pick it up again and the ledger lets it move on from `failed`.
/// - `permanent`: the input itself is wrong (a corrupt file). Only an operator retry
///   (`saver --retry RUN_ID`) moves the run on, after the input was fixed.
public enum FailureKind: String, Codable, Sendable, CaseIterable {
    case transient, permanent
}

/// Why a run failed, as recorded in the ledger (`failure_kind`, `failure_code`) and carried by
/// `failed` events.
public struct FailureReason: Sendable, Equatable, CustomStringConvertible {
    public var kind: FailureKind
    /// A stable machine code: `disk_full`, `permission_denied`, `io_error`, `database_unavailable`,
    /// `sftp_unavailable`, `redis_unavailable`, `input_missing`, `corrupt_input`, `unknown`.
    public var code: String

    public init(_ kind: FailureKind, _ code: String) {
        self.kind = kind
        self.code = code
    }

    public var description: String { "\(kind.rawValue) (\(code))" }

    public static let unknown = FailureReason(.transient, "unknown")

    /// The reason of a failure of the operating system (`errno`).
    public static func ofErrno(_ code: Int32) -> FailureReason {
        switch code {
        case ENOSPC, EDQUOT, EFBIG: FailureReason(.transient, "disk_full")
        case EACCES, EPERM, EROFS: FailureReason(.transient, "permission_denied")
        case ENOENT: FailureReason(.transient, "input_missing")
        default: FailureReason(.transient, "io_error")
        }
    }

    /// Classifies the errors every stage shares (file I/O, Foundation's file errors); a stage
    /// adds its own types first (`classify(_:specific:)`). What is not known is transient: a
    /// run must never be parked for good on a guess, and a failure that does not pass just
    /// fails again, visibly, at each retry.
    public static func classify(_ error: any Error, specific: (any Error) -> FailureReason? = { _ in nil }) -> FailureReason {
        if let reason = specific(error) { return reason }
        if let error = error as? any ClassifiedFailure { return error.failureReason }
        if let error = error as? FileIOError {
            switch error {
            case .cannotOpen(_, let code), .readFailed(_, let code), .writeFailed(_, let code), .syncFailed(_, let code),
                .renameFailed(_, _, let code):
                return ofErrno(code)
            }
        }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return ofErrno(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return ofErrno(Int32(underlying.code))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileWriteOutOfSpace: return FailureReason(.transient, "disk_full")
            case .fileWriteNoPermission, .fileReadNoPermission, .fileWriteVolumeReadOnly:
                return FailureReason(.transient, "permission_denied")
            case .fileNoSuchFile, .fileReadNoSuchFile: return FailureReason(.transient, "input_missing")
            case .fileReadCorruptFile, .fileReadInapplicableStringEncoding: return FailureReason(.permanent, "corrupt_input")
            default: break
            }
        }
        return .unknown
    }
}

/// An error that knows whether its cause can pass (adopted by the stages' own error types).
public protocol ClassifiedFailure: Error {
    var failureReason: FailureReason { get }
}
