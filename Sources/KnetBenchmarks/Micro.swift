import Knet

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
}

/// The micro-benchmarks: per-op overhead of a small `.+` with and without recording,
/// SGEMM GFLOP/s of the system BLAS and the Swift kernel on the MLP's shapes and a
/// large square, and elementwise/reduction GB/s. Each figure is the median of `runs`.
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
    func gflops(_ backend: GEMMBackend, m: Int, n: Int, k: Int, transB: Bool) -> Double {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        let reps = Swift.max(1, Int((scale == .full ? 2e9 : 2e6) / Double(2 * m * n * k)))
        let t = median(runs: runs) {
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                for _ in 0..<reps {
                    CPUBLAS.gemm(using: backend, transA: false, transB: transB, m: m, n: n, k: k, alpha: Float(1),
                                 a: pa.baseAddress!, lda: m, b: pb.baseAddress!, ldb: transB ? n : k, beta: Float(0),
                                 c: pc.baseAddress!, ldc: m)
                }
            } } }
        }
        return 2 * Double(m * n * k) * Double(reps) / t / 1e9
    }
    let square = scale == .full ? 1024 : 64
    var results: [MicroResult] = []
    for (name, m, n, k, transB) in [("(64×784)·(784×100), the MLP's layer", 64, 100, 784, false),
                                    ("(64×100)·(784×100)ᵀ, the MLP's dW", 64, 784, 100, true),
                                    ("(1024×256)·(256×128), an LSTM step", 1024, 128, 256, false),
                                    ("\(square)×\(square)×\(square)", square, square, square, false)] {
        var backends: [GEMMBackend] = [.swift]
        if CPUBLAS.library != nil { backends.insert(.blas, at: 0) }
        for backend in backends {
            results.append(MicroResult(section: "SGEMM", name: "\(name), \(backend == .blas ? "BLAS" : "Swift GEMM")",
                                       value: gflops(backend, m: m, n: n, k: k, transB: transB), unit: "GFLOP/s"))
        }
    }
    return results
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
