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

    /// `v` rounded to `dtype`.
    static func rounded(_ v: Double, _ dtype: DType) -> Double { dtype == .float32 ? Double(Float(v)) : v }

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

    /// `values` as `dtype`'s bytes.
    static func bytes(_ values: [Double], _ dtype: DType) -> [UInt8] {
        dtype == .float32 ? values.map { Float($0) }.withUnsafeBytes { Array($0) } : values.withUnsafeBytes { Array($0) }
    }

    /// `bytes` of `dtype` as Doubles.
    static func values(_ bytes: [UInt8], _ dtype: DType) -> [Double] {
        bytes.withUnsafeBytes { raw in
            dtype == .float32 ? raw.bindMemory(to: Float.self).map(Double.init) : Array(raw.bindMemory(to: Double.self))
        }
    }

    /// The kernels' name suffix of `dtype`.
    static func suffix(_ dtype: DType) -> String { dtype == .float32 ? "32" : "64" }
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
/// driver whose "image" is ignored).
func checkKernels(driver: CUDADriver, device: GPUDevice, image: [UInt8], bandwidthElements: Int) throws -> GPUKernelReport {
    try driver.activate(device)
    let functions = try driver.loadModule(image, functions: CUDAKernelSource.kernelNames)
    var mismatches: [String] = []
    var buffers: [UInt64] = []
    defer { for b in buffers { driver.free(b, on: device) } }

    /// A device copy of `bytes` (freed when the check ends).
    func upload(_ bytes: [UInt8]) throws -> UInt64 {
        guard let address = try driver.allocate(max(bytes.count, 1)) else {
            throw GPUError.driver(call: "cuMemAlloc", message: "out of memory")
        }
        buffers.append(address)
        try bytes.withUnsafeBytes { try driver.copy(toDevice: address, from: $0.baseAddress!, bytes: bytes.count) }
        return address
    }
    /// Runs `name` with device pointers and an element count (and optional extra
    /// parameter bytes) and returns the `count` results written to a fresh buffer.
    func run(_ name: String, _ inputs: [UInt64], count: Int, dtype: DType, extra: [UInt8]? = nil) throws -> [Double] {
        guard let function = functions[name] else { throw GPUError.driver(call: "cuModuleGetFunction(\(name))", message: "missing") }
        let output = try upload([UInt8](repeating: 0, count: count * dtype.size))
        var values = inputs + [output]
        var n = count
        var parameter = extra ?? []
        var result = [UInt8](repeating: 0, count: count * dtype.size)
        do {
            try values.withUnsafeMutableBufferPointer { pointers in
                try withUnsafeMutablePointer(to: &n) { n in
                    try parameter.withUnsafeMutableBytes { extraBytes in
                        var arguments: [UnsafeMutableRawPointer?] = (0..<pointers.count).map { UnsafeMutableRawPointer(pointers.baseAddress! + $0) }
                        arguments.append(UnsafeMutableRawPointer(n))
                        if extra != nil { arguments.append(extraBytes.baseAddress) }
                        try driver.launch(function, blocks: min(4096, max(1, (count + 255) / 256)), threads: 256, arguments: arguments)
                    }
                }
            }
            try driver.synchronize()
            try result.withUnsafeMutableBytes { try driver.copy(toHost: $0.baseAddress!, from: output, bytes: $0.count) }
        } catch GPUError.driver(let call, let message) {
            throw GPUError.driver(call: "\(call) (kernel \(name))", message: message)
        }
        return KernelComparison.values(result, dtype)
    }
    func report(_ kernel: String, _ failed: [String]) {
        if !failed.isEmpty { mismatches.append("\(kernel): \(failed.count) mismatches, e.g. " + failed.prefix(3).joined(separator: "; ")) }
    }

    typealias K = KernelComparison
    for dtype in [DType.float32, .float64] {
        let s = K.suffix(dtype)
        let x = K.inputs.map { K.rounded($0, dtype) }
        let xd = try upload(K.bytes(x, dtype))
        for op in UnaryOp.allCases {
            let y = try run("\(op.name)_\(s)", [xd], count: x.count, dtype: dtype)
            report("\(op.name)_\(s)", x.indices.filter { !K.agree(y[$0], K.reference(op, x[$0], dtype), dtype) }.map {
                "at \(x[$0]): kernel \(y[$0]), CPU \(K.reference(op, x[$0], dtype))"
            })
        }
        let a = K.pairs.map { K.rounded($0.0, dtype) }, b = K.pairs.map { K.rounded($0.1, dtype) }
        let ad = try upload(K.bytes(a, dtype)), bd = try upload(K.bytes(b, dtype))
        let scalar = 2.5, sd = try upload(K.bytes([scalar], dtype))
        // broadcast: a as [n, 1] against the first 7 of b as [1, 7] into [n, 7]
        let columns = 7
        var layout = [Int](repeating: 0, count: 1 + 3 * CUDAKernelSource.maxBroadcastDims)
        layout[0] = 2
        layout[1] = a.count; layout[2] = columns                       // output dims
        layout[9] = 1; layout[10] = 0                                   // a's strides
        layout[17] = 0; layout[18] = 1                                  // b's strides
        let layoutBytes = layout.withUnsafeBytes { Array($0) }
        for op in BinaryOp.allCases {
            let name = "\(op.name)_\(s)"
            let ss = try run(name + "_ss", [ad, bd], count: a.count, dtype: dtype)
            report(name + "_ss", a.indices.filter { !K.agree(ss[$0], K.reference(op, a[$0], b[$0], dtype), dtype) }.map {
                "at (\(a[$0]), \(b[$0])): kernel \(ss[$0]), CPU \(K.reference(op, a[$0], b[$0], dtype))"
            })
            let sv = try run(name + "_sv", [sd, bd], count: b.count, dtype: dtype)
            report(name + "_sv", b.indices.filter { !K.agree(sv[$0], K.reference(op, scalar, b[$0], dtype), dtype) }.map {
                "at (\(scalar), \(b[$0])): kernel \(sv[$0]), CPU \(K.reference(op, scalar, b[$0], dtype))"
            })
            let vs = try run(name + "_vs", [ad, sd], count: a.count, dtype: dtype)
            report(name + "_vs", a.indices.filter { !K.agree(vs[$0], K.reference(op, a[$0], scalar, dtype), dtype) }.map {
                "at (\(a[$0]), \(scalar)): kernel \(vs[$0]), CPU \(K.reference(op, a[$0], scalar, dtype))"
            })
            let bc = try run(name + "_bc", [ad, bd], count: a.count * columns, dtype: dtype, extra: layoutBytes)
            report(name + "_bc", bc.indices.filter { k in
                !K.agree(bc[k], K.reference(op, a[k % a.count], b[k / a.count], dtype), dtype)
            }.map { k in "element \(k): kernel \(bc[k]), CPU \(K.reference(op, a[k % a.count], b[k / a.count], dtype))" })
        }
    }

    /// `add_32_ss` on `bandwidthElements` floats: bytes moved per second in GB/s, the
    /// median of 5 samples of 10 launches; nil when not asked for or out of memory.
    func bandwidth() throws -> Double? {
        guard bandwidthElements > 0, let add = functions["add_32_ss"] else { return nil }
        var addresses: [UInt64] = []
        for _ in 0..<3 {
            guard let address = try driver.allocate(bandwidthElements * 4) else { return nil }
            buffers.append(address)
            addresses.append(address)
        }
        var n = bandwidthElements
        func launch() throws {
            try addresses.withUnsafeMutableBufferPointer { p in
                try withUnsafeMutablePointer(to: &n) { n in
                    let arguments = (0..<3).map { UnsafeMutableRawPointer(p.baseAddress! + $0) } + [UnsafeMutableRawPointer(n)]
                    try driver.launch(add, blocks: min(65535, (bandwidthElements + 255) / 256), threads: 256, arguments: arguments)
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
