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
