import Foundation
import Synchronization
import XCTest
@testable import Knet

/// Two threads training two models at once get the bits of sequential runs; the shared
/// random generator, thread pool and caching allocator stay exact under threads; a
/// tensor written by two threads at once traps with a clear message instead of
/// corrupting.
final class ConcurrencyTests: XCTestCase {
    /// One model's training: an MLP 784→256→10 on its own data, Adam, gradient clipping.
    struct Job {
        let w: [Tensor], batches: [(Tensor, [Int])]

        init(dtype: DType, seed: Int) {
            setseed(seed)
            w = [Tensor.randn(256, 784, dtype: dtype) * 0.1, Tensor.zeros(256, 1, dtype: dtype),
                 Tensor.randn(10, 256, dtype: dtype) * 0.1, Tensor.zeros(10, 1, dtype: dtype)]
            var g = SplitMix(seed: UInt64(seed))
            batches = (0..<2).map { _ in (Tensor.rand(784, 256, dtype: dtype), (0..<256).map { _ in Int.random(in: 0..<10, using: &g) }) }
        }

        /// The parameters' bit patterns after 6 steps from copies of `w`.
        func train() -> [[UInt64]] {
            let lossgradient = grad { (w: [Tensor], x: Tensor, y: [Int]) in nll(w[2] * relu(w[0] * x .+ w[1]) .+ w[3], y) }
            var w = self.w.map { copy($0) }
            var opt = optimizers(w, Adam(lr: 0.01))
            for step in 0..<6 {
                let (x, y) = batches[step % batches.count]
                update(&w, lossgradient(w, x, y), &opt, gclip: 1)
            }
            return w.map { t in t.dtype == .float32 ? [Float](t).map { UInt64($0.bitPattern) } : [Double](t).map(\.bitPattern) }
        }
    }

    /// Runs `bodies` on threads of their own, started together, and waits for all.
    func concurrently(_ bodies: [@Sendable () -> Void]) {
        let arrived = Atomic<Int>(0)
        let group = DispatchGroup()
        for body in bodies {
            group.enter()
            Thread {
                arrived.add(1, ordering: .relaxed)
                while arrived.load(ordering: .relaxed) < bodies.count {}     // start together
                body()
                group.leave()
            }.start()
        }
        group.wait()
    }

    func testTwoThreadsTrainTwoModelsLikeSequentialRuns() {
        for dtypes in [(DType.float32, DType.float64), (.float32, .float32)] {
            let jobs = [Job(dtype: dtypes.0, seed: 1), Job(dtype: dtypes.1, seed: 2)]
            let sequential = jobs.map { $0.train() }
            XCTAssertNotEqual(sequential[0], jobs[0].w.map { [Float]($0).map { UInt64($0.bitPattern) } }, "training moved the weights")
            for round in 0..<3 {
                let results = Mutex<[Int: [[UInt64]]]>([:])
                concurrently((0..<2).map { k in { @Sendable in let r = jobs[k].train(); results.withLock { $0[k] = r } } })
                let got = results.withLock { $0 }
                XCTAssertTrue(got[0] == sequential[0] && got[1] == sequential[1], "\(dtypes), round \(round): not the sequential bits")
            }
        }
    }

    /// Fills reserve disjoint counter ranges: two threads' draws are the sequential draws,
    /// only shared out differently.
    func testConcurrentRandomDrawsNeverRepeatOrTear() {
        setseed(5)
        let sequential = (0..<200).flatMap { _ in [Double](Tensor.rand(1000, dtype: .float64)) }
        setseed(5)
        let drawn = Mutex<[Double]>([])
        concurrently((0..<2).map { _ in {
            var mine: [Double] = []
            for _ in 0..<100 { mine += [Double](Tensor.rand(1000, dtype: .float64)) }
            drawn.withLock { $0 += mine }
        } })
        XCTAssertEqual(drawn.withLock { $0 }.sorted(), sequential.sorted())
        XCTAssertEqual(Set(sequential).count, sequential.count, "no value drawn twice (53-bit draws)")
    }

    /// The allocator's counters stay exact with four threads allocating and freeing at once.
    func testAllocatorCountersStayExactUnderThreads() {
        let before = memoryStats()
        concurrently((0..<4).map { k in {
            var alive: [Tensor] = []
            for i in 0..<2000 {
                alive.append(Tensor(uninitialized: [(i * 37 + k * 101) % 5000 + 1], dtype: .float32, device: .cpu))
                if alive.count > 8 { alive.removeFirst() }
            }
        } })
        let after = memoryStats()
        XCTAssertEqual(after.bytesInUse, before.bytesInUse, "every block came back")
        XCTAssertEqual(after.poolHits + after.systemAllocations - before.poolHits - before.systemAllocations, 4 * 2000,
                       "each of the 8000 requests counted once")
    }

    /// A second thread writing a tensor while another writes it traps (here caught by
    /// `withErrorHandling`), naming the problem; afterwards both may write it again.
    func testOverlappingWritesFromTwoThreadsTrap() throws {
        let t = Tensor.zeros(4, 4)
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let writer = Thread {
            exclusiveWrite("test", [t]) {
                holding.signal()
                release.wait()
            }
        }
        writer.start()
        holding.wait()
        for (what, body) in [("assign", { t.assign(1) }), ("setindex", { t[0..<1, 0..<1] = Tensor.ones(1, 1) }),
                             ("update", { var w = t; update(&w, Tensor.ones(4, 4), Sgd()) })] as [(String, () -> Void)] {
            do {
                try withErrorHandling { body() }
                XCTFail("\(what): a write during another thread's write did not trap")
            } catch let e as KnetError {
                XCTAssertTrue(e.message.contains("another thread"), "\(what): \(e.message)")
            }
        }
        release.signal()
        Thread.sleep(forTimeInterval: 0.05)
        t.assign(3)                                                  // the marks are gone: no false alarm
        XCTAssertEqual([Float](t), [Float](repeating: 3, count: 16))
        // A usage error inside a write releases its mark too.
        XCTAssertThrowsError(try withErrorHandling { t[0..<2, .all] = Tensor.ones(3, 4) })
        concurrently([{ t.assign(4) }])
        XCTAssertEqual([Float](t)[0], 4)
    }
}
