#if canImport(Glibc)
import Glibc
#endif

// Running the generated elementwise kernels on a GPU and comparing each with the CPU
// formula of its op: the first check to run on a new GPU machine (`knet-bench --gpu-check`).
// The same comparison runs on the host in `swift test`, against the kernels compiled as
// C++ behind a stand-in driver, so the launch path is exercised without a GPU too.

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
    /// `add_32_ss` on `bandwidthElements` floats: bytes moved (3 × 4 per element) per
    /// second, in GB/s; nil when not measured.
    public let bandwidth: Double?
    /// Elements of the bandwidth run.
    public let bandwidthElements: Int
}

/// Runs every generated elementwise kernel (unary; binary on dense, scalar-first and
/// scalar-second operands; broadcast) on GPU `device` on ordinary and special values,
/// compares each with the CPU formula of its op, and measures `add_32_ss`'s bandwidth
/// on `bandwidthElements` floats (0 skips it). Throws `GPUError` when there is no such
/// GPU, no NVRTC, or a driver call fails.
///
///     let report = try checkGPUKernels()
///     print(report.mismatches.isEmpty ? "all \(report.kernels) kernels agree" : report.mismatches.joined(separator: "\n"))
public func checkGPUKernels(device: Int = gpu(), bandwidthElements: Int = 100_000_000) throws -> GPUKernelReport {
    guard let driver = CUDADriver.shared, device >= 0, device < driver.devices.count else { throw GPUError.noDevice(device) }
    let gpu = driver.devices[device]
    guard let nvrtc = NVRTC.shared else { throw GPUError.driver(call: "NVRTC", message: "no libnvrtc found (set KNET_LIBNVRTC)") }
    let cubin = try nvrtc.compileBinary(CUDAKernelSource.elementwise, name: "knet_elementwise.cu", architecture: gpu.computeCapability)
    return try checkKernels(driver: driver, device: gpu, image: cubin, bandwidthElements: bandwidthElements)
}

/// `checkGPUKernels` on a given driver and module image (the host tests pass a stand-in
/// driver whose "image" is ignored). Device memory comes from a caching allocator of its
/// own, emptied when the check ends.
func checkKernels(driver: CUDADriver, device: GPUDevice, image: [UInt8], bandwidthElements: Int) throws -> GPUKernelReport {
    try driver.activate(device)
    let module = try driver.loadModule(image, functions: CUDAKernelSource.kernelNames)
    let allocator = CachingAllocator(source: CUDAMemory(driver: driver, device: device))
    var buffers: [DeviceBuffer] = []
    defer {
        buffers.removeAll()
        allocator.emptyCache()
        try? driver.unload(module)
    }
    typealias K = KernelComparison

    /// Device memory of `bytes` (held until the check ends).
    func reserve(_ bytes: Int) throws -> DeviceBuffer {
        let b = try DeviceBuffer(bytes: bytes, allocator: allocator, device: device.ordinal)
        buffers.append(b)
        return b
    }
    /// A device copy of `t` (contiguous).
    func upload(_ t: Tensor) throws -> DeviceBuffer {
        let b = try reserve(t.count * t.dtype.size)
        try driver.copy(toDevice: UInt64(b.address), from: t.storage.pointer, bytes: b.bytes)
        return b
    }
    /// Runs kernel `name` on `inputs`, writing `count` elements to `output`, with an extra
    /// by-value parameter when given, and returns them.
    func run(_ name: String, _ inputs: [DeviceBuffer], _ output: DeviceBuffer, count: Int, dtype: DType,
             extra: [Int]? = nil) throws -> [Double] {
        var addresses = (inputs + [output]).map { UInt64($0.address) }
        var n = count
        var parameter = extra ?? []
        let result = Tensor(uninitialized: [count], dtype: dtype)
        do {
            try addresses.withUnsafeMutableBufferPointer { pointers in
                try withUnsafeMutablePointer(to: &n) { n in
                    try parameter.withUnsafeMutableBytes { extraBytes in
                        var arguments: [UnsafeMutableRawPointer?] = (0..<pointers.count).map { UnsafeMutableRawPointer(pointers.baseAddress! + $0) }
                        arguments.append(UnsafeMutableRawPointer(n))
                        if extra != nil { arguments.append(extraBytes.baseAddress) }
                        try driver.launch(module.functions[name]!, blocks: min(4096, max(1, (count + 255) / 256)), threads: 256,
                                          arguments: arguments)
                    }
                }
            }
            try driver.synchronize()
            try driver.copy(toHost: result.storage.pointer, from: UInt64(output.address), bytes: count * dtype.size)
        } catch GPUError.driver(let call, let message) {
            throw GPUError.driver(call: "\(call) (kernel \(name))", message: message)
        }
        return [Double](result)
    }

    var mismatches: [String] = []
    for dtype in [DType.float32, .float64] {
        let s = CUDAKernelSource.suffix(dtype)
        let xt = Tensor(K.inputs, dtype: dtype), x = [Double](xt)
        let at = Tensor(K.pairs.map { $0.0 }, dtype: dtype), bt = Tensor(K.pairs.map { $0.1 }, dtype: dtype)
        let a = [Double](at), b = [Double](bt), scalar = 2.5, columns = 7
        let xd = try upload(xt), ad = try upload(at), bd = try upload(bt), sd = try upload(Tensor([scalar], dtype: dtype))
        let out = try reserve(max(x.count, a.count * columns) * dtype.size)       // every kernel writes all it returns
        for op in UnaryOp.allCases {
            let name = "\(op.name)_\(s)"
            let y = try run(name, [xd], out, count: x.count, dtype: dtype)
            mismatches += [K.mismatches(name, y, dtype: dtype, cpu: { K.reference(op, x[$0], dtype) }, describe: { "at \(x[$0])" })]
                .compactMap { $0 }
        }
        // broadcast: a as [n, 1] against the first 7 of b as [1, 7] into [n, 7]
        let layout = CUDAKernelSource.broadcastLayout(shape: [a.count, columns], xStrides: [1, 0], yStrides: [0, 1])
        for op in BinaryOp.allCases {
            let name = "\(op.name)_\(s)"
            let ss = try run(name + "_ss", [ad, bd], out, count: a.count, dtype: dtype)
            let sv = try run(name + "_sv", [sd, bd], out, count: b.count, dtype: dtype)
            let vs = try run(name + "_vs", [ad, sd], out, count: a.count, dtype: dtype)
            let bc = try run(name + "_bc", [ad, bd], out, count: a.count * columns, dtype: dtype, extra: layout)
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

    /// `add_32_ss` on `bandwidthElements` floats: bytes moved per second in GB/s, the
    /// median of 5 samples of 10 launches; nil when not asked for or out of memory.
    func bandwidth() throws -> Double? {
        guard bandwidthElements > 0 else { return nil }
        var addresses: [UInt64] = []
        for _ in 0..<3 {
            guard let b = try? reserve(bandwidthElements * 4) else { return nil }
            addresses.append(UInt64(b.address))
        }
        var n = bandwidthElements
        func launch() throws {
            try addresses.withUnsafeMutableBufferPointer { p in
                try withUnsafeMutablePointer(to: &n) { n in
                    let arguments = (0..<3).map { UnsafeMutableRawPointer(p.baseAddress! + $0) } + [UnsafeMutableRawPointer(n)]
                    try driver.launch(module.functions["add_32_ss"]!, blocks: min(65535, (bandwidthElements + 255) / 256),
                                      threads: 256, arguments: arguments)
                }
            }
        }
        for _ in 0..<3 { try launch() }                                 // warm-up (clocks ramp up)
        try driver.synchronize()
        var times: [Double] = []
        for _ in 0..<5 {
            let start = monotonicSeconds()
            for _ in 0..<10 { try launch() }
            try driver.synchronize()
            times.append((monotonicSeconds() - start) / 10)
        }
        return 3 * Double(bandwidthElements * 4) / times.sorted()[2] / 1e9
    }

    return GPUKernelReport(device: "gpu\(device.ordinal) (\(device.name))", kernels: CUDAKernelSource.kernelNames.count,
                           mismatches: mismatches, bandwidth: try bandwidth(), bandwidthElements: bandwidthElements)
}
