import XCTest
@testable import Knet

/// The parts of data-parallel training that one process can check: the tape hook that
/// reports final gradients, the bucket plan, minibatch shards, and `DataParallel` in a
/// job of one (where its average is the plain gradient).
final class DataParallelTests: XCTestCase {
    /// Records what a backward pass reports.
    final class Recorder: BackwardObserver {
        var ready: [(k: Int, gradient: [Double]?, operationsBefore: Int)] = []
        var operations = 0
        func gradientReady(_ k: Int, _ gradient: Tensor?) { ready.append((k, gradient.map { [Double]($0) }, operations)) }
        func operationProcessed() { operations += 1 }
    }

    func testGradientsAreReportedOnceFinalInReverseOrderOfFirstUse() {
        let model = TinyModel.mlp, (x, y) = model.data(6)
        let w = model.parameters(seed: 3)
        let recorder = Recorder()
        let observed = gradloss(model.loss, observer: recorder), lossgradient = grad(model.loss)
        let (g, loss) = observed(w, x, y)
        let plain = lossgradient(w, x, y)
        XCTAssertEqual(loss.scalar, model.loss(w, x, y).scalar)
        XCTAssertEqual(recorder.ready.map(\.k), [3, 2, 1, 0], "b2, w2, b1, w1: the reverse of first use")
        for r in recorder.ready {
            XCTAssertEqual(r.gradient, [Double](plain[r.k]), "gradient \(r.k) as reported equals the final one")
            XCTAssertEqual(r.gradient, [Double](g[r.k]))
        }
        let before = recorder.ready.map(\.operationsBefore)
        XCTAssertEqual(before, before.sorted())
        XCTAssertLessThan(before[0], recorder.operations / 2, "the last layer's bias is final early in the pass")
        XCTAssertEqual(before[3], recorder.operations - w.count - 1, "w1 only once its first use, the first operation, is done")
    }

    func testAParameterUsedTwiceIsReadyAfterItsFirstUseAndAnUnusedOneAtOnce() {
        // w0 is used first and again last (tied weights); w2 is not used at all.
        let f = { (w: [Tensor]) in sum(w[0] .* tanh(w[1] .* sin(w[0]))) }
        let w = [Tensor([0.5, -1], dtype: .float64), Tensor([2, 3], dtype: .float64), Tensor([7], dtype: .float64)]
        let recorder = Recorder()
        let observed = gradloss(f, observer: recorder)
        let (g, _) = observed(w)
        XCTAssertEqual(recorder.ready.map(\.k), [2, 1, 0])
        XCTAssertNil(recorder.ready[0].gradient, "an unused parameter is reported at once, as zero")
        XCTAssertEqual(recorder.ready[0].operationsBefore, 0)
        XCTAssertEqual(recorder.ready[2].gradient, [Double](g[0]))
        XCTAssertEqual(recorder.ready[2].operationsBefore, recorder.operations - w.count - 1, "w0 once sin(w0) is done")
        XCTAssertEqual([Double](g[2]), [0])
    }

    func testBucketPlanFollowsPyTorch() {
        let f32 = { (n: Int) in (count: n, dtype: DType.float32, device: Device.cpu) }
        // Reverse order 3, 2, 1, 0; the first bucket closes at 1 KB, later ones at 4 KB.
        let plan = BucketPlan([f32(1000), f32(10), f32(300), f32(20)], firstBucketBytes: 1024, bucketBytes: 4096)
        XCTAssertEqual(plan.buckets.map { $0.slots.map(\.tensor) }, [[3, 2], [1, 0]])
        XCTAssertEqual(plan.buckets.map(\.count), [320, 1010])
        XCTAssertEqual(plan.buckets[0].slots.map(\.offset), [0, 20])
        XCTAssertEqual(plan.location[1].bucket, 1)
        XCTAssertEqual(plan.location[0].slot, 1)
        let each = BucketPlan([f32(4), f32(5), f32(6)], firstBucketBytes: 0, bucketBytes: 0)
        XCTAssertEqual(each.buckets.map { $0.slots.map(\.tensor) }, [[2], [1], [0]])
        let one = BucketPlan([f32(4), f32(5), f32(6)], firstBucketBytes: .max, bucketBytes: .max)
        XCTAssertEqual(one.buckets.map { $0.slots.map(\.tensor) }, [[2, 1, 0]])
        // Each dtype has buckets of its own.
        let mixed = BucketPlan([f32(100), (100, .float64, .cpu), f32(100), (100, .float64, .cpu)], firstBucketBytes: 800, bucketBytes: 800)
        XCTAssertEqual(mixed.buckets.map { $0.slots.map(\.tensor) }, [[3], [1], [2, 0]])
        XCTAssertEqual(mixed.buckets.map(\.dtype), [.float64, .float64, .float32])
    }

    func testShardsAreDisjointEqualPartsOfEveryBatch() throws {
        let x = Tensor((0..<26).map(Double.init), shape: [1, 26], dtype: .float64), y = Array(0..<26)
        let whole = minibatch(x, y, 6, shuffle: true, seed: 4)
        let shards = try (0..<3).map { try whole.shard(rank: $0, of: 3) }
        XCTAssertEqual(shards.map(\.count), [4, 4, 4])
        XCTAssertEqual(shards.map(\.batchsize), [2, 2, 2])
        XCTAssertEqual(shards.map(\.instances), [8, 8, 8])
        let reference = minibatch(x, y, 6, shuffle: true, seed: 4)
        for _ in 0..<2 {                                     // two epochs: new orders, the same on every shard
            let batches = Array(reference)
            let parts = shards.map { Array($0) }
            for (k, batch) in batches.enumerated() {
                let mine = parts.map { $0[k].1 }
                XCTAssertEqual(mine.map(\.count), [2, 2, 2])
                XCTAssertEqual(mine.flatMap { $0 }.sorted(), batch.1.sorted(), "batch \(k): the shards make it whole")
                XCTAssertEqual(mine[1], [batch.1[1], batch.1[4]], "rank 1 takes positions 1 and 4")
                XCTAssertEqual([Double](parts[2][k].0), mine[2].map(Double.init), "inputs follow the labels")
            }
        }
        let ordered = try minibatch(x, y, 4).shard(rank: 1, of: 2)
        XCTAssertEqual(Array(ordered).map(\.1), [[1, 3], [5, 7], [9, 11], [13, 15], [17, 19], [21, 23]])
        XCTAssertThrowsError(try minibatch(x, y, 5).shard(rank: 0, of: 2)) {
            XCTAssertEqual($0 as? DistributedError, .batchNotDivisible(batchsize: 5, processes: 2))
        }
        XCTAssertThrowsError(try minibatch(x, y, 4).shard(rank: 2, of: 2)) {
            XCTAssertEqual($0 as? DistributedError, .invalidShard(rank: 2, processes: 2))
        }
        assertKnetError("shard: these batches are a shard already") { _ = try! ordered.shard(rank: 0, of: 1) }
    }

    func testCharBlockShardsTakeEveryNthStream() throws {
        let block = CharBlock(batchsize: 4, seqlen: 2, x: [0, 1, 2, 3, 10, 11, 12, 13], y: [1, 2, 3, 4, 11, 12, 13, 14])
        let odd = try block.shard(rank: 1, of: 2)
        XCTAssertEqual(odd, CharBlock(batchsize: 2, seqlen: 2, x: [1, 3, 11, 13], y: [2, 4, 12, 14]))
        XCTAssertEqual(try block.shard(rank: 0, of: 1), block)
        XCTAssertThrowsError(try block.shard(rank: 0, of: 3)) {
            XCTAssertEqual($0 as? DistributedError, .batchNotDivisible(batchsize: 4, processes: 3))
        }
    }

    func testDataParallelAloneIsPlainTraining() throws {
        for model in TinyModel.allCases {
            let (x, y) = model.data(16)
            let plain = grad(model.loss)
            for dp in [DataParallel(), DataParallel(bucketBytes: 0, firstBucketBytes: 0), DataParallel(overlap: false)] {
                let w = model.parameters(seed: 2)
                let lossgradient = dp.gradloss(model.loss)
                let (g, loss) = lossgradient(w, x, y)
                XCTAssertEqual(loss.scalar, model.loss(w, x, y).scalar)
                for (a, b) in zip(g, plain(w, x, y)) {
                    XCTAssertEqual(a.shape, b.shape)
                    XCTAssertEqual([Double](a), [Double](b))
                }
                XCTAssertEqual(dp.lastStep.bytes, w.reduce(0) { $0 + 8 * $1.count })
                XCTAssertEqual(dp.lastStep.startedDuringBackward, dp.overlap ? dp.lastStep.buckets : 0)
                if dp.bucketBytes == 0 { XCTAssertEqual(dp.lastStep.buckets, w.count) }
                for (a, b) in zip(dp.average(g), g) { XCTAssertEqual([Double](a), [Double](b)) }
            }
        }
        // An unseeded shuffle is given a seed (here nobody else to agree with) and still shards.
        let x = Tensor((0..<8).map(Double.init), shape: [1, 8]), y = Array(0..<8)
        let shard = try Distributed.shard(minibatch(x, y, 4, shuffle: true))
        XCTAssertEqual(Array(shard).flatMap(\.1).sorted(), Array(0..<8))
    }
}
