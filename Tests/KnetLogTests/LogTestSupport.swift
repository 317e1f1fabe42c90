import Foundation
import XCTest

/// A fresh empty folder under the system's temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase, _ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("knet-log-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// A clock for tests: 1_700_000_000.25, then each call a second later.
final class FakeClock {
    private(set) var now = 1_700_000_000.25
    func tick() -> Double { defer { now += 1 }; return now }
}
