import Knet
import KnetGEMM
import Dispatch

/// One micro-benchmark figure: what was measured, the value and its unit.
public struct MicroResult: Sendable, Equatable {
    /// The section ("per-op overhead", "SGEMM", "elementwise").
    public var section: String
    /// What was measured, e.g. "(64×784)·(784×100), Swift GEMM".
    public var name: String
    /// The median value.
    public var value: Double
    /// Its unit ("µs", "GFLOP/s", "GB/s").
    public var unit: String
    /// For a GEMM: the value over the measured FMA peak of its instruction set (the widest
    /// for a BLAS) on as many threads; nil otherwise.
    public var fractionOfPeak: Double? = nil
}

/// The micro-benchmarks: per-op overhead of a small `.+` with and without recording,
/// the measured FMA peak of each vector instruction set, SGEMM GFLOP/s of the system BLAS
/// and of the Swift GEMM in each instruction set on the table's shapes (MLP layer and
/// gradient, LSTM step, LeNet's per-image convolutions) and a large square, with their
/// fraction of that peak, and elementwise/reduction GB/s. Each figure is the median of `runs`.
///
///     for r in microBenchmarks(runs: 5, scale: .full) { print(r.name, r.value, r.unit) }
public func microBenchmarks(runs: Int, scale: BenchmarkScale) -> [MicroResult] {
    perOpOverhead(runs: runs, scale: scale) + gemmThroughput(runs: runs, scale: scale) + elementwiseBandwidth(runs: runs, scale: scale)
}

private func perOpOverhead(runs: Int, scale: BenchmarkScale) -> [MicroResult] {
    let a = Tensor.rand(10), b = Tensor.rand(10)
    let n = scale == .full ? 100_000 : 100
    let plain = median(runs: runs) { for _ in 0..<n { _ = a .+ b } } / Double(n)
    let recorded = median(runs: runs) {
        _ = forwardRecorded({ (p: Tensor, q: Tensor) -> Tensor in
            var r = p
            for _ in 0..<n { r = p .+ q }
            return sum(r)
        }, a, b)
    } / Double(n)
    return [MicroResult(section: "per-op overhead", name: "10-element .+, not recorded", value: plain * 1e6, unit: "µs"),
            MicroResult(section: "per-op overhead", name: "10-element .+, recorded", value: recorded * 1e6, unit: "µs")]
}

private func gemmThroughput(runs: Int, scale: BenchmarkScale) -> [MicroResult] {
    _ = CPUBLAS.backend                       // installs Knet's thread pool as SwiftGEMM's runner
    let threads = CPUBLAS.threads
    let simd = SwiftGEMM.available.filter { $0 != .portable }
    let peaks = Dictionary(uniqueKeysWithValues: simd.compactMap { k in fmaPeak(k, threads: threads).map { (k, $0) } })
    var results = simd.compactMap { k in
        peaks[k].map { MicroResult(section: "FMA peak", name: "Float32 FMAs, \(k.title), \(threads) threads", value: $0, unit: "GFLOP/s") }
    }
    /// GFLOP/s of `product` (a GEMM with C = op(A)·op(B) on 0.5s and 0.25s): one call at a
    /// time, or (`perThread`) one independent call on each thread at once, as the
    /// convolution runs its per-image GEMMs.
    func gflops(m: Int, n: Int, k: Int, transB: Bool, perThread: Bool,
                _ product: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Double {
        let copies = perThread ? threads : 1
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n * copies)
        let reps = Swift.max(1, Int((scale == .full ? 2e9 : 2e6) / Double(2 * m * n * k * copies)))
        let t = median(runs: runs) {
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                let base = pc.baseAddress!
                if perThread {
                    concurrently(copies) { i in for _ in 0..<reps { product(pa.baseAddress!, pb.baseAddress!, base + i * m * n) } }
                } else {
                    for _ in 0..<reps { product(pa.baseAddress!, pb.baseAddress!, base) }
                }
            } } }
        }
        return 2 * Double(m * n * k) * Double(reps * copies) / t / 1e9
    }
    let square = scale == .full ? 1024 : 64
    let shapes: [(String, Int, Int, Int, Bool, Bool)] = [
        ("(64×784)·(784×100), the MLP's layer", 64, 100, 784, false, false),
        ("(64×100)·(784×100)ᵀ, the MLP's dW", 64, 784, 100, true, false),
        ("(1024×256)·(256×128), an LSTM step", 1024, 128, 256, false, false),
        ("(576×25)·(25×20), LeNet conv1 per image, one per thread", 576, 20, 25, false, true),
        ("(64×500)·(500×50), LeNet conv2 per image, one per thread", 64, 50, 500, false, true),
        ("\(square)×\(square)×\(square)", square, square, square, false, false),
    ]
    for (name, m, n, k, transB, perThread) in shapes {
        let ldb = transB ? n : k
        if CPUBLAS.library != nil {
            let v = gflops(m: m, n: n, k: k, transB: transB, perThread: perThread) { a, b, c in
                CPUBLAS.gemm(using: .blas, transA: false, transB: transB, m: m, n: n, k: k, alpha: Float(1),
                             a: a, lda: m, b: b, ldb: ldb, beta: Float(0), c: c, ldc: m)
            }
            results.append(MicroResult(section: "SGEMM", name: "\(name), BLAS", value: v, unit: "GFLOP/s",
                                       fractionOfPeak: simd.last.flatMap { peaks[$0] }.map { v / $0 }))
        }
        for kernel in simd {
            let v = gflops(m: m, n: n, k: k, transB: transB, perThread: perThread) { a, b, c in
                SwiftGEMM.sgemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: m, b: b, ldb: ldb,
                                beta: 0, c: c, ldc: m, using: kernel)
            }
            results.append(MicroResult(section: "SGEMM", name: "\(name), Swift GEMM \(kernel.title)", value: v, unit: "GFLOP/s",
                                       fractionOfPeak: peaks[kernel].map { v / $0 }))
        }
    }
    return results
}

/// Runs `body(i)` for i < `copies` on that many threads at once.
private func concurrently(_ copies: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        if let run = SwiftGEMM.parallelRunner { run(copies, body) } else { DispatchQueue.concurrentPerform(iterations: copies, execute: body) }
    }
}

/// The Float32 FMA peak of `threads` cores in `kernel`'s instruction set, GFLOP/s: the
/// best of three timings of every thread running `SwiftGEMM.fmaChains` at once.
private func fmaPeak(_ kernel: SwiftGEMM.Kernel, threads: Int) -> Double? {
    let iterations = 10_000_000
    guard let flops = SwiftGEMM.fmaChains(using: kernel, iterations: 1).map({ $0 * Double(iterations) }) else { return nil }
    let best = (0..<3).map { _ in timed { concurrently(threads) { _ in _ = SwiftGEMM.fmaChains(using: kernel, iterations: iterations) } } }.min()!
    return flops * Double(threads) / best / 1e9
}

extension SwiftGEMM.Kernel {
    /// The instruction set's usual name ("AVX2+FMA", "AVX-512").
    var title: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "AVX2+FMA"
        case .avx512: return "AVX-512"
        }
    }
}

private func elementwiseBandwidth(runs: Int, scale: BenchmarkScale) -> [MicroResult] {
    let count = scale == .full ? 10_000_000 : 10_000
    let u = Tensor.rand(count), v = Tensor.rand(count)
    let cases: [(String, Int, () -> Void)] = [
        ("u .+ v", 12, { _ = u .+ v }), ("relu(u)", 8, { _ = relu(u) }), ("exp(u)", 8, { _ = exp(u) }),
        ("sum(u)", 4, { _ = sum(u) }), ("sum(reshape(u, 1000, :), dims: 0)", 4, { _ = sum(reshape(u, 1000, -1), dims: 0) }),
    ]
    return cases.map { name, bytes, body in
        MicroResult(section: "elementwise", name: "\(name), \(count) Float32", value: Double(bytes * count) / median(runs: runs, body) / 1e9,
                    unit: "GB/s")
    }
}
