#if canImport(Glibc)
import Glibc
#endif

// Running the generated elementwise kernels on a GPU through the GPU backend and comparing
// each with the CPU formula of its op: the first check to run on a new GPU machine
// (`knet-bench --gpu-check`). The same check runs in `swift test` on the host emulation of
// the CUDA driver, where the kernels are compiled as C++.

/// How the generated kernels are checked against the CPU formulas: the inputs, the
/// reference and the tolerance (shared by the GPU check and the host tests).
enum KernelComparison {
    /// Ordinary values in [-4, 4] and the special ones every op must agree on: signed
    /// zeros, half-integers (rounding, cospi), domain edges, overflow, ±Inf and NaN.
    static let inputs: [Double] = {
        var g = SplitMix(seed: 11)
        let special: [Double] = [0, -0.0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2.5, -2.5, 3, 0.25, 0.999, -0.999, 1e-3,
                                 -1e-3, 20, -20, 88.5, -100, 710, .infinity, -.infinity, .nan]
        return special + (0..<200).map { _ in 8 * Double(g.next() >> 11) * 0x1p-53 - 4 }
    }()

    /// Pairs for the binary kernels: every pair of a small set with the special values,
    /// in both orders, and ordinary pairs.
    static let pairs: [(Double, Double)] = {
        let small: [Double] = [0, -0.0, 0.5, -1, 2, -2.5, 3, 1e-3, .infinity, -.infinity, .nan]
        return small.flatMap { a in small.map { (a, $0) } } + (0..<100).map { (inputs[100 + $0], inputs[24 + $0]) }
    }()

    /// The CPU formula of `op` at dtype precision.
    static func reference(_ op: UnaryOp, _ x: Double, _ dtype: DType) -> Double {
        dtype == .float32 ? Double(op.scalar(Float(x))) : op.scalar(x)
    }

    /// The CPU formula of `op` at dtype precision.
    static func reference(_ op: BinaryOp, _ x: Double, _ y: Double, _ dtype: DType) -> Double {
        dtype == .float32 ? Double(op.scalar(Float(x), Float(y))) : op.scalar(x, y)
    }

    /// Whether a kernel's result agrees with the CPU's: equal, both NaN, or within a few
    /// ulps' worth of relative error (device or host libm and Knet's math differ in the
    /// last bits).
    static func agree(_ kernel: Double, _ cpu: Double, _ dtype: DType) -> Bool {
        if kernel.isNaN || cpu.isNaN { return kernel.isNaN && cpu.isNaN }
        if kernel.isInfinite || cpu.isInfinite { return kernel == cpu }
        let rtol = dtype == .float32 ? 2e-5 : 1e-12, atol = dtype == .float32 ? 1e-6 : 1e-14
        return Swift.abs(kernel - cpu) <= atol + rtol * Swift.abs(cpu)
    }

    /// The indices where `kernel` disagrees with `cpu(index)`, as one report line naming
    /// the kernel and its first few mismatches (`describe(index)` says where); nil when
    /// all agree.
    static func mismatches(_ name: String, _ kernel: [Double], dtype: DType, cpu: (Int) -> Double,
                           describe: (Int) -> String) -> String? {
        let bad = kernel.indices.filter { !agree(kernel[$0], cpu($0), dtype) }
        guard !bad.isEmpty else { return nil }
        return "\(name): \(bad.count) mismatches, e.g. "
            + bad.prefix(3).map { "\(describe($0)): kernel \(kernel[$0]), CPU \(cpu($0))" }.joined(separator: "; ")
    }
}

/// The outcome of running every generated elementwise kernel on one GPU.
public struct GPUKernelReport: Sendable {
    /// "gpu0 (NVIDIA H100 80GB HBM3)".
    public let device: String
    /// Kernels run.
    public let kernels: Int
    /// One line per kernel whose results differ from the CPU formula, with examples.
    public let mismatches: [String]
    /// `x .+ y` (`add_32_ss`) on `bandwidthElements` floats: bytes moved (3 × 4 per
    /// element) per second, in GB/s; nil when not measured.
    public let bandwidth: Double?
    /// Elements of the bandwidth run.
    public let bandwidthElements: Int
}

/// Runs every generated elementwise kernel (unary; binary on dense, scalar-first and
/// scalar-second operands; broadcast) on GPU `device` through the GPU backend, on ordinary
/// and special values, compares each with the CPU formula of its op, and measures the
/// bandwidth of `x .+ y` on `bandwidthElements` floats (0 skips it). Throws
/// `GPUError.noDevice` when there is no such GPU.
///
///     let report = try checkGPUKernels()
///     print(report.mismatches.isEmpty ? "all \(report.kernels) kernels agree" : report.mismatches.joined(separator: "\n"))
public func checkGPUKernels(device: Int = gpu(), bandwidthElements: Int = 100_000_000) throws -> GPUKernelReport {
    guard let runtime = CUDARuntime.current, device >= 0, device < runtime.backends.count else { throw GPUError.noDevice(device) }
    let backend = runtime.backends[device], d = backend.device
    typealias K = KernelComparison
    var mismatches: [String] = []
    for dtype in [DType.float32, .float64] {
        let s = CUDAKernelSource.suffix(dtype)
        let x = K.inputs, a = K.pairs.map { $0.0 }, b = K.pairs.map { $0.1 }, scalar = 2.5, columns = 7
        let xd = Tensor(x, dtype: dtype, device: d), ad = Tensor(a, dtype: dtype, device: d), bd = Tensor(b, dtype: dtype, device: d)
        let sd = Tensor(scalar: scalar, dtype: dtype, device: d)
        for op in UnaryOp.allCases {
            let name = "\(op.name)_\(s)", y = [Double](elementwise(op, xd))
            mismatches += [K.mismatches(name, y, dtype: dtype, cpu: { K.reference(op, x[$0], dtype) }, describe: { "at \(x[$0])" })]
                .compactMap { $0 }
        }
        // broadcast: a as [n, 1] against the first 7 of b as [1, 7] into [n, 7]
        let column = reshape(ad, [a.count, 1]), row = reshape(bd[0..<columns], [1, columns])
        for op in BinaryOp.allCases {
            let name = "\(op.name)_\(s)"
            let ss = [Double](elementwise(op, ad, bd)), sv = [Double](elementwise(op, sd, bd))
            let vs = [Double](elementwise(op, ad, sd)), bc = [Double](elementwise(op, column, row))
            mismatches += [
                K.mismatches(name + "_ss", ss, dtype: dtype, cpu: { K.reference(op, a[$0], b[$0], dtype) },
                             describe: { "at (\(a[$0]), \(b[$0]))" }),
                K.mismatches(name + "_sv", sv, dtype: dtype, cpu: { K.reference(op, scalar, b[$0], dtype) },
                             describe: { "at (\(scalar), \(b[$0]))" }),
                K.mismatches(name + "_vs", vs, dtype: dtype, cpu: { K.reference(op, a[$0], scalar, dtype) },
                             describe: { "at (\(a[$0]), \(scalar))" }),
                K.mismatches(name + "_bc", bc, dtype: dtype, cpu: { K.reference(op, a[$0 % a.count], b[$0 / a.count], dtype) },
                             describe: { "element \($0)" }),
            ].compactMap { $0 }
        }
    }
    return GPUKernelReport(device: "gpu\(device) (\(backend.gpu.name))", kernels: CUDAKernelSource.kernelNames.count,
                           mismatches: mismatches, bandwidth: addBandwidth(on: backend, bandwidthElements),
                           bandwidthElements: bandwidthElements)
}

/// `x .+ y` on `n` floats on `backend`'s device: bytes moved (3 × 4 per element) per
/// second in GB/s, the median of 5 samples of 10 additions after warm-up; nil when not
/// asked for (n = 0) or when the device lacks the memory.
private func addBandwidth(on backend: CUDABackend, _ n: Int) -> Double? {
    guard n > 0, let free = try? backend.driver.memoryInfo().free, free > 4 * 4 * n else { return nil }
    let x = Tensor.fill(1, shape: [n], device: backend.device), y = Tensor.fill(2, shape: [n], device: backend.device)
    let z = Tensor(uninitialized: [n], dtype: .float32, device: backend.device)
    for _ in 0..<3 { backend.binary(.add, x, y, into: z) }         // warm-up (clocks ramp up)
    backend.synchronize()
    var times: [Double] = []
    for _ in 0..<5 {
        let start = monotonicSeconds()
        for _ in 0..<10 { backend.binary(.add, x, y, into: z) }
        backend.synchronize()
        times.append((monotonicSeconds() - start) / 10)
    }
    return 3 * Double(n * 4) / times.sorted()[2] / 1e9
}
