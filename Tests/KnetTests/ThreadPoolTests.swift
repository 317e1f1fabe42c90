import XCTest
import Foundation
import Synchronization
@testable import Knet

final class ThreadPoolTests: XCTestCase {
    /// Every iteration runs exactly once, over many back-to-back jobs of odd sizes.
    func testEveryIterationRunsOnce() {
        for count in [1, 2, 3, 7, 64, 1000] {
            for _ in 0..<200 {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
                hits.initialize(repeating: 0, count: count)
                Parallel.forEach(count) { i in hits[i] += 1 }
                XCTAssertTrue((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count)")
                hits.deallocate()
            }
        }
    }

    /// A parallel loop inside a parallel loop, and several threads submitting at once,
    /// run serially where the pool is busy instead of deadlocking.
    func testNestedAndConcurrentCallers() {
        let total = Atomic<Int>(0)
        Parallel.forEach(4) { _ in
            Parallel.forEach(5) { _ in total.add(1, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 20)

        let sums = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            var local = 0
            for _ in 0..<100 {
                let partial = UnsafeMutablePointer<Int>.allocate(capacity: 16)
                partial.initialize(repeating: 0, count: 16)
                Parallel.forEach(16) { i in partial[i] = i + t }
                local += (0..<16).reduce(0) { $0 + partial[$1] }
                partial.deallocate()
            }
            sums.withLock { $0.append(local - 100 * 16 * t) }
        }
        XCTAssertEqual(sums.withLock { $0 }, [Int](repeating: 100 * 120, count: 4))
    }

    /// Chunks cover the range exactly, in order, for sizes around the split threshold.
    /// Sums are cut into parts by their size alone and the parts added in order, so the
    /// rounding is the same on one thread or many (`KNET_THREADS` changes nothing): a
    /// large sum equals the in-order total of its `reductionParts` slabs.
    func testSumsRoundAlikeOnAnyThreadCount() {
        XCTAssertEqual(Parallel.reductionParts(1000), 1)
        XCTAssertEqual(Parallel.reductionParts(1 << 17), 2)
        XCTAssertEqual(Parallel.reductionParts(1 << 24), 16)
        XCTAssertEqual(Parallel.reductionParts(1 << 16, cost: 40), 16)
        setseed(8)
        let n = (1 << 20) + 37, x = Tensor.randn(n)
        let values = [Float](x), parts = Parallel.reductionParts(n)
        var expected: Float = 0
        values.withUnsafeBufferPointer { p in
            for k in 0..<parts {
                let (lo, hi) = (n * k / parts, n * (k + 1) / parts)
                expected += reduceRun(.sum, p.baseAddress! + lo, hi - lo, 1)
            }
        }
        XCTAssertEqual(sum(x).scalar, Double(expected))
        // Row sums over a reduced outermost dim (a bias gradient) likewise.
        let m = Tensor.randn(64, 1 << 12)
        let rows = [Float](sum(m, dims: [1])), all = [Float](m)
        let slabs = Parallel.reductionParts(m.count)
        for i in [0, 17, 63] {
            var total: Float = 0
            for k in 0..<slabs {
                var part: Float = 0
                for j in ((1 << 12) * k / slabs)..<((1 << 12) * (k + 1) / slabs) { part += all[i + 64 * j] }
                total += part
            }
            XCTAssertEqual(rows[i], total, "row \(i)")
        }
    }

    func testChunksCoverRange() {
        for n in [0, 1, Parallel.minimumParallelElements - 1, 3 * Parallel.minimumParallelElements + 5] {
            let seen = Mutex<[(Int, Int)]>([])
            Parallel.chunks(n) { lo, hi in seen.withLock { $0.append((lo, hi)) } }
            let parts = seen.withLock { $0 }.sorted { $0.0 < $1.0 }
            XCTAssertEqual(parts.first?.0, 0)
            XCTAssertEqual(parts.last?.1, n)
            for (a, b) in zip(parts, parts.dropFirst()) { XCTAssertEqual(a.1, b.0) }
        }
    }
}
