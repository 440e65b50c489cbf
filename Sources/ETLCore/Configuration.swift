import Foundation

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

/// The merged view of `.env` (in the working directory, when present) and the process
/// environment; the environment wins. Values are read once, at start, into typed structs.
public struct ConfigurationSource: Sendable {
    public let values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    /// Loads `.env` from `directory` (if it exists) under the given environment.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        dotEnvPath: String = ".env"
    ) throws -> ConfigurationSource {
        var merged: [String: String] = [:]
        if FileManager.default.fileExists(atPath: dotEnvPath) {
            let text: String
            do {
                text = try String(contentsOfFile: dotEnvPath, encoding: .utf8)
            } catch {
                throw ConfigurationError.unreadableFile(path: dotEnvPath, reason: "\(error)")
            }
            merged = try DotEnv.parse(text, path: dotEnvPath)
        }
        merged.merge(environment) { _, fromEnvironment in fromEnvironment }
        return ConfigurationSource(values: merged)
    }

    // MARK: Typed readers. An empty value counts as unset, so defaults apply.

    public func string(_ name: String, default fallback: String) -> String {
        value(name) ?? fallback
    }

    public func optionalString(_ name: String) -> String? {
        value(name)
    }

    public func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let raw = value(name) else { return fallback }
        guard let parsed = Int(raw), range.contains(parsed) else {
            throw ConfigurationError.invalid(
                variable: name, value: raw, expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }

    public func double(_ name: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let raw = value(name) else { return fallback }
        guard let parsed = Double(raw), parsed.isFinite, range.contains(parsed) else {
            throw ConfigurationError.invalid(
                variable: name, value: raw, expected: "a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }

    public func bool(_ name: String, default fallback: Bool) throws -> Bool {
        guard let raw = value(name) else { return fallback }
        switch raw.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            throw ConfigurationError.invalid(variable: name, value: raw, expected: "true or false")
        }
    }

    public func url(_ name: String, default fallback: String, schemes: Set<String>) throws -> URL {
        let raw = value(name) ?? fallback
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), schemes.contains(scheme),
            url.host != nil
        else {
            throw ConfigurationError.invalid(
                variable: name, value: raw,
                expected: "an absolute URL with scheme \(schemes.sorted().joined(separator: " or "))")
        }
        return url
    }

    public func logLevel(_ name: String = "LOG_LEVEL", default fallback: LogLevelSetting = .info) throws -> LogLevelSetting {
        guard let raw = value(name) else { return fallback }
        guard let level = LogLevelSetting(rawValue: raw.lowercased()) else {
            throw ConfigurationError.invalid(
                variable: name, value: raw,
                expected: "one of " + LogLevelSetting.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return level
    }

    private func value(_ name: String) -> String? {
        guard let raw = values[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        return raw
    }
}

public enum LogLevelSetting: String, CaseIterable, Sendable {
    case trace, debug, info, notice, warning, error, critical
}

/// A minimal `.env` parser: `KEY=VALUE`, optional `export `, `#` comments, single or
/// double quotes. Anything else is an error naming the line, never silently skipped.
public enum DotEnv {
    public static func parse(_ text: String, path: String = ".env") throws -> [String: String] {
        var result: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError.unreadableFile(
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
