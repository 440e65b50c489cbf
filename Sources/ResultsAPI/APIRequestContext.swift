public import Hummingbird
public import NIOCore

/// The api's request context: Hummingbird's core storage plus the client's address, which
/// login throttling and the audit log key on.
public struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The address as the audit log writes it; "unknown" where there is no socket (tests that
    /// call the router directly).
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
