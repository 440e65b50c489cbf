import Foundation

/// A file shipped in this module's resource bundle (`Sources/ResultsAPI/Resources`): the
/// OpenAPI document and the dashboard's page, style sheet and script. SwiftPM installs the
/// bundle next to the executable (`swift-etl-pipeline_ResultsAPI.resources`), so a deployment
/// copies it with the binary.
enum PackagedFile {
    static func bytes(_ name: String) throws(APIDocumentError) -> [UInt8] {
        let file = name as NSString
        guard let url = Bundle.module.url(forResource: file.deletingPathExtension, withExtension: file.pathExtension),
              let data = FileManager.default.contents(atPath: url.path) else {
            throw APIDocumentError(
                "\(name) is missing from the api's resource bundle (\(Bundle.module.bundlePath)): install the "
                    + "swift-etl-pipeline_ResultsAPI.resources folder next to the api executable, as `swift build` lays it out")
        }
        return Array(data)
    }
}
