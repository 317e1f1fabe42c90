import Knet
import KnetSVG
#if canImport(Glibc)
import Glibc
#endif

// `knet-bench --memory`: is memory steady over a long training run? The table's MLP and
// CharLM train for many steps while the resident set (/proc/self/statm) and the host
// caching allocator's counters (`memoryStats()`) are sampled; after the warm-up the
// resident set should stay flat and the allocator should serve every request from its
// pool (no new system allocations).

/// One sample: after `step` training steps, the resident set and the allocator's counters.
public struct MemorySample: Sendable, Equatable {
    /// Training steps done.
    public let step: Int
    /// Resident set size in bytes.
    public let residentBytes: Int
    /// The host allocator's counters.
    public let stats: MemoryStats
}

/// The samples of one model's training run and what they say about steady state.
public struct MemorySeries: Sendable {
    /// The model ("mlp", "charlm").
    public let name: String
    /// What was trained.
    public let summary: String
    /// Samples from step 0 (before training) on, every `every` steps.
    public let samples: [MemorySample]
    /// The steps counted as warm-up (10% of the run, at least one sample interval).
    public let warmupSteps: Int

    /// The sample at the end of the warm-up.
    public var warm: MemorySample { samples.last { $0.step <= warmupSteps } ?? samples[0] }

    /// How much the resident set grew after the warm-up: the largest later sample over
    /// the warm one, minus 1 (0.01 is 1%).
    public var residentGrowth: Double {
        let later = samples.filter { $0.step > warmupSteps }.map(\.residentBytes)
        return Double((later.max() ?? warm.residentBytes) - warm.residentBytes) / Double(warm.residentBytes)
    }

    /// New system allocations (malloc calls of the caching allocator) per step after the warm-up.
    public var systemAllocationsPerStep: Double {
        guard let last = samples.last, last.step > warm.step else { return 0 }
        return Double(last.stats.systemAllocations - warm.stats.systemAllocations) / Double(last.step - warm.step)
    }

    /// The series as a table and the two verdicts (goals: growth < 1%, 0 allocations per step).
    public var text: String {
        func mb(_ b: Int) -> String { fmt(Double(b) / 1_048_576, 1) }
        var lines = ["\(name): \(summary)",
                     "  step   RSS MB  in use MB  cached MB  system allocs  pool hits"]
        for s in samples {
            lines.append("  " + ["\(s.step)".leftPad(5), mb(s.residentBytes).leftPad(8), mb(s.stats.bytesInUse).leftPad(10),
                                 mb(s.stats.bytesCached).leftPad(10), "\(s.stats.systemAllocations)".leftPad(14),
                                 "\(s.stats.poolHits)".leftPad(10)].joined(separator: " "))
        }
        let growth = residentGrowth * 100, perStep = systemAllocationsPerStep
        lines.append("  after the \(warmupSteps)-step warm-up: RSS growth \(fmt(growth, 2))% (goal < 1%: \(growth < 1 ? "met" : "NOT met")), "
                     + "new system allocations per step \(fmt(perStep, 2)) (goal 0: \(perStep == 0 ? "met" : "NOT met"))")
        return lines.joined(separator: "\n")
    }

    /// Both goals met.
    public var isSteady: Bool { residentGrowth < 0.01 && systemAllocationsPerStep == 0 }
}

/// Trains the table's MLP (MNIST 784→64→10, batch 100, SGD) for `mlpSteps` steps and its
/// CharLM (Hiawatha blocks 128×100, LSTM 256, SGD with clipping) for `charlmSteps`,
/// sampling memory every `every` steps; data from `source` (synthetic data has the real
/// shapes), tiny sizes at `.smoke` scale. `log` hears each sample as it is taken.
///
///     let series = try runMemoryCheck(source: .synthetic, scale: .full)
///     for s in series { print(s.text) }
public func runMemoryCheck(source: DataSource, scale: BenchmarkScale, mlpSteps: Int = 10_000, charlmSteps: Int = 1_000,
                           every: Int = 100, log: (String) -> Void = { _ in }) throws -> [MemorySeries] {
    precondition(every > 0 && mlpSteps >= 0 && charlmSteps >= 0, "runMemoryCheck: steps must be >= 0 and every > 0")
    let data = Workloads(source: source, scale: scale)
    var series: [MemorySeries] = []

    let mnist = try data.mnist()
    let batches = Array(minibatch(mnist.xtrn, mnist.ytrn, 100))
    let model = Classifier.mlp
    setseed(1)
    let trainer = Trainer(model.parameters(), Sgd(lr: model.lr))
    var next = 0
    series.append(sampled("mlp", "MNIST 784→64→10 relu, batch 100, SGD lr 0.5, \(batches.count) batches cycled",
                          steps: mlpSteps, every: every, log: log) { n in
        let chunk = (0..<n).lazy.map { k in batches[(next + k) % batches.count] }
        next = (next + n) % batches.count
        for _ in trainer.minimize({ w, x, y in nll(model.predict(w, x), y) }, chunk) {}
    })

    let charlm = try CharLMSetup(data)
    var cw = charlm.parameters()
    var copt = optimizers(cw, Sgd(lr: 1.0))
    var block = 0
    let shape = charlm.blocks.first.map { "\($0.batchsize)×\($0.seqlen)" } ?? "none"
    series.append(sampled("charlm", "RNNCharLM embedding \(charlm.model.rnn.inputSize), LSTM \(charlm.model.rnn.hiddenSize), blocks \(shape), "
                          + "SGD lr 1 + clip 5, \(charlm.blocks.count) blocks cycled", steps: charlmSteps, every: every, log: log) { n in
        let chunk = (0..<n).map { k in charlm.blocks[(block + k) % charlm.blocks.count] }
        block = (block + n) % charlm.blocks.count
        charlm.train(&cw, &copt, chunk)
    })
    return series
}

/// Runs `train(n)` (n steps) until `steps` steps are done, sampling before and every `every` steps.
private func sampled(_ name: String, _ summary: String, steps: Int, every: Int, log: (String) -> Void,
                     _ train: (Int) -> Void) -> MemorySeries {
    func sample(_ step: Int) -> MemorySample {
        let s = MemorySample(step: step, residentBytes: residentBytes(), stats: memoryStats())
        log("\(name) step \(step): RSS \(s.residentBytes) B, \(s.stats)")
        return s
    }
    var samples = [sample(0)]
    var done = 0
    while done < steps {
        let n = Swift.min(every, steps - done)
        train(n)
        done += n
        samples.append(sample(done))
    }
    return MemorySeries(name: name, summary: summary, samples: samples, warmupSteps: Swift.max(every, steps / 10))
}

/// This process's resident set size in bytes (the second field of /proc/self/statm, in
/// pages), 0 where /proc is missing.
func residentBytes() -> Int {
    let fields = readSmallFile("/proc/self/statm")?.split(separator: " ") ?? []
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * sysconf(Int32(_SC_PAGESIZE))
}
