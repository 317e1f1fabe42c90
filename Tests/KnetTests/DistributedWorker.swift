import Foundation
import XCTest
@testable import Knet

/// The test binary as one process of an `mpirun` job that `DistributedTests` starts: it
/// runs the scenario named by `KNET_TEST_MPI_SCENARIO` and asserts on what this rank
/// sees; a failed assertion makes the process exit with status 1, which aborts the job.
/// Run on its own (the normal suite) it has nothing to do and says so.
final class DistributedWorker: XCTestCase {
    func testWorker() throws {
        guard let name = ProcessInfo.processInfo.environment["KNET_TEST_MPI_SCENARIO"] else {
            throw XCTSkip("runs only as a process of the mpirun jobs DistributedTests starts (KNET_TEST_MPI_SCENARIO unset)")
        }
        guard let scenario = DistributedScenario(rawValue: name) else { return XCTFail("no scenario \(name)") }
        Distributed.initialize()
        try scenario.run()
        print("rank \(Distributed.rank) of \(Distributed.size): \(name) finished")
    }
}

/// What a process of the test job does.
enum DistributedScenario: String {
    /// rank, size, barrier, allReduce (every op, dtype, strided, 0-d), broadcast,
    /// allGather and the gradient of the differentiable allReduce.
    case collectives
    /// Data-parallel training equals one process on the whole batches, in every bucket
    /// configuration, with identical parameters on every rank after each step; the
    /// Trainer option; checkpoints written by rank 0 alone.
    case equivalence
    /// Rank 1 throws inside `Distributed.run` while rank 0 waits in a barrier.
    case rankThrows
    /// Rank 1 makes a usage error (a shape mismatch) while rank 0 waits.
    case usageError
    /// Rank 1 exits with status 3 while rank 0 waits.
    case rankExits

    func run() throws {
        switch self {
        case .collectives: collectives()
        case .equivalence: try equivalence()
        case .rankThrows:
            struct GiveUp: Error, CustomStringConvertible { var description: String { "rank one gives up" } }
            try Distributed.run {
                if Distributed.rank == 1 { throw GiveUp() }
                Distributed.barrier()
            }
        case .usageError:
            if Distributed.rank == 1 { _ = Tensor.zeros(2, 3) * Tensor.zeros(4, 5) }
            Distributed.barrier()
        case .rankExits:
            if Distributed.rank == 1 { exit(3) }
            Distributed.barrier()
        }
    }

    private func collectives() {
        let (r, n) = (Double(Distributed.rank), Double(Distributed.size))
        XCTAssertEqual(Distributed.size, 2)
        XCTAssertTrue(Distributed.summary.hasPrefix("2 processes over MPI"), Distributed.summary)
        Distributed.barrier()
        for dtype in [DType.float32, .float64] {
            let expected: [AllReduceOp: [Double]] = [.sum: [n * (n + 1) / 2, n * (n - 1), -n * (n - 1) / 2],
                                                     .mean: [(n + 1) / 2, n - 1, -(n - 1) / 2],
                                                     .max: [n, 2 * (n - 1), 0], .min: [1, 0, -(n - 1)]]
            for op in AllReduceOp.allCases {
                let x = Tensor([r + 1, 2 * r, -r], dtype: dtype)
                Distributed.allReduce(x, op)
                XCTAssertEqual([Double](x), expected[op]!, "\(op) \(dtype)")
                XCTAssertEqual(x.dtype, dtype)
            }
        }
        let m = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: .float64) .* (r + 1)
        Distributed.allReduce(m[1, .all], .sum)                    // a strided row: only it changes
        XCTAssertEqual([Double](m), [1 * (r + 1), 2 * 3, 3 * (r + 1), 4 * 3, 5 * (r + 1), 6 * 3])
        let s = Tensor(scalar: r, dtype: .float64)
        Distributed.allReduce(s, .sum)
        XCTAssertEqual(s.scalar, n * (n - 1) / 2)
        let b = Tensor([r, r + 10], dtype: .float32)
        Distributed.broadcast(b, root: 1)
        XCTAssertEqual([Double](b), [1, 11])
        let gathered = Distributed.allGather(Tensor([r, 10 * r], shape: [2, 1], dtype: .float64))
        XCTAssertEqual(gathered.shape, [2, 2])
        XCTAssertEqual([Double](gathered), [0, 0, 1, 10])
        XCTAssertEqual(Distributed.allGather(Tensor(scalar: r + 5)).shape, [2])
        XCTAssertEqual([Double](Distributed.allGather(Tensor(scalar: r + 5))), [5, 6])

        // The differentiable all-reduce: the job's loss is the sum of every rank's loss.
        let x = Tensor([r + 1, 2], dtype: .float64), c = Tensor([1, r + 1], dtype: .float64)
        let sumC = [n, n * (n + 1) / 2]
        for op in [AllReduceOp.sum, .mean, .max] {
            let g = grad { (w: Tensor) in sum(allReduce(w .* x, op) .* c) }
            let dw = [Double](g(Tensor([1, 1], dtype: .float64)))
            switch op {
            case .sum: XCTAssertEqual(dw, [(r + 1) * sumC[0], 2 * sumC[1]])
            case .mean: XCTAssertEqual(dw, [(r + 1) * sumC[0] / n, 2 * sumC[1] / n])
            default:   // element 0: rank n-1 alone holds the max; element 1: every rank ties at 2
                XCTAssertEqual(dw, [r == n - 1 ? (r + 1) * sumC[0] : 0, 2 * sumC[1] / n])
            }
        }
    }

    private func equivalence() throws {
        let (n, batchsize, epochs) = (32, 8, 2)
        let configurations: [(name: String, dp: DataParallel)] = [
            ("buckets of 1 KB", DataParallel(bucketBytes: 1000, firstBucketBytes: 500)),
            ("a bucket per tensor", DataParallel(bucketBytes: 0, firstBucketBytes: 0)),
            ("one bucket after backward", DataParallel(bucketBytes: .max, firstBucketBytes: .max, overlap: false)),
        ]
        for model in TinyModel.allCases {
            let reference = model.reference(n: n, batchsize: batchsize, epochs: epochs)
            var results: [[Tensor]] = []
            for (name, dp) in configurations {
                let (x, y) = model.data(n)
                var w = model.parameters(seed: 1 + Distributed.rank)      // different until broadcast
                dp.broadcastParameters(w)
                var opt = optimizers(w, Sgd(lr: 0.1))
                let lossgradient = dp.gradloss(model.loss)
                let shard = try dp.shard(minibatch(x, y, batchsize, shuffle: true, seed: 7))
                XCTAssertEqual(shard.batchsize, batchsize / 2)
                for _ in 0..<epochs {
                    for (xb, yb) in shard {
                        let (g, _) = lossgradient(w, xb, yb)
                        update(&w, g, &opt)
                        assertIdenticalOnEveryRank(w, "\(model) \(name)")
                    }
                }
                let step = dp.lastStep
                XCTAssertEqual(step.bytes, w.reduce(0) { $0 + $1.count * 8 })
                if name == "a bucket per tensor" { XCTAssertEqual(step.buckets, w.count) }
                if dp.overlap { XCTAssertEqual(step.startedDuringBackward, step.buckets, "\(model) \(name)") }
                else { XCTAssertEqual(step.startedDuringBackward, 0) }
                for (a, b) in zip(w, reference) {
                    XCTAssertLessThanOrEqual(maxDifference(a, b), 1e-12, "\(model) \(name): 2 ranks × \(batchsize / 2) vs 1 × \(batchsize)")
                }
                results.append(w)
            }
            for (k, other) in results.enumerated().dropFirst() {
                for (a, b) in zip(results[0], other) {
                    XCTAssertEqual([Double](a), [Double](b), "\(model): \(configurations[0].name) vs \(configurations[k].name)")
                }
            }
        }
        try trainerAndCheckpoints()
        try charLM()
    }

    /// The CharLM trained on shards of the streams equals one process on whole blocks.
    private func charLM() throws {
        var random = SplitMix(seed: 3)
        let blocks = minibatchText((0..<400).map { _ in Int.random(in: 0..<7, using: &random) }, batchsize: 8, seqlen: 5)
        func train(_ dp: DataParallel?, seed: Int) throws -> ([Tensor], Double, [String]) {
            setseed(seed)
            var w = charlmWeights(vocab: 7, embed: 6, hidden: 5, dtype: .float64)
            var opt = optimizers(w, Sgd(lr: 0.5))
            var lines: [String] = []
            let mine = try dp.map { try $0.shard(blocks) } ?? blocks
            let ppl = trainCharLM(LSTMCharLM(), &w, trn: mine, tst: mine, epochs: 2, opt: &opt, gclip: 1, dataParallel: dp) { lines.append($0) }
            return (w, ppl[1].trnppl, lines)
        }
        let (reference, referencePPL, _) = try train(nil, seed: 1)
        let (w, ppl, lines) = try train(DataParallel(), seed: 1 + Distributed.rank)
        for (a, b) in zip(w, reference) { XCTAssertLessThanOrEqual(maxDifference(a, b), 1e-12, "CharLM: 2 ranks × 4 streams vs 1 × 8") }
        XCTAssertEqual(ppl, referencePPL, accuracy: 1e-10 * referencePPL)
        XCTAssertEqual(lines.count, Distributed.isPrimary ? 2 : 0, "only rank 0 logs")
        assertIdenticalOnEveryRank(w, "CharLM")
    }

    /// The Trainer's data-parallel option on the MLP, then a checkpoint of its result.
    private func trainerAndCheckpoints() throws {
        let model = TinyModel.mlp, (x, y) = model.data(32)
        let reference = model.reference(n: 32, batchsize: 8, epochs: 1)
        let trainer = Trainer(model.parameters(seed: 1 + Distributed.rank), Sgd(lr: 0.1), dataParallel: DataParallel())
        let losses = Array(trainer.minimize(model.loss, try trainer.dataParallel!.shard(minibatch(x, y, 8, shuffle: true, seed: 7))))
        XCTAssertEqual(losses.count, 4)
        for (a, b) in zip(trainer.w, reference) { XCTAssertLessThanOrEqual(maxDifference(a, b), 1e-12, "Trainer(dataParallel:)") }

        let folder = ProcessInfo.processInfo.environment["KNET_TEST_MPI_DIR"]!
        let path = folder + "/trained.safetensors"
        try saveCheckpoint(path, params: trainer.w, optimizers: trainer.optimizers, metadata: ["writer": "\(Distributed.rank)"])
        let (loaded, metadata) = try loadCheckpoint(path, into: trainer.w, optimizers: trainer.optimizers)
        XCTAssertEqual(metadata["writer"], "0", "only rank 0 writes")
        for (a, b) in zip(loaded, trainer.w) { XCTAssertEqual([Double](a), [Double](b)) }
        // Rank 0 cannot write (its folder does not exist): rank 1 writes nothing either, and is told.
        let failing = Distributed.rank == 0 ? "/nonexistent-knet-folder/x.safetensors" : folder + "/not-written.safetensors"
        XCTAssertThrowsError(try saveCheckpoint(failing, params: trainer.w, optimizers: trainer.optimizers)) { error in
            if Distributed.rank == 1 {
                XCTAssertEqual(error as? DistributedError, .checkpointNotWritten(path: failing, message: "see rank 0's error"))
            } else {
                XCTAssertTrue(error is FileIOError, "\(error)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/not-written.safetensors"))
    }

    /// Fails unless every tensor of `w` has the same bits on every rank.
    private func assertIdenticalOnEveryRank(_ w: [Tensor], _ what: String) {
        for (k, t) in w.enumerated() {
            let all = [Double](Distributed.allGather(reshape(t, [t.count])))
            for rank in 1..<Distributed.size where Array(all[rank * t.count ..< (rank + 1) * t.count]) != Array(all[0..<t.count]) {
                XCTFail("\(what): parameter \(k) differs between rank 0 and rank \(rank)")
            }
        }
    }
}

/// The largest elementwise |a − b|.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Double {
    zip([Double](a), [Double](b)).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
}
