#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens the TCP connection libssh2 runs over. We connect ourselves because libssh2 has no
/// connect timeout: a non-blocking connect bounded by poll() turns a black-holed host into a
/// prompt error instead of a multi-minute kernel timeout.
enum TCPConnector {
    /// Returns a connected, blocking socket; tries every resolved address in turn.
    static func connect(host: String, port: Int, timeoutSeconds: Double, address: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let results else {
            throw SFTPError.connectionFailed(
                address: address, reason: "cannot resolve host: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }

        var lastReason = "no usable address"
        var candidate: UnsafeMutablePointer<addrinfo>? = results
        while let info = candidate {
            switch connectOne(info.pointee, timeoutSeconds: timeoutSeconds) {
            case .success(let descriptor): return descriptor
            case .failure(let reason): lastReason = reason.text
            }
            candidate = info.pointee.ai_next
        }
        throw SFTPError.connectionFailed(address: address, reason: lastReason)
    }

    struct Reason: Error { let text: String }

    private static func connectOne(_ info: addrinfo, timeoutSeconds: Double) -> Result<Int32, Reason> {
        let descriptor = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        guard descriptor >= 0 else { return .failure(Reason(text: errnoText("socket"))) }
        do {
            try setNonBlocking(descriptor, true)
            if Glibc.connect(descriptor, info.ai_addr, info.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else { throw Reason(text: errnoText("connect")) }
                try waitUntilConnected(descriptor, timeoutSeconds: timeoutSeconds)
            }
            // libssh2 runs in blocking mode and bounds its own waits with libssh2_session_set_timeout.
            try setNonBlocking(descriptor, false)
            return .success(descriptor)
        } catch {
            close(descriptor)
            return .failure(error as? Reason ?? Reason(text: "\(error)"))
        }
    }

    private static func waitUntilConnected(_ descriptor: Int32, timeoutSeconds: Double) throws {
        var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        let milliseconds = Int32(max(1, min(timeoutSeconds * 1000, Double(Int32.max))))
        var ready: Int32
        repeat { ready = poll(&entry, 1, milliseconds) } while ready < 0 && errno == EINTR
        if ready == 0 { throw Reason(text: "connect timed out after \(timeoutSeconds) s") }
        if ready < 0 { throw Reason(text: errnoText("poll")) }
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else {
            throw Reason(text: errnoText("getsockopt"))
        }
        if socketError != 0 { throw Reason(text: String(cString: strerror(socketError))) }
    }

    private static func setNonBlocking(_ descriptor: Int32, _ enabled: Bool) throws {
        let flags = fcntl(descriptor, F_GETFL, 0)
        let updated = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        guard flags >= 0, fcntl(descriptor, F_SETFL, updated) == 0 else { throw Reason(text: errnoText("fcntl")) }
    }

    private static func errnoText(_ call: String) -> String {
        "\(call): \(String(cString: strerror(errno)))"
    }
}
