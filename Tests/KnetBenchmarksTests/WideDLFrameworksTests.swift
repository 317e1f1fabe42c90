import XCTest
@testable import KnetBenchmarks
import Knet

/// The wider table's DeepLearningFrameworks rows at smoke scale: the real models trained
/// on 2 batches of 16 random images / sequences, with their item counts and peer script.
final class WideDLFrameworksTests: XCTestCase {
    func testCIFARAndIMDBRowsRunAtSmokeScale() throws {
        var options = SuiteOptions(cases: [.cifar, .imdb], runs: 1, source: .synthetic, scale: .smoke, micro: false)
        options.wide = true
        let result = try runSuite(options)
        XCTAssertEqual(result.rows.map(\.name), ["cifar", "imdb"])
        for row in result.rows {
            let run = row.ours[0]
            XCTAssertEqual(run.items, 32, "\(row.name): 2 batches of 16")
            XCTAssert(run.seconds > 0 && run.seconds.isFinite, "\(row.name): \(run.seconds) s")
            // random labels: the loss stays near a uniform guess, log 10 or log 2
            let chance = row.name == "cifar" ? log(10.0) : log(2.0)
            XCTAssertEqual(run.loss, chance, accuracy: 0.5 * chance, "\(row.name): loss \(run.loss)")
        }
        XCTAssertEqual(TableCase.wide.filter { ["cifar", "imdb"].contains($0.name) }.map(\.peerScripts["torch"]),
                       ["Benchmarks/peers/torch_dlframeworks.py", "Benchmarks/peers/torch_dlframeworks.py"])
    }
}
