import ETLCore
import Foundation
import GRDB

/// The saver's failures by cause: what SQLite, the loader and the files say.
enum SaverFailures {
    static func classify(_ error: any Error) -> FailureReason {
        FailureReason.classify(error) { error in
            if let error = error as? DatabaseError { return reason(of: error.resultCode) }
            if error is LoadingError { return FailureReason(.transient, "input_missing") }
            return nil
        }
    }

    /// SQLite result codes: a full disk, I/O, locks and permissions pass; a corrupt database
    /// file needs the operator (restore it, then `saver --retry-failed`).
    static func reason(of code: ResultCode) -> FailureReason {
        switch code.primaryResultCode {
        case .SQLITE_FULL: FailureReason(.transient, "disk_full")
        case .SQLITE_IOERR: FailureReason(.transient, "io_error")
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH, .SQLITE_PROTOCOL:
            FailureReason(.transient, "database_unavailable")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: FailureReason(.permanent, "database_corrupt")
        default: FailureReason(.transient, "database_error")
        }
    }
}
