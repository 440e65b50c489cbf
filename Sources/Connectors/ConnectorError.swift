/// Why a connector could not check, discover or run. The kind tells the operator where to
/// look; the message names the connector, the object (URL, file, table) and the position
/// (page, line, byte, row) where that helps.
public struct ConnectorError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// The definition itself is wrong (a missing or bad field, an unresolvable secret).
        case configuration
        /// The source could not be reached (DNS, refused, TLS, timeout).
        case connection
        /// The source refused the credentials.
        case authentication
        /// The source is reachable but the object is not there (404, no file, no table).
        case notFound = "not_found"
        /// A read failed part-way: a bad body, a malformed row, an undecodable byte, a query error.
        case fetch
    }

    public let kind: Kind
    public var connector: String
    public var object: String?
    public var position: String?
    public let message: String

    public init(_ kind: Kind, connector: String, object: String? = nil, position: String? = nil, _ message: String) {
        self.kind = kind
        self.connector = connector
        self.object = object
        self.position = position
        self.message = message
    }

    /// `connection error in connector "shop": https://x/items page 3: connection refused`
    public var description: String {
        var text = "\(kind.rawValue) error in connector \"\(connector)\""
        if let object { text += ": \(object)" }
        if let position { text += (object == nil ? ": " : " ") + position }
        return text + ": \(message)"
    }

    public static func configuration(connector: String, field: String, _ message: String) -> ConnectorError {
        ConnectorError(.configuration, connector: connector, object: "field \(field)", message)
    }
}
