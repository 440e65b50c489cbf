import Foundation
import Testing
import TestSupport

/// Rules for the test code itself, checked over its sources. The whole suite runs in parallel
/// on two cores: a test that spawns tools on its own, unbounded, starves the tests beside it
/// that wait on real time (a consumer polling Redis, a server starting), and they fail for
/// no fault of the code under test.
@Suite struct TestCodeRulesTests {
    @Test("tools are spawned only through TestSupport, which waits off the pool and bounds how many run at once")
    func toolsAreSpawnedOnlyThroughTestSupport() throws {
        let tests = TestEnvironment.packageRoot.appendingPathComponent("Tests")
        let enumerator = try #require(FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil))
        var offenders: [String] = []
        for case let file as URL in enumerator where file.pathExtension == "swift" {
            let relative = String(file.path.dropFirst(tests.path.count + 1))
            guard !relative.hasPrefix("TestSupport/"), file.lastPathComponent != "TestCodeRulesTests.swift" else { continue }
            let source = try String(contentsOf: file, encoding: .utf8)
            for marker in ["Process()", "posix_spawn", ".waitUntilExit()"] where source.contains(marker) {
                offenders.append("\(relative) uses \(marker)")
            }
        }
        #expect(offenders.isEmpty, "use TestEnvironment.run or TestEnvironment.execute instead: \(offenders)")
    }
}
