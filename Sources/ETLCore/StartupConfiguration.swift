import Foundation

/// The exit status of every executable that refuses its configuration (the README and the
/// extractor's `--once` help promise 2).
public let badConfigurationExitStatus: Int32 = 2

/// The one way an executable stops on a bad configuration: one line on stderr naming the
/// variable and what to set, then exit 2, before anything has started.
public func exitOnBadConfiguration(_ error: ConfigurationError) -> Never {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(badConfigurationExitStatus)
}

/// Reads an executable's configuration once, at start, from the environment and `.env`.
public func loadConfigurationOrExit<Configuration: ExecutableConfiguration>(
    _ type: Configuration.Type = Configuration.self
) -> Configuration {
    do {
        return try Configuration(try ConfigurationSource.load())
    } catch {
        exitOnBadConfiguration(error)
    }
}

/// Builds what a setting's value names (a CSV to parse, a Redis endpoint) and treats a
/// failure as a bad value of that setting, so it ends like every other bad value; the
/// failure's own message follows `expected`.
public func requireValid<Value, Result>(
    _ setting: Setting<Value>, _ value: String, expected: String, _ make: () throws -> Result
) -> Result {
    do {
        return try make()
    } catch {
        exitOnBadConfiguration(.invalid(variable: setting.name, value: setting.shown(value), expected: "\(expected) (\(error))"))
    }
}

/// What `--print-configuration` prints: a `.env` of the values the executable resolves
/// (environment, then `.env`, then the defaults), each under its documentation. A variable
/// left to its default is commented out, so the output says what was set. Values are shown
/// as read, before validation, so a stage whose required secret is missing still lists it.
public func configurationListing(
    of variables: [any ConfigurationVariable], from source: ConfigurationSource, revealingSecrets: Bool = false
) -> String {
    var lines = ["# Resolved from the environment, then .env, then the defaults; defaults are commented out."]
    for variable in variables {
        let set = source.text(of: variable)
        let shown = revealingSecrets ? set : set.map(variable.shown)
        switch (shown, variable.fallback) {
        case (let value?, _):
            lines += ["# \(variable.name): \(variable.documentation)", "\(variable.name)=\(value)"]
        case (nil, .text(let defaultText)):
            lines += ["# \(variable.name): \(variable.documentation)", "#\(variable.name)=\(defaultText)"]
        case (nil, .required):
            lines += ["# \(variable.name): \(variable.documentation) (required, not set)", "#\(variable.name)="]
        }
    }
    return lines.joined(separator: "\n") + "\n"
}
