public import ETLCore
public import Foundation

/// What a connector run's files hold: the connector that made them, the dataset they feed
/// and the contract their records must meet. The extractor writes it beside the raw file
/// before the raw file gets its final name, so the transformer and the saver read the
/// contract the run was extracted under, whatever happens to the connector since. A run
/// without a manifest is a run of the built-in users source.
public struct RunManifest: Codable, Sendable, Equatable {
    public var sourceID: Int64
    public var connector: String
    public var dataset: String
    /// nil: every record that parses is valid.
    public var contract: Contract?

    public init(sourceID: Int64, connector: String, dataset: String, contract: Contract?) {
        self.sourceID = sourceID
        self.connector = connector
        self.dataset = dataset
        self.contract = contract
    }

    enum CodingKeys: String, CodingKey {
        case sourceID = "source_id", connector, dataset, contract
    }

    /// The dataset of today's tables (`processed_users`, `invalid_users`).
    public static let usersDataset = "users"

    /// A dataset name is a table name's stem: lower-case letters, digits and `_`, starting
    /// with a letter, at most 40 characters.
    public static func datasetProblem(_ name: String) -> String? {
        let valid = name.utf8.count <= 40 && name.first.map { $0.isASCII && $0.isLowercase } == true
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
        return valid ? nil : "a dataset name is 1 to 40 lower-case letters, digits or _, starting with a letter (got \"\(name)\")"
    }

    /// The table a dataset other than users lands in (made by the saver, read by the api).
    public static func tableName(ofDataset dataset: String) -> String { "dataset_" + dataset }

    /// The manifest of `files`' run, nil when it has none (the built-in users source).
    public static func read(_ files: RunFiles) throws -> RunManifest? {
        guard FileManager.default.fileExists(atPath: files.manifest.path) else { return nil }
        return try JSONDecoder().decode(RunManifest.self, from: Data(contentsOf: files.manifest))
    }

    public func write(to files: RunFiles) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: files.manifest, options: .atomic)
    }
}
