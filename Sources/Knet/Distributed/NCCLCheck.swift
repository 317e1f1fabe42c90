#if canImport(Glibc)
import Glibc
#endif

/// What `checkNCCL` found: the library, the collectives that gave wrong values, and the
/// all-reduce's speed.
public struct NCCLCheckReport: Sendable {
    /// "NCCL 22105 (libnccl.so.2) on gpu0".
    public let transport: String
    /// One line per collective whose result differs from its input (empty: all correct).
    public let mismatches: [String]
    /// Elements of each all-reduce timed.
    public let elements: Int
    /// Median seconds of one Float32 all-reduce of `elements` (stream synchronised).
    public let seconds: Double
    /// `4 · elements / seconds` in GB/s (NCCL's "algorithm bandwidth").
    public var bandwidth: Double { Double(4 * elements) / seconds / 1e9 }
}

/// The device check of the NCCL path on GPU `device` as a job of one rank: a
/// communicator made from a unique id, then all-reduce (sum, max, min, and mean through
/// `Distributed`), broadcast and all-gather of Float32 and Float64 tensors, each compared
/// with its input (the collectives of one rank are copies), and the median time of 5
/// all-reduces of `elements` floats. Throws `GPUError` without a GPU or NCCL
/// (`libnccl.so.2`, or `$KNET_LIBNCCL`), or when an NCCL call fails.
///
///     let r = try checkNCCL(elements: 1 << 26)
///     print(r.transport, r.mismatches.isEmpty, r.bandwidth)
public func checkNCCL(device: Int = 0, elements: Int = 1 << 26) throws -> NCCLCheckReport {
    guard let nccl = NCCLLibrary.shared else {
        throw GPUError.driver(call: "dlopen(libnccl.so.2)", message: "NCCL not found (set KNET_LIBNCCL to its path)")
    }
    return try checkNCCL(nccl, device: device, elements: elements)
}

/// `checkNCCL` with the bindings `nccl` (the tests pass the emulator's).
func checkNCCL(_ nccl: NCCLLibrary, device: Int, elements: Int) throws -> NCCLCheckReport {
    guard let runtime = CUDARuntime.current, device >= 0, device < runtime.backends.count else { throw GPUError.noDevice(device) }
    let backend = runtime.backends[device], gpu = Device.gpu(device)
    let host = SingleProcessTransport(reason: "the NCCL device check")
    let transport = try NCCLTransport(nccl, backend: backend, host: host)
    var mismatches: [String] = []
    func expect(_ what: String, _ t: Tensor, _ values: [Double]) {
        let got = [Double](t)
        if got != values { mismatches.append("\(what): \(got.prefix(4))… instead of \(values.prefix(4))…") }
    }
    for dtype in [DType.float32, .float64] {
        let values = (0..<1000).map { Double($0 % 17) - 8.5 }
        for op in [AllReduceOp.sum, .max, .min] {
            let x = Tensor(values, dtype: dtype, device: gpu)
            transport.allReduce(x, op)
            expect("allReduce \(op) \(dtype)", x, values)
        }
        let b = Tensor(values, dtype: dtype, device: gpu)
        transport.broadcast(b, root: 0)
        expect("broadcast \(dtype)", b, values)
        let g = Tensor.zeros(shape: [values.count], dtype: dtype, device: gpu)
        transport.allGather(Tensor(values, dtype: dtype, device: gpu), into: g)
        expect("allGather \(dtype)", g, values)
        let previous = Distributed.activeWorld            // the same through Distributed's staging and mean
        Distributed.install(World(host: host, deviceTransport: { _ in transport }))
        let m = Tensor(values, shape: [10, 100], dtype: dtype, device: gpu)
        Distributed.allReduce(m[3, .all], .mean)
        Distributed.install(previous)
        expect("Distributed.allReduce mean of a strided row \(dtype)", m, values)
    }
    let x = Tensor.rand(shape: [elements], device: gpu)
    var times: [Double] = []
    for _ in 0..<6 {
        backend.synchronize()
        let start = ContinuousClock.now
        transport.allReduce(x, .sum)
        backend.synchronize()
        let d = ContinuousClock.now - start
        times.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }
    let timed = times.dropFirst().sorted()                 // the first includes NCCL's setup
    return NCCLCheckReport(transport: transport.name, mismatches: mismatches, elements: elements, seconds: timed[timed.count / 2])
}
