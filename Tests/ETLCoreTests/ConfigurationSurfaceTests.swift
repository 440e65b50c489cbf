import ETLCore
import Foundation
import TestSupport
import Testing

/// The documented configuration against the declared one (`Settings`), in place of a script
/// that grepped the sources: the README's "Configuration" table and `.env.example` list
/// exactly the declared variables with their defaults, the table says which executables
/// read each one, and Docker Compose, the image's entry point and the SPEC name no other.
@Suite("Configuration surfaces")
struct ConfigurationSurfaceTests {
    static let root = TestEnvironment.packageRoot
    static let declared: [any ConfigurationVariable] = Settings.all + Settings.deployment
    static var declaredNames: Set<String> { Set(declared.map(\.name)) }

    @Test func theReadmeTableListsEveryDeclaredVariableOnce() throws {
        let names = try ReadmeTable.load().rows.map(\.name)
        Self.expectDeclared(Set(names), documentedIn: "the README table")
        #expect(names.count == Set(names).count, "a variable has two rows")
    }

    static func expectDeclared(_ documented: Set<String>, documentedIn document: String) {
        let undeclared = documented.subtracting(declaredNames).sorted()
        let undocumented = declaredNames.subtracting(documented).sorted()
        #expect(undeclared.isEmpty, "\(document) lists \(undeclared), which Settings does not declare")
        #expect(undocumented.isEmpty, "\(document) misses \(undocumented)")
    }

    @Test func theReadmeTableShowsEachDefault() throws {
        let rows = Dictionary(try ReadmeTable.load().rows.map { ($0.name, $0) }) { first, _ in first }
        for variable in Self.declared {
            guard let row = rows[variable.name] else { continue }  // reported by the test above
            switch variable.fallback {
            case .text(""):
                #expect(row.defaultCell.contains("empty") && !row.defaultCell.contains("`"), "\(variable.name): the default is empty, README says \(row.defaultCell)")
            case .text(let text):
                #expect(row.defaultCell == "`\(text)`", "\(variable.name): the default is `\(text)`, README says \(row.defaultCell)")
            case .required:
                #expect(row.defaultCell.contains("required"), "\(variable.name) is required, README says \(row.defaultCell)")
            }
        }
    }

    @Test func theReadmeTableNamesTheExecutablesThatReadEachVariable() throws {
        for row in try ReadmeTable.load().rows {
            let readers = Settings.executables.filter { $0.variables.contains { $0.name == row.name } }.map(\.name)
            let expected = readers.isEmpty ? ["Docker Compose"] : readers
            #expect(row.readers == expected, "\(row.name) is read by \(expected.joined(separator: ", ")), README says \(row.usedByCell)")
        }
    }

    @Test func envExampleSetsEveryDeclaredVariableToItsDefault() throws {
        let example = try DotEnv.parse(String(contentsOf: Self.root.appendingPathComponent(".env.example"), encoding: .utf8))
        Self.expectDeclared(Set(example.keys), documentedIn: ".env.example")
        for variable in Self.declared {
            guard let value = example[variable.name] else { continue }
            #expect(value == (variable.fallback.documentedText ?? ""), "\(variable.name)=\(value) in .env.example, but its default is '\(variable.fallback.documentedText ?? "")'")
        }
    }

    @Test func everyDefaultIsAValidValue() throws {
        for variable in Self.declared {
            guard let text = variable.fallback.documentedText else { continue }
            try variable.check(text)
        }
    }

    @Test func composeAndTheEntryPointUseOnlyDeclaredVariables() throws {
        let compose = try ComposeFile.load()
        #expect(compose.substitutedVariables.subtracting(Self.declaredNames).isEmpty, "docker-compose.yml substitutes undeclared \(compose.substitutedVariables.subtracting(Self.declaredNames).sorted())")
        #expect(compose.pipelineEnvironmentKeys.subtracting(Self.declaredNames).isEmpty, "docker-compose.yml sets undeclared \(compose.pipelineEnvironmentKeys.subtracting(Self.declaredNames).sorted())")
        let entryPoint = try String(contentsOf: Self.root.appendingPathComponent("docker/entrypoint.sh"), encoding: .utf8)
        let entryPointVariables = ShellText.expandedVariables(in: entryPoint)
        #expect(entryPointVariables.subtracting(Self.declaredNames).isEmpty, "docker/entrypoint.sh reads undeclared \(entryPointVariables.subtracting(Self.declaredNames).sorted())")
        for variable in Settings.deployment {
            #expect(compose.substitutedVariables.contains(variable.name) || entryPointVariables.contains(variable.name),
                    "\(variable.name) is declared for deployment, but neither docker-compose.yml nor docker/entrypoint.sh uses it")
        }
    }

    @Test func theReadmeNamesEveryComposeService() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        for service in try ComposeFile.load().services {
            #expect(readme.contains("`\(service)`"), "compose service \(service) is not named in README.md (as `\(service)`)")
        }
    }

    /// The SPEC lives beside the repository (`../shared/SPEC.md`, or `$SPEC_PATH`) when at hand.
    @Test func everyVariableOfTheSpecIsDeclared() throws {
        let path = ProcessInfo.processInfo.environment["SPEC_PATH"]
            ?? Self.root.deletingLastPathComponent().appendingPathComponent("shared/SPEC.md").path
        guard let spec = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let specified = Set(MarkdownTable.firstCellNames(in: spec, underHeadingStartingWith: "## 6"))
        #expect(specified.subtracting(Self.declaredNames).isEmpty, "the SPEC §6 table names undeclared \(specified.subtracting(Self.declaredNames).sorted())")
    }
}

// MARK: Readers of the documents (their layout, not the configuration's)

/// The README's "## Configuration" table: `| variable | default | used by | meaning |`.
struct ReadmeTable {
    struct Row {
        let name: String
        let defaultCell: String
        let usedByCell: String

        /// "extractor, transformer (remark)" → ["extractor", "transformer"].
        var readers: [String] {
            let withoutRemark = usedByCell.split(separator: "(", maxSplits: 1).first.map(String.init) ?? usedByCell
            return withoutRemark.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    let rows: [Row]

    static func load() throws -> ReadmeTable {
        let readme = try String(contentsOf: ConfigurationSurfaceTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = MarkdownTable.rows(in: readme, underHeadingStartingWith: "## Configuration").compactMap { cells -> Row? in
            guard cells.count >= 3, let name = MarkdownTable.codeSpans(in: cells[0]).first else { return nil }
            return Row(name: name, defaultCell: cells[1], usedByCell: cells[2])
        }
        return ReadmeTable(rows: rows)
    }
}

enum MarkdownTable {
    /// The cells of every table row in the section under the heading.
    static func rows(in text: String, underHeadingStartingWith heading: String) -> [[String]] {
        var inSection = false
        var rows: [[String]] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") {
                inSection = line.hasPrefix(heading)
                continue
            }
            guard inSection, line.hasPrefix("|") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
            rows.append(cells.map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return rows
    }

    /// Upper-case names in backticks in the first cell of each row.
    static func firstCellNames(in text: String, underHeadingStartingWith heading: String) -> [String] {
        rows(in: text, underHeadingStartingWith: heading).flatMap { codeSpans(in: $0.first ?? "") }
    }

    /// `` `A_B` `` spans that look like variable names.
    static func codeSpans(in cell: String) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
            .filter { name in
                name.first?.isUppercase == true && name.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }
            }
    }
}

enum ShellText {
    /// Names in `${NAME}`, `${NAME:-…}`, `${NAME-…}`, `${NAME:?…}`.
    static func expandedVariables(in text: String) -> Set<String> {
        var names = Set<String>()
        for piece in text.components(separatedBy: "${").dropFirst() {
            let name = piece.prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
            if !name.isEmpty, name.first?.isUppercase == true { names.insert(String(name)) }
        }
        return names
    }
}

/// What docker-compose.yml says about configuration, read line by line (its layout is ours).
struct ComposeFile {
    let substitutedVariables: Set<String>
    /// Keys under `environment:` of the services that run this project's image.
    let pipelineEnvironmentKeys: Set<String>
    let services: [String]

    static func load() throws -> ComposeFile {
        let text = try String(contentsOf: ConfigurationSurfaceTests.root.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return ComposeFile(
            substitutedVariables: ShellText.expandedVariables(in: text),
            pipelineEnvironmentKeys: environmentKeys(lines), services: serviceNames(lines))
    }

    static func indent(of line: String) -> Int { line.prefix { $0 == " " }.count }

    /// Another image's variables (redis, sftp) are read by that image, not by our code.
    static func environmentKeys(_ lines: [String]) -> Set<String> {
        var keys = Set<String>()
        var thirdParty = false
        var environmentIndent: Int?
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if indent(of: line) == 2, trimmed.hasSuffix(":"), !trimmed.hasPrefix("#") { thirdParty = false }
            if indent(of: line) == 4, trimmed.hasPrefix("image:") { thirdParty = !trimmed.contains("swift-etl-pipeline") }
            if let environment = environmentIndent {
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                if indent(of: line) <= environment {
                    environmentIndent = nil
                } else {
                    let key = trimmed.prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
                    if !thirdParty, !key.isEmpty, trimmed.dropFirst(key.count).hasPrefix(":") { keys.insert(String(key)) }
                    continue
                }
            }
            if trimmed.hasPrefix("environment:") { environmentIndent = indent(of: line) }
        }
        return keys
    }

    /// The keys two spaces in under the top-level `services:`.
    static func serviceNames(_ lines: [String]) -> [String] {
        var inServices = false
        var names: [String] = []
        for line in lines {
            if let first = line.first, first != " ", first != "#" {
                inServices = line.hasPrefix("services:")
                continue
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if inServices, indent(of: line) == 2, trimmed.hasSuffix(":"), !trimmed.hasPrefix("#") {
                names.append(String(trimmed.dropLast()))
            }
        }
        return names
    }
}
