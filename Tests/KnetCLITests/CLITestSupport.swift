import Foundation
import XCTest
@testable import Knet

// The `knet` program as a user runs it: the binary SwiftPM built next to this test bundle,
// started as a child process with its output captured through pipes, on tiny data sets
// the tests write themselves (never the real ones), with a private download cache.

/// The built `knet` program: in the products folder that holds this test bundle.
func knetProgram() throws -> String {
    let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let path = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("knet").path
    guard FileManager.default.isExecutableFile(atPath: path) else { throw MissingProgram(path: path) }
    return path
}

/// The test bundle's products folder has no `knet` (`swift test` builds every product).
struct MissingProgram: Error, CustomStringConvertible {
    let path: String
    var description: String { "no knet program at \(path): build it with swift build" }
}

/// Runs `knet arguments` with `$KNET_DATA` unset, a fresh `$XDG_CACHE_HOME` (no cached or
/// downloaded data) and `environment` added; stdout and stderr are pipes.
func knet(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    let cache = FileManager.default.temporaryDirectory.appendingPathComponent("knet-cli-cache-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: cache) }
    let settings = (["XDG_CACHE_HOME": cache].merging(environment) { $1 }).sorted { $0.key < $1.key }.map { "\($0)=\($1)" }
    return try runProcess(["env", "-u", "KNET_DATA"] + settings + [try knetProgram()] + arguments, collectOutput: true)
}

/// Asserts that `result` is a usage error (status 64) whose stderr contains every one of
/// `fragments`, and that nothing was trained (no epoch line on stdout).
func assertUsageError(_ result: ProcessResult, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result.status, 64, "stderr: \(result.stderr)", file: file, line: line)
    for fragment in fragments where !result.stderr.contains(fragment) {
        XCTFail("stderr \"\(result.stderr)\" does not contain \"\(fragment)\"", file: file, line: line)
    }
    XCTAssertFalse(result.stdout.contains("epoch "), "trained before refusing: \(result.stdout)", file: file, line: line)
}

/// A data folder as `--data` expects it, with tiny stand-ins for the real sets:
/// `mnist/` with 120 training and 40 test images (uncompressed IDX under the usual .gz
/// names, which the reader accepts) and `hiawatha/19.txt`, 4000 characters of verse.
struct TinyData {
    let root: String
    static let trainingImages = 120, testImages = 40

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("knet-cli-data-\(UUID().uuidString)").path
        var state: UInt32 = 12345
        func byte() -> UInt8 { state = state &* 1_103_515_245 &+ 12345; return UInt8(truncatingIfNeeded: state >> 16) }
        func idx(_ dims: [Int], _ values: [UInt8]) -> [UInt8] {
            [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in (0..<4).map { UInt8(truncatingIfNeeded: d >> (8 * (3 - $0))) } } + values
        }
        for (prefix, n) in [("train", Self.trainingImages), ("t10k", Self.testImages)] {
            try write("mnist/\(prefix)-images-idx3-ubyte.gz", idx([n, 28, 28], (0..<(n * 784)).map { _ in byte() }))
            try write("mnist/\(prefix)-labels-idx1-ubyte.gz", idx([n], (0..<n).map { UInt8($0 % 10) }))
        }
        let verse = "By the shores of Gitche Gumee,\nBy the shining Big-Sea-Water,\nStood the wigwam of Nokomis.\n"
        try write("hiawatha/19.txt", Array(String(repeating: verse, count: 4000 / verse.count + 1).prefix(4000).utf8))
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: root + "/" + name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    /// Removes the folder.
    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
