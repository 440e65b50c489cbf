public import ArgumentParser
public import ETLCore

/// The configuration flags of every pipeline executable (`@OptionGroup`), so that each one
/// reads, prints and refuses its configuration the same way.
public struct ConfigurationOptions: ParsableArguments {
    @Flag(help: """
        Print the configuration this executable resolves from the environment, .env and the defaults, \
        as .env lines (defaults commented out, secrets hidden), and exit 0 without validating it.
        """)
    public var printConfiguration = false

    @Flag(help: "With --print-configuration: print secrets too (scripts/local-stack.sh needs the key passphrase).")
    public var revealSecrets = false

    public init() {}

    public func validate() throws {
        if revealSecrets, !printConfiguration {
            throw ValidationError("--reveal-secrets only goes with --print-configuration")
        }
    }

    /// The configuration to run with, read once; nil after `--print-configuration` printed
    /// it (the caller returns). A bad value exits 2 through `exitOnBadConfiguration`.
    public func configurationToRun<Configuration: ExecutableConfiguration>(
        _ type: Configuration.Type
    ) -> Configuration? {
        guard printConfiguration else { return loadConfigurationOrExit(type) }
        do {
            let source = try ConfigurationSource.load()
            print(configurationListing(of: type.settings, from: source, revealingSecrets: revealSecrets), terminator: "")
            return nil
        } catch {
            exitOnBadConfiguration(error)
        }
    }
}
