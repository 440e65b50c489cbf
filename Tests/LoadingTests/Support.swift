import ETLCore
import Foundation
import Handoff
import Loading
import Logging
import Synchronization
import TestSupport

/// A clock that never really waits: `sleep` moves time forward (and yields briefly).
final class TestClock: PipelineClock {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    func now() -> Date { current.withLock { $0 } }

    func advance(by seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    func sleep(seconds: Double) async throws {
        advance(by: max(seconds, 0))
        try await Task.sleep(for: .milliseconds(2))
    }
}

struct FakeSFTPDown: Error, CustomStringConvertible {
    var description: String { "SFTP: connection refused (fake)" }
}

/// Fails the first `failures` uploads, then "uploads" by recording the file names.
final class FakeUploader: RunFileUploader {
    private struct State {
        var failuresLeft: Int
        var attempts = 0
        var uploads: [[String]] = []
    }

    private let state: Mutex<State>

    init(failures: Int = 0) {
        state = Mutex(State(failuresLeft: failures))
    }

    var attempts: Int { state.withLock { $0.attempts } }
    var uploads: [[String]] { state.withLock { $0.uploads } }

    func setFailures(_ count: Int) { state.withLock { $0.failuresLeft = count } }

    func upload(files: [URL]) async throws -> [String] {
        try state.withLock { state in
            state.attempts += 1
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                throw FakeSFTPDown()
            }
            for file in files where !FileManager.default.fileExists(atPath: file.path) {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: file.path])
            }
            let names = files.map { "upload/\($0.lastPathComponent)" }
            state.uploads.append(names)
            return names
        }
    }
}

/// A temporary DATA_DIR and database, removed at the end.
final class Workspace {
    let root: URL
    let dataDirectory: URL
    let databasePath: String

    init() throws {
        root = try TestEnvironment.temporaryDirectory("loading-tests")
        dataDirectory = root.appendingPathComponent("data")
        try RunFiles.createDirectories(under: dataDirectory)
        databasePath = root.appendingPathComponent("database/data.db").path
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func openDatabase() throws -> PipelineDatabase { try PipelineDatabase(path: databasePath) }

    func files(_ runID: RunID) -> RunFiles { RunFiles(dataDirectory: dataDirectory, runID: runID) }

    /// Writes a run's three files: `valid` processed users, `invalid` DLQ records, and a raw
    /// file holding all of them (plus `extraRawLines` verbatim).
    @discardableResult
    func writeRun(_ runID: RunID, valid: Int, invalid: Int, extraRawLines: [String] = []) throws -> RunFiles {
        let files = files(runID)
        var raw: [String] = []
        var processed: [String] = []
        var dlq: [String] = []
        for id in 1...(valid + invalid) {
            let record = Fixtures.user(id: id)
            raw.append(record)
            if id <= valid {
                processed.append(Fixtures.processed(id: id))
            } else {
                dlq.append(Fixtures.invalid(id: id))
            }
        }
        raw += extraRawLines
        try write(raw, to: files.raw)
        try write(processed, to: files.processed)
        try write(dlq, to: files.deadLetter)
        return files
    }

    func write(_ lines: [String], to url: URL) throws {
        let text = lines.map { $0 + "\n" }.joined()
        try Data(text.utf8).write(to: url)
    }
}

enum Fixtures {
    static let departments = [("Engineering", "ENG"), ("Marketing", "MKT"), ("Support", "SUP"), ("Legal", "LEG")]

    /// A DummyJSON-shaped user (about 1.3 KB), with `extra` members appended at the top level.
    static func user(id: Int, department: String? = nil, extra: String = "") -> String {
        let department = department ?? departments[id % departments.count].0
        return """
            {"id":\(id),"firstName":"First\(id)","lastName":"Last \\"Q\\" \(id)","maidenName":"Smith","age":\(20 + id % 40),"gender":"\(id % 2 == 0 ? "female" : "male")","email":"user\(id)@x.dummyjson.com","phone":"+81 965-431-3024","username":"user\(id)","password":"secret\(id)","birthDate":"1996-5-30","image":"https://dummyjson.com/icon/user\(id)/128","bloodGroup":"O-","height":193.24,"weight":63.16,"eyeColor":"Green","hair":{"color":"Brown","type":"Curly"},"ip":"42.48.100.32","address":{"address":"626 Main Street","city":"City\(id % 7)","state":"Mississippi","stateCode":"MS","postalCode":"29112","coordinates":{"lat":-77.16213,"lng":-92.084824},"country":"United States"},"macAddress":"47:fa:41:18:ec:eb","university":"University of Wisconsin--Madison","bank":{"cardExpire":"05/28","cardNumber":"3693233511855044","cardType":"Diners Club International","currency":"GBP","iban":"GB74MH2UZLR9TRPHYNU8F8"},"company":{"department":"\(department)","name":"Dooley, Kozey and Cronin","title":"Sales Manager","address":{"address":"263 Tenth Street","city":"San Francisco","state":"Wisconsin","stateCode":"WI","postalCode":"37657","coordinates":{"lat":71.814525,"lng":-161.150263},"country":"United States"}},"ein":"977-175","ssn":"900-590-289","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36","crypto":{"coin":"Bitcoin","wallet":"0xb9fc2fe63b2a6c003f1c324c3bfa53259162181a","network":"Ethereum (ERC20)"},"role":"admin"\(extra)}
            """
    }

    static func processed(id: Int) -> String {
        let code = departments[id % departments.count].1
        return user(id: id, extra: ",\"department_code\":\"\(code)\"")
    }

    static func invalid(id: Int) -> String {
        user(id: id, extra: ",\"error_reason\":\"age 70 is outside [18, 65]\",\"error_codes\":[\"age_out_of_range\"]")
    }

    static func event(_ runID: RunID, files: RunFiles, valid: Int, invalid: Int, status: RunStatus = .transformed) -> RunEvent {
        var event = RunEvent(runID: runID, status: status)
        event.rawFile = files.raw.path
        event.processedFile = files.processed.path
        event.dlqFile = files.deadLetter.path
        event.extractedCount = valid + invalid
        event.validCount = valid
        event.invalidCount = invalid
        event.extractStartedAt = "2027-01-15T08:00:00Z"
        event.extractFinishedAt = "2027-01-15T08:00:05Z"
        event.transformStartedAt = "2027-01-15T08:00:06Z"
        event.transformFinishedAt = "2027-01-15T08:00:07Z"
        return event
    }
}

extension Logger {
    static let test: Logger = {
        var logger = Logger(label: "loading-tests")
        logger.logLevel = .critical
        return logger
    }()
}

/// Polls `condition` until it holds or `timeout` real seconds pass.
func eventually(timeout: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Runs the saver's consumer until `condition` holds, then stops it.
func run(_ service: SaverService, until condition: @escaping () async throws -> Bool) async throws -> Bool {
    let task = Task { try await service.run() }
    defer { task.cancel() }
    let reached = try await eventually(condition)
    task.cancel()
    _ = await task.result
    return reached
}
