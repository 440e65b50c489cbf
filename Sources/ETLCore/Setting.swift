public import Foundation

/// One configuration variable, declared once: its name, its default (as an operator writes
/// it in `.env`), a line of documentation, whether it is a secret, and how its text becomes
/// a typed value. The stages' configuration structs read settings, `--print-configuration`
/// prints them, and `ConfigurationSurfaceTests` checks the README table and `.env.example`
/// against them.
public struct Setting<Value: Sendable>: ConfigurationVariable {
    public let name: String
    public let fallback: SettingFallback
    public let documentation: String
    /// Hides the value wherever it is shown (errors, `--print-configuration`); nil for plain values.
    let mask: (@Sendable (String) -> String)?
    let parse: @Sendable (String) throws(SettingExpectation) -> Value

    public init(
        _ name: String, default fallback: SettingFallback, _ documentation: String,
        mask: (@Sendable (String) -> String)? = nil,
        parse: @escaping @Sendable (String) throws(SettingExpectation) -> Value
    ) {
        self.name = name
        self.fallback = fallback
        self.documentation = documentation
        self.mask = mask
        self.parse = parse
    }

    public var isSecret: Bool { mask != nil }

    public func shown(_ text: String) -> String {
        guard let mask, !text.isEmpty else { return text }
        return mask(text)
    }

    /// The default as a typed value, for code that builds a configuration without reading
    /// one (tests, memberwise initialisers). `ConfigurationTests` checks that every default parses.
    public var defaultValue: Value {
        guard case .text(let text) = fallback else { preconditionFailure("\(name) has no default") }
        do {
            return try parse(text)
        } catch {
            preconditionFailure("the default of \(name), '\(text)', is not \(error.expected)")
        }
    }

    public func check(_ text: String) throws(ConfigurationError) {
        _ = try value(from: text.isEmpty ? nil : text)
    }

    /// Parses `text` (nil when unset or empty), falling back to the default.
    func value(from text: String?) throws(ConfigurationError) -> Value {
        let resolved: String
        switch (text, fallback) {
        case (let text?, _): resolved = text
        case (nil, .text(let defaultText)): resolved = defaultText
        case (nil, .required(let expected)): throw .missing(variable: name, expected: expected)
        }
        do {
            return try parse(resolved)
        } catch {
            throw .invalid(variable: name, value: shown(resolved), expected: error.expected)
        }
    }
}

/// What a variable falls back to when it is unset or empty.
public enum SettingFallback: Sendable, Equatable {
    /// The default, written as in `.env` (empty for optional values).
    case text(String)
    /// No default: the process refuses to start and says what to set.
    case required(expected: String)

    public var documentedText: String? {
        guard case .text(let text) = self else { return nil }
        return text
    }
}

/// Why a text is not a valid value: completes "expected …" in the error message.
public struct SettingExpectation: Error, Sendable {
    public let expected: String

    public init(_ expected: String) {
        self.expected = expected
    }
}

/// A variable without its value type, for the lists the executables print and the tests check.
public protocol ConfigurationVariable: Sendable {
    var name: String { get }
    var fallback: SettingFallback { get }
    var documentation: String { get }
    var isSecret: Bool { get }
    /// The text as it may be shown: masked when the variable is a secret.
    func shown(_ text: String) -> String
    /// Throws the error a process would stop with if `text` were set.
    func check(_ text: String) throws(ConfigurationError)
}

/// A variable that Docker Compose or the image's entry point reads, but no Swift code:
/// declared here so the README table and `.env.example` are checked against it too.
public struct DeploymentVariable: ConfigurationVariable {
    public let name: String
    public let fallback: SettingFallback
    public let documentation: String
    public var isSecret: Bool { false }

    public init(_ name: String, default fallback: SettingFallback, _ documentation: String) {
        self.name = name
        self.fallback = fallback
        self.documentation = documentation
    }

    public func shown(_ text: String) -> String { text }

    /// Compose and the entry point check these themselves.
    public func check(_ text: String) throws(ConfigurationError) {}
}

// MARK: Kinds of settings: each parse says in its expectation what a valid value looks like.

extension Setting where Value == String {
    /// Any text; the default applies when it is empty.
    public static func text(_ name: String, default text: String, _ documentation: String) -> Setting {
        Setting(name, default: .text(text), documentation) { $0 }
    }
}

extension Setting where Value == String? {
    /// A secret that may be left unset (nil).
    public static func optionalSecret(_ name: String, _ documentation: String) -> Setting {
        Setting(name, default: .text(""), documentation, mask: hiddenLength) { $0.isEmpty ? nil : $0 }
    }
}

extension Setting where Value == URL {
    /// A file or directory; relative paths are relative to the working directory.
    public static func path(_ name: String, default path: String, _ documentation: String) -> Setting {
        Setting(name, default: .text(path), documentation) { URL(fileURLWithPath: $0) }
    }

    /// An absolute URL with one of `schemes` and a host.
    public static func url(_ name: String, default url: String, schemes: Set<String>, _ documentation: String) -> Setting {
        Setting(name, default: .text(url), documentation) { text throws(SettingExpectation) in
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), schemes.contains(scheme),
                url.host != nil
            else {
                throw SettingExpectation("an absolute URL with scheme \(schemes.sorted().joined(separator: " or "))")
            }
            return url
        }
    }
}

extension Setting where Value == Int {
    public static func integer(
        _ name: String, default number: Int, in range: ClosedRange<Int>, _ documentation: String
    ) -> Setting {
        Setting(name, default: .text(String(number)), documentation) { text throws(SettingExpectation) in
            guard let parsed = Int(text), range.contains(parsed) else {
                throw SettingExpectation("an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return parsed
        }
    }
}

extension Setting where Value == Double {
    /// A finite number; the default is written as given, so `.env.example` can say `10`, not `10.0`.
    public static func number(
        _ name: String, default number: String, in range: ClosedRange<Double>, _ documentation: String
    ) -> Setting {
        Setting(name, default: .text(number), documentation) { text throws(SettingExpectation) in
            guard let parsed = Double(text), parsed.isFinite, range.contains(parsed) else {
                throw SettingExpectation("a number from \(range.lowerBound) to \(range.upperBound)")
            }
            return parsed
        }
    }
}

extension Setting where Value == Bool {
    /// `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`, in any case.
    public static func flag(_ name: String, default flag: Bool, _ documentation: String) -> Setting {
        Setting(name, default: .text(String(flag)), documentation) { text throws(SettingExpectation) in
            switch text.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: throw SettingExpectation("true or false")
            }
        }
    }
}

extension Setting where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One of the enumeration's raw values, in any case.
    public static func choice(_ name: String, default choice: Value, _ documentation: String) -> Setting {
        Setting(name, default: .text(choice.rawValue), documentation) { text throws(SettingExpectation) in
            guard let value = Value(rawValue: text.lowercased()) else {
                throw SettingExpectation("one of " + Value.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return value
        }
    }
}

/// How a secret is shown: its length only, so an operator can tell a truncated one.
@Sendable func hiddenLength(_ secret: String) -> String {
    "(\(secret.count) characters, hidden)"
}
