import XCTest
@testable import KnetBenchmarks
@testable import Knet

/// `knet-bench --memory` at smoke scale: the series are sampled as asked and training in
/// steady state takes nothing new from the system (the caching allocator serves it all).
final class MemoryCheckTests: XCTestCase {
    func testSmokeMemoryCheckIsSteady() throws {
        var logged = 0
        let series = try runMemoryCheck(source: .synthetic, scale: .smoke, mlpSteps: 300, charlmSteps: 250, every: 100) { _ in logged += 1 }
        XCTAssertEqual(series.map(\.name), ["mlp", "charlm"])
        XCTAssertEqual(series[0].samples.map(\.step), [0, 100, 200, 300])
        XCTAssertEqual(series[1].samples.map(\.step), [0, 100, 200, 250], "the last interval is short")
        XCTAssertEqual(logged, 8)
        for s in series {
            XCTAssertEqual(s.warmupSteps, 100)
            XCTAssertGreaterThan(s.samples.last!.stats.poolHits, s.warm.stats.poolHits, "\(s.name): training allocates from the pool")
            XCTAssertEqual(s.systemAllocationsPerStep, 0, "\(s.name): \(s.text)")
            XCTAssertTrue(s.samples.allSatisfy { $0.residentBytes > 0 }, "/proc/self/statm is read")
            XCTAssertTrue(s.text.contains("new system allocations per step 0.00 (goal 0: met)"), s.text)
        }
    }

    /// The verdicts from hand-made samples: growth is the largest later RSS over the warm one.
    func testGrowthAndAllocationsPerStep() {
        func sample(_ step: Int, _ rss: Int, _ allocations: Int) -> MemorySample {
            var stats = MemoryStats()
            stats.systemAllocations = allocations
            return MemorySample(step: step, residentBytes: rss, stats: stats)
        }
        let s = MemorySeries(name: "m", summary: "", samples: [sample(0, 50, 0), sample(100, 100, 10), sample(200, 103, 14),
                                                               sample(300, 101, 16)], warmupSteps: 100)
        XCTAssertEqual(s.warm.step, 100)
        XCTAssertEqual(s.residentGrowth, 0.03, accuracy: 1e-12)
        XCTAssertEqual(s.systemAllocationsPerStep, 0.03, accuracy: 1e-12)
        XCTAssertFalse(s.isSteady)
        XCTAssertTrue(s.text.contains("RSS growth 3.00% (goal < 1%: NOT met)"), s.text)
    }
}
