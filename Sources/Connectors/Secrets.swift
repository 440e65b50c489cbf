public import Foundation

/// How a secret field is given: as `${ENV_VAR}` (resolved from the environment of the stage
/// that runs the connector), as a file through `<field>_file` (Docker and Kubernetes
/// secrets), or literally. Definitions keep the reference, never the resolved value.
public enum SecretReference {
    public static let fileSuffix = "_file"
    /// What a masked value is printed, logged and served as.
    public static let mask = "********"

    /// `api_key` for `api_key_file`; nil for any other name.
    public static func secretField(ofFileField name: String) -> String? {
        guard name.hasSuffix(fileSuffix), name.count > fileSuffix.count else { return nil }
        return String(name.dropLast(fileSuffix.count))
    }

    /// The environment variable of `${NAME}`, nil for anything else.
    public static func environmentVariable(in text: String) -> String? {
        guard text.hasPrefix("${"), text.hasSuffix("}"), text.count > 3 else { return nil }
        let name = text.dropFirst(2).dropLast()
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { return nil }
        return String(name)
    }

    /// Header names whose values are credentials wherever they appear.
    static func isSensitiveHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        return ["authorization", "cookie", "token", "key", "secret", "password", "auth"].contains { lower.contains($0) }
    }

    /// `values` as it may be shown: literal secrets and credential headers replaced by
    /// `mask`; `${VAR}` references and `_file` paths kept (they name where the secret is,
    /// which an operator needs, not what it is).
    public static func masked(_ values: [String: ConfigValue], schema: ConfigSchema) -> [String: ConfigValue] {
        var shown = values
        for (name, value) in values {
            guard let field = schema.field(named: name) else { continue }
            switch (field.isSecret, field.kind, value) {
            case (true, _, .string(let text)) where environmentVariable(in: text) == nil:
                shown[name] = .string(mask)
            case (_, .stringMap, .object(let members)):
                shown[name] = .object(members.reduce(into: [:]) { result, member in
                    let isReference = member.value.stringValue.flatMap(environmentVariable(in:)) != nil
                    result[member.key] = isSensitiveHeader(member.key) && !isReference ? .string(mask) : member.value
                })
            default:
                break
            }
        }
        return shown
    }
}

/// Resolves secret references when a source is built (never earlier: a definition is stored
/// and shown with its references only).
public struct SecretResolver: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The value of secret field `name`: the content of `<name>_file` (one trailing newline
    /// dropped), the variable `${VAR}` names, or the literal; nil when none is given.
    public func secret(_ name: String, in config: ConnectorConfig) throws(ConnectorError) -> String? {
        if let path = config.string(name + SecretReference.fileSuffix) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw .configuration(connector: config.connector, field: name + SecretReference.fileSuffix,
                                     "cannot read the secret file \(path): \((error as NSError).localizedDescription)")
            }
            var text = String(decoding: data, as: UTF8.self)
            if text.hasSuffix("\r\n") { text.removeLast(1) } else if text.hasSuffix("\n") { text.removeLast() }
            return text
        }
        guard let value = config.string(name) else { return nil }
        return try expand(value, field: name, connector: config.connector)
    }

    /// `value` with a whole-value `${VAR}` replaced by the variable's value.
    public func expand(_ value: String, field: String, connector: String) throws(ConnectorError) -> String {
        guard let variable = SecretReference.environmentVariable(in: value) else { return value }
        guard let resolved = environment[variable], !resolved.isEmpty else {
            throw .configuration(connector: connector, field: field,
                                 "refers to ${\(variable)}, which is not set in the environment of this stage; set it (or give \(field)\(SecretReference.fileSuffix))")
        }
        return resolved
    }
}
