import Foundation

/// Reads a stage's configuration once at start. A bad value stops the process with one
/// line naming the variable (exit 2), before anything is started.
public func loadConfigurationOrExit<Configuration>(_ read: (ConfigurationSource) throws -> Configuration) -> Configuration {
    do {
        return try read(try ConfigurationSource.load())
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(2)
    }
}
