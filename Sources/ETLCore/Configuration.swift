public import Configuration
public import Foundation

/// A configuration problem found at start-up. The message names the variable and says
/// what it expects, so the operator can fix `.env` or the environment in one go.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case missing(variable: String, expected: String)
    case invalid(variable: String, value: String, expected: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let variable, let expected):
            return "configuration error: \(variable) is not set; expected \(expected). Set it in the environment or in .env."
        case .invalid(let variable, let value, let expected):
            return "configuration error: \(variable)='\(value)' is invalid; expected \(expected). Fix it in the environment or in .env."
        case .unreadableFile(let path, let reason):
            return "configuration error: cannot read \(path): \(reason)"
        }
    }
}

/// Where a process's configuration comes from: the process environment, then `.env` in the
/// working directory when present, through swift-configuration's `ConfigReader`. The
/// environment wins, even with an empty value, and an empty value means "use the default".
///
/// `.env` is parsed by `DotEnv` below, not by `EnvironmentVariablesProvider(environmentFilePath:)`:
/// swift-configuration 1.4's parser keeps `export ` in the key, keeps quotes and trailing
/// `# comments` in the value, and skips a malformed line silently, where this project's
/// `.env` files (and tests) rely on all four. Its parsed values feed a second provider.
public struct ConfigurationSource: Sendable {
    let reader: ConfigReader

    /// One layer of values (tests, or what a caller merged itself).
    public init(values: [String: String], accessReporter: (any AccessReporter)? = nil) {
        self.init(layers: [values], accessReporter: accessReporter)
    }

    /// Layers queried in order: a variable present in an earlier one hides the later ones.
    init(layers: [[String: String]], accessReporter: (any AccessReporter)? = nil) {
        let providers: [any ConfigProvider] = layers.map { values in
            EnvironmentVariablesProvider(environmentVariables: values, secretsSpecifier: .specific(Settings.secretNames))
        }
        reader = ConfigReader(providers: providers, accessReporter: accessReporter)
    }

    /// The environment over the `.env` at `dotEnvPath` (when that file exists).
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        dotEnvPath: String = ".env"
    ) throws(ConfigurationError) -> ConfigurationSource {
        ConfigurationSource(layers: [environment, try DotEnv.load(path: dotEnvPath)])
    }

    /// The value of `setting`, its default when unset or empty.
    public func read<Value>(_ setting: Setting<Value>) throws(ConfigurationError) -> Value {
        try setting.value(from: text(of: setting))
    }

    /// The text set for `variable` (environment or `.env`), trimmed; nil when unset or empty.
    public func text(of variable: some ConfigurationVariable) -> String? {
        let raw = reader.string(forKey: ConfigKey([variable.name]), isSecret: variable.isSecret)
        guard let trimmed = raw?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty else { return nil }
        return trimmed
    }
}

public enum LogLevelSetting: String, CaseIterable, Sendable {
    case trace, debug, info, notice, warning, error, critical
}

/// A minimal `.env` parser: `KEY=VALUE`, optional `export `, `#` comments, single or
/// double quotes. Anything else is an error naming the line, never silently skipped.
public enum DotEnv {
    /// The variables of the file at `path`; none when it does not exist.
    public static func load(path: String) throws(ConfigurationError) -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableFile(path: path, reason: "\(error)")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String = ".env") throws(ConfigurationError) -> [String: String] {
        var result: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)) }
            guard let equals = line.firstIndex(of: "=") else {
                throw .unreadableFile(
                    path: path, reason: "line \(index + 1) is not KEY=VALUE: \(line)")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if let quote = value.first, quote == "\"" || quote == "'", value.count >= 2, value.last == quote {
                value = String(value.dropFirst().dropLast())
            } else if let comment = value.range(of: " #") {
                value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            result[key] = value
        }
        return result
    }
}
